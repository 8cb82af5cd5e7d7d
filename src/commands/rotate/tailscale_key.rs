//! `clawprov rotate tailscale-key`: the steps are in
//! [`crate::converge::rotate`]; this finds the stack's server and node,
//! shows the plan (`--plan` stops there) and runs it.

use std::time::Duration;

use serde_json::json;

use crate::cli::{GlobalArgs, RotateKeyArgs};
use crate::commands::host_progress::UiProgress;
use crate::commands::target::{self as target_mod, Endpoint, Loaded};
use crate::converge::rotate::{self, Rotated};
use crate::error::{Error, Result};
use crate::host::{HostInputs, HostPaths, Target};
use crate::plan::{observe, tailnet};
use crate::tailscale::{node, TailscaleError};
use crate::ui::{Report, Ui};

struct Planned {
    stack: String,
    steps: Vec<String>,
}

impl Report for Planned {
    fn human(&self) -> String {
        let mut out = format!("stack {} (rotate tailscale-key):\n", self.stack);
        for (i, s) in self.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {s}\n", i + 1));
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({"stack": self.stack, "plan": self.steps})
    }
}

impl Report for Rotated {
    fn human(&self) -> String {
        let mut out = format!("stack {}: tailnet key rotated\n", self.stack);
        out.push_str(&format!(
            "  new key  {} (spent by the node, then revoked)\n",
            self.new_key.as_deref().unwrap_or("-")
        ));
        out.push_str(&format!(
            "  device   #{}{}; tailscaled {}\n",
            self.device_after.as_deref().unwrap_or("-"),
            if self.device_changed {
                format!(" (was #{})", self.device_before.as_deref().unwrap_or("-"))
            } else {
                " (unchanged)".into()
            },
            self.backend_state
        ));
        if let Some(k) = &self.old_key_revoked {
            out.push_str(&format!("  old key  {k} revoked\n"));
        }
        if let Some(k) = &self.old_key_not_revoked {
            out.push_str(&format!(
                "  old key  {} NOT revoked: {}\n",
                k.id.as_deref().unwrap_or("(no id)"),
                k.sentence()
            ));
        }
        for k in &self.leftover_keys_revoked {
            out.push_str(&format!(
                "  leftover key {k} of an interrupted run revoked\n"
            ));
        }
        if !self.keys_unread.is_empty() {
            out.push_str(&format!(
                "  {} listed keys not read (past the {} read per listing): a leftover key of this stack among them was not revoked\n",
                self.keys_unread.len(),
                crate::tailscale::keys::MAX_KEYS_READ
            ));
        }
        for d in &self.stale_devices_deleted {
            out.push_str(&format!("  stale device #{d} deleted\n"));
        }
        if self.settings_unknown {
            out.push_str(
                "  node settings: could not be read before and after the re-auth, so what \
                 `tailscale up --reset` changed is unknown: check `sudo tailscale get` (or \
                 `debug prefs`) on the node\n",
            );
        }
        if !self.settings_reset.is_empty() {
            out.push_str(
                "  node settings back to clawprov's (the re-auth runs `tailscale up --reset`; \
                 put one back with `sudo tailscale set --NAME=VALUE` if you meant it):\n",
            );
            for s in &self.settings_reset {
                out.push_str(&format!("    {s}\n"));
            }
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({"rotated": self})
    }
}

/// Rotate the node's tailnet key; `loaded` is the stack with its vault
/// (`rotate --due` passes the one earlier rotations changed).
pub async fn run(
    args: &RotateKeyArgs,
    loaded: &mut Loaded,
    endpoint: &Endpoint,
    global: &GlobalArgs,
    ui: &Ui,
) -> Result<Option<Rotated>> {
    let ssh_host = args.ssh_host.as_deref().map(Target::parse).transpose()?;
    let stack = &loaded.stack;
    let hetzner = endpoint.client(Some(&loaded.vault))?;
    let ts = endpoint
        .tailscale(&loaded.vault)?
        .ok_or(TailscaleError::MissingCredentials)?;
    let observed = observe(&hetzner, &stack.name).await?;
    let server = observed.servers.first().ok_or_else(|| {
        Error::bad_input(format!(
            "stack {}: no server carries its labels; nothing to rotate (run `clawprov up`)",
            stack.name
        ))
    })?;
    let seen = tailnet::observe(&ts, stack, None).await?;
    let mine: Vec<_> = seen.devices.iter().collect();
    let since = node::timestamp(&server.created)
        .ok_or_else(|| Error::failed(format!("server #{} has no creation time", server.id)))?;
    let node = node::node_since(&mine, since, tailnet::CLOCK_SKEW).ok_or_else(|| {
        Error::failed(format!(
            "stack {}: server #{} has no device on the tailnet (hostname {}, tags {}), so it cannot be reached to re-authenticate; `clawprov up --replace` deploys a node anew",
            stack.name,
            server.id,
            stack.tailscale.hostname,
            stack.tailscale.tags.join(",")
        ))
    })?;
    let target = match (&ssh_host, node.address()) {
        (Some(t), _) => format!("{}:{}", t.host, t.port),
        (None, Some(a)) => format!("{a}:22"),
        (None, None) => stack.tailscale.hostname.clone(),
    };
    let plan = Planned {
        stack: stack.name.clone(),
        steps: vec![
            format!("revoke any still-valid key named '{}*' (left by an interrupted run)", crate::tailscale::keys::stack_prefix(&stack.name)),
            format!("mint a single-use, pre-authorized key with tags {}", stack.tailscale.tags.join(",")),
            format!("over SSH to {target}: put the key in a root-only file and run `tailscale up --force-reauth --accept-risk=lose-ssh` detached"),
            format!("wait until the API shows the key spent; confirm which device node #{} ({}) is now", node.id, node.name),
            "reconnect and check tailscaled is Running".into(),
            format!(
                "revoke the new key{}, delete every other device of the stack, keep key expiry off",
                if stack.tailscale.auth == crate::stack::TailscaleAuth::AuthKey {
                    " and the vault's old tailscale_auth_key (if this credential can see it: a key a person made is theirs, and you revoke it in the admin console)"
                } else {
                    ""
                }
            ),
        ],
    };
    if args.plan {
        ui.emit(&plan);
        return Ok(None);
    }
    if !ui.json() || ui.verbose() > 0 {
        for line in plan.human().lines() {
            ui.info(line);
        }
    }
    let deadline = Duration::from_secs(args.reach_timeout);
    let inputs = HostInputs {
        stack,
        vault: &loaded.vault,
        ssh_host,
        allow_non_tailnet: args.allow_non_tailnet,
        node_address: node.address(),
        known_hosts: HostInputs::known_hosts_beside(&loaded.path, stack),
        server_id: Some(server.id),
        reach_deadline: deadline,
        step_deadline: deadline,
        paths: args
            .host_root
            .as_deref()
            .map(HostPaths::under)
            .unwrap_or_default(),
        templates: target_mod::templates(global),
    };
    let progress = UiProgress::new(ui, &stack.name);
    let rotated = rotate::rotate(&ts, inputs, node, ui, &progress).await?;
    if let Some(k) = &rotated.old_key_not_revoked {
        ui.warn(&format!(
            "stack {}: old key not revoked: {}",
            stack.name,
            k.sentence()
        ));
    }
    // The node's key is new: its age starts now.
    if let Some(file) = &loaded.vault_file {
        loaded.vault.record_mut().tailscale_node_key = Some(crate::secrets::SetAt::now());
        file.save(&loaded.vault)?;
    }
    Ok(Some(rotated))
}
