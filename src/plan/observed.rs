//! What exists on Hetzner for a stack, found by its labels only (invariant 7).

use crate::hetzner::{Firewall, Hetzner, HetznerError, Server, SshKey};

use super::desired::selector;

/// The stack's resources as the API reports them right now.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub ssh_keys: Vec<SshKey>,
    pub firewalls: Vec<Firewall>,
    pub servers: Vec<Server>,
}

impl Observed {
    pub fn is_empty(&self) -> bool {
        self.ssh_keys.is_empty() && self.firewalls.is_empty() && self.servers.is_empty()
    }
}

/// Three list requests (one per resource kind, sent concurrently), each
/// filtered by the stack's label selector and followed to the last page.
pub async fn observe(h: &Hetzner, stack: &str) -> Result<Observed, HetznerError> {
    let sel = selector(stack);
    let (ssh_keys, firewalls, servers) = tokio::try_join!(
        h.list_ssh_keys(&sel),
        h.list_firewalls(&sel),
        h.list_servers(&sel)
    )?;
    Ok(Observed {
        ssh_keys,
        firewalls,
        servers,
    })
}
