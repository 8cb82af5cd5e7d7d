//! `clawprov rotate`: one credential (`tailscale-key`, `gateway-token`,
//! `ssh-key`, `hcloud-token`), or `--due` for every one past its maximum
//! age. The steps live in [`crate::rotation`] and [`crate::converge::rotate`];
//! these files find the stack's server and node, show the plan (`--plan`
//! stops there), run it and print what it did.

mod due;
mod gateway_token;
mod hcloud_token;
mod ssh_key;
mod tailscale_key;

use std::time::Duration;

use serde_json::json;

use crate::cli::{GlobalArgs, RotateArgs, RotateCommand, RotateKeyArgs};
use crate::commands::target::{self, stack_paths, Endpoint, Loaded};
use crate::error::{Error, Result};
use crate::hetzner::{Hetzner, Server};
use crate::host::{HostInputs, HostPaths, Target};
use crate::plan::observe;
use crate::ui::{Report, Ui};

pub async fn run(args: RotateArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let what =
        match (&args.what, args.due) {
            (Some(RotateCommand::TailscaleKey(_)), _) => "rotate tailscale-key",
            (Some(RotateCommand::GatewayToken(_)), _) => "rotate gateway-token",
            (Some(RotateCommand::SshKey(_)), _) => "rotate ssh-key",
            (Some(RotateCommand::HcloudToken(_)), _) => "rotate hcloud-token",
            (None, true) => "rotate --due",
            (None, false) => return Err(Error::bad_input(
                "name what to rotate (tailscale-key, gateway-token, ssh-key, hcloud-token), or \
                 `rotate --due` for every credential past its maximum age",
            )),
        };
    let mut paths = stack_paths(global)?;
    if paths.len() != 1 {
        return Err(Error::bad_input(format!(
            "{what} works on one stack at a time: name it with -s"
        )));
    }
    let endpoint = Endpoint::resolve(global, false, ui).await?;
    let mut loaded = Loaded::load(paths.remove(0), global, false, ui)?;
    match args.what {
        Some(RotateCommand::TailscaleKey(a)) => {
            if let Some(r) = tailscale_key::run(&a, &mut loaded, &endpoint, global, ui).await? {
                ui.emit(&r);
            }
            Ok(())
        }
        Some(RotateCommand::GatewayToken(a)) => {
            if let Some(r) = gateway_token::run(&a, &mut loaded, &endpoint, global, ui).await? {
                ui.emit(&r);
            }
            Ok(())
        }
        Some(RotateCommand::SshKey(a)) => {
            if let Some(r) = ssh_key::run(&a, &mut loaded, &endpoint, global, ui).await? {
                ui.emit(&r);
            }
            Ok(())
        }
        Some(RotateCommand::HcloudToken(a)) => {
            hcloud_token::run(&a, &mut loaded, &endpoint, global, ui).await
        }
        None => due::run(&args.node, &mut loaded, &endpoint, global, ui).await,
    }
}

/// A rotation's steps, for `--plan` and the head of a run.
struct Planned {
    stack: String,
    what: &'static str,
    steps: Vec<String>,
}

impl Report for Planned {
    fn human(&self) -> String {
        let mut out = format!("stack {} ({}):\n", self.stack, self.what);
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {s}\n", i + 1));
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({"stack": self.stack, "rotate": self.what, "plan": self.steps})
    }
}

impl Planned {
    /// `--plan`: print and stop (true); otherwise show the steps as the
    /// run starts (unless only JSON is wanted).
    fn show(&self, plan: bool, ui: &Ui) -> bool {
        if plan {
            ui.emit(self);
            return true;
        }
        if !ui.json() || ui.verbose() > 0 {
            for line in self.human().lines() {
                ui.info(line);
            }
        }
        false
    }
}

/// The stack's server and how to reach its node, as `up` reaches it.
struct Located {
    hetzner: Hetzner,
    server: Server,
    node_address: Option<std::net::IpAddr>,
    ssh_host: Option<Target>,
}

impl Located {
    async fn find(
        args: &RotateKeyArgs,
        loaded: &Loaded,
        endpoint: &Endpoint,
        what: &str,
    ) -> Result<Located> {
        let stack = &loaded.stack;
        let ssh_host = args.ssh_host.as_deref().map(Target::parse).transpose()?;
        let hetzner = endpoint.client(Some(&loaded.vault))?;
        let observed = observe(&hetzner, &stack.name).await?;
        let server = observed.servers.first().cloned().ok_or_else(|| {
            Error::bad_input(format!(
                "stack {}: no server carries its labels; nothing to {what} on (run `clawprov up`)",
                stack.name
            ))
        })?;
        let node_address = match (endpoint.tailscale(&loaded.vault)?, &ssh_host) {
            (Some(ts), None) => {
                crate::commands::node::tailnet_address(&ts, stack, &server.created).await?
            }
            _ => None,
        };
        Ok(Located {
            hetzner,
            server,
            node_address,
            ssh_host,
        })
    }

    /// Where the run connects, for its plan.
    fn target(&self, loaded: &Loaded) -> String {
        match (&self.ssh_host, self.node_address) {
            (Some(t), _) => format!("{}:{}", t.host, t.port),
            (None, Some(a)) => format!("{a}:22"),
            (None, None) => format!(
                "{}.{}",
                loaded.stack.tailscale.hostname, loaded.stack.tailscale.tailnet
            ),
        }
    }

    fn inputs<'a>(
        &self,
        loaded: &'a Loaded,
        args: &RotateKeyArgs,
        global: &GlobalArgs,
    ) -> HostInputs<'a> {
        let deadline = Duration::from_secs(args.reach_timeout);
        HostInputs {
            stack: &loaded.stack,
            vault: &loaded.vault,
            ssh_host: self.ssh_host.clone(),
            allow_non_tailnet: args.allow_non_tailnet,
            node_address: self.node_address,
            known_hosts: HostInputs::known_hosts_beside(&loaded.path, &loaded.stack),
            server_id: Some(self.server.id),
            reach_deadline: deadline,
            step_deadline: deadline.max(Duration::from_secs(120)),
            paths: args
                .host_root
                .as_deref()
                .map(HostPaths::under)
                .unwrap_or_default(),
            templates: target::templates(global),
        }
    }
}

/// The vault's file, which a rotation writes along the way.
fn vault_file(loaded: &Loaded) -> Result<&crate::secrets::VaultFile> {
    loaded.vault_file.as_ref().ok_or_else(|| {
        Error::bad_input(format!(
            "stack {}: no vault file to rotate in",
            loaded.stack.name
        ))
    })
}
