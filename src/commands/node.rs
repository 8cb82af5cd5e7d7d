//! The stack's node, reached the way `up` reaches it, for the day-two
//! commands (`ssh`, `logs`, `openclaw`, `backup`, `restore`): one stack,
//! its server found by its labels, its tailnet address from the Tailscale
//! API when there are credentials (else the MagicDNS name), and an SSH
//! session as the admin user with the host key checked against the pin
//! `up` recorded for that server.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::target::{stack_paths, Endpoint, Loaded};
use crate::cli::{GlobalArgs, NodeArgs};
use crate::error::{Error, Result};
use crate::hetzner::Hetzner;
use crate::host::{self, Account, HostInputs, HostPaths, Session, Silent, Target};
use crate::plan::{observe, tailnet};
use crate::tailscale::{node, Tailscale};
use crate::ui::Ui;

/// A logged-in session on the stack's node.
#[allow(dead_code)] // the day-two commands land next on their branches
pub struct Node {
    pub loaded: Loaded,
    pub hetzner: Hetzner,
    pub tailscale: Option<Tailscale>,
    /// The stack's server (the one carrying its labels).
    pub server_id: i64,
    /// The node's tailnet address, when the API gave one.
    pub address: Option<IpAddr>,
    /// Where the session went (`host:port`).
    pub target: String,
    pub session: Session,
    /// The service user, as the server knows it.
    pub account: Account,
    pub paths: HostPaths,
    pub known_hosts: PathBuf,
    pub ssh_host: Option<Target>,
    pub allow_non_tailnet: bool,
    pub reach_deadline: Duration,
    pub templates: crate::render::Templates,
}

/// The tailnet address of the node of the server created at `created`
/// (its device joined after that), from the Tailscale API.
pub async fn tailnet_address(
    ts: &Tailscale,
    stack: &crate::stack::Stack,
    created: &str,
) -> Result<Option<IpAddr>> {
    let seen = tailnet::observe(ts, stack, None).await?;
    let mine: Vec<_> = seen.devices.iter().collect();
    Ok(node::timestamp(created).and_then(|since| {
        node::node_since(&mine, since, tailnet::CLOCK_SKEW).and_then(|d| d.address())
    }))
}

#[allow(dead_code)]
impl Node {
    /// Find the stack's server and node and log in.
    pub async fn connect(
        args: &NodeArgs,
        global: &GlobalArgs,
        ui: &Ui,
        what: &str,
    ) -> Result<Node> {
        let mut paths = stack_paths(global)?;
        if paths.len() != 1 {
            return Err(Error::bad_input(format!(
                "{what} works on one stack at a time: name it with -s"
            )));
        }
        let ssh_host = args.ssh_host.as_deref().map(Target::parse).transpose()?;
        let endpoint = Endpoint::resolve(global, false, ui).await?;
        let loaded = Loaded::load(paths.remove(0), global, false, ui)?;
        let hetzner = endpoint.client(Some(&loaded.vault))?;
        let tailscale = endpoint.tailscale(&loaded.vault)?;
        let stack = &loaded.stack;
        let observed = observe(&hetzner, &stack.name).await?;
        let server = observed.servers.first().ok_or_else(|| {
            Error::bad_input(format!(
                "stack {}: no server carries its labels; deploy it with `clawprov up`",
                stack.name
            ))
        })?;
        let server_id = server.id;
        let address = match (&tailscale, &ssh_host) {
            (Some(ts), None) => tailnet_address(ts, stack, &server.created).await?,
            _ => None,
        };
        let key = loaded
            .vault
            .get("ssh_private_key")
            .ok_or_else(|| {
                Error::bad_input(format!(
                    "stack {}: the vault has no ssh_private_key (clawprov's login to the server)",
                    stack.name
                ))
            })?
            .clone();
        let paths = args
            .host_root
            .as_deref()
            .map(HostPaths::under)
            .unwrap_or_default();
        let known_hosts = HostInputs::known_hosts_beside(&loaded.path, stack);
        let reach_deadline = Duration::from_secs(args.reach_timeout);
        let (session, target) = {
            let inputs = HostInputs {
                stack,
                vault: &loaded.vault,
                ssh_host: ssh_host.clone(),
                allow_non_tailnet: args.allow_non_tailnet,
                node_address: address,
                known_hosts: known_hosts.clone(),
                server_id: Some(server_id),
                reach_deadline,
                step_deadline: reach_deadline,
                paths: paths.clone(),
                templates: super::target::templates(global),
            };
            let target = host::route(&inputs).0.to_string();
            let (_addr, session, _opened) = host::login(&inputs, &key, &Silent).await?;
            (session, target)
        };
        let account = Account::lookup(&session, &stack.host.service_user).await?;
        Ok(Node {
            loaded,
            hetzner,
            tailscale,
            server_id,
            address,
            target,
            session,
            account,
            paths,
            known_hosts,
            ssh_host,
            allow_non_tailnet: args.allow_non_tailnet,
            reach_deadline,
            templates: super::target::templates(global),
        })
    }

    /// The host phase's inputs for this node (a day-two command that
    /// re-runs part of `up`, such as `restore`).
    pub fn host_inputs(&self) -> HostInputs<'_> {
        HostInputs {
            stack: &self.loaded.stack,
            vault: &self.loaded.vault,
            ssh_host: self.ssh_host.clone(),
            allow_non_tailnet: self.allow_non_tailnet,
            node_address: self.address,
            known_hosts: self.known_hosts.clone(),
            server_id: Some(self.server_id),
            reach_deadline: self.reach_deadline,
            step_deadline: self.reach_deadline,
            paths: self.paths.clone(),
            templates: self.templates.clone(),
        }
    }
}
