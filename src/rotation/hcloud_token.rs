//! `rotate hcloud-token`: the user made a new API token in the Hetzner
//! Console; it replaces the vault's only once it is proven to be for the
//! same project with the right to write:
//!
//! 1. the new token lists the stack's labelled resources (SSH key,
//!    firewall, server);
//! 2. they are the same ids the old token sees (when the old one was
//!    already deleted: the server the known_hosts pin names);
//! 3. it may write: the server's own labels put back unchanged
//!    (`PUT /servers/{id}`, a synchronous no-op; a read-only token gets
//!    403 `token_readonly`);
//! 4. it replaces the old token in the vault (one atomic write).
//!
//! Hetzner has no API to revoke a token: the old one stays valid until the
//! user deletes it in the Console, and the result says where.

use std::collections::BTreeSet;

use serde::Serialize;

use super::{kill_point, RotationError};
use crate::hetzner::Hetzner;
use crate::plan::{observe, Observed};
use crate::secrets::{Secret, Vault, VaultFile};
use crate::stack::Stack;

/// Where the old token is deleted (Hetzner has no API for it).
pub const CONSOLE: &str = "delete the old token yourself: Hetzner Console, the project, \
    Security, API tokens (Hetzner has no API to revoke a token, so it works until you do)";

/// The resources a token sees, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub servers: BTreeSet<i64>,
    pub firewalls: BTreeSet<i64>,
    pub ssh_keys: BTreeSet<i64>,
}

impl From<&Observed> for Seen {
    fn from(o: &Observed) -> Seen {
        Seen {
            servers: o.servers.iter().map(|s| s.id).collect(),
            firewalls: o.firewalls.iter().map(|f| f.id).collect(),
            ssh_keys: o.ssh_keys.iter().map(|k| k.id).collect(),
        }
    }
}

impl Seen {
    fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.firewalls.is_empty() && self.ssh_keys.is_empty()
    }

    fn describe(&self) -> String {
        let ids = |s: &BTreeSet<i64>| {
            s.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        format!(
            "servers [{}], firewalls [{}], SSH keys [{}]",
            ids(&self.servers),
            ids(&self.firewalls),
            ids(&self.ssh_keys)
        )
    }
}

/// What it was compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    /// The old token saw the same resources.
    OldToken,
    /// The old token is refused (already deleted): the server the
    /// known_hosts pin names.
    PinnedServer,
    /// Neither sees anything of the stack (not deployed): the new token
    /// works and may write nothing to prove more with.
    NothingDeployed,
}

/// What a rotation did; holds no secret.
#[derive(Debug, Clone, Serialize)]
pub struct HcloudRotated {
    pub stack: String,
    pub seen: Seen,
    pub compared_with: Compared,
    /// The no-op write went through (false when there is no server).
    pub write_checked: bool,
    pub old_token: &'static str,
}

/// Check `new` and make it the vault's `hcloud_token`. `old` and `fresh`
/// are clients with the old and the new token; `pinned` is the server id
/// the known_hosts pin names.
pub async fn rotate(
    stack: &Stack,
    vault: &mut Vault,
    file: &VaultFile,
    old: &Hetzner,
    fresh: &Hetzner,
    new: Secret,
    pinned: Option<i64>,
) -> Result<HcloudRotated, RotationError> {
    if vault.get("hcloud_token") == Some(&new) {
        return Err(RotationError::Refused(
            "the new token is the one the vault already holds: make a new one in the Hetzner \
             Console (the project, Security, API tokens, Read & Write)"
                .into(),
        ));
    }
    // 1. What the new token sees.
    let observed = observe(fresh, &stack.name).await.map_err(|e| {
        if e.is_bad_token() {
            RotationError::Refused(format!("the new token is refused by the Hetzner API: {e}"))
        } else {
            e.into()
        }
    })?;
    let seen = Seen::from(&observed);
    // 2. Against the old token's view (or the pin).
    let compared_with = match observe(old, &stack.name).await {
        Ok(o) => {
            let had = Seen::from(&o);
            if had != seen {
                return Err(RotationError::Refused(format!(
                    "the new token sees another project: for stack {} it lists {}, the old \
                     token {}; make the token in the project that holds the stack",
                    stack.name,
                    seen.describe(),
                    had.describe()
                )));
            }
            if seen.is_empty() {
                Compared::NothingDeployed
            } else {
                Compared::OldToken
            }
        }
        Err(e) if e.is_bad_token() => match pinned {
            Some(id) if seen.servers.contains(&id) => Compared::PinnedServer,
            Some(id) => {
                return Err(RotationError::Refused(format!(
                    "the old token is refused, and the new one does not see server #{id}, the \
                     one the known_hosts pin names (it sees {}): is it for another project?",
                    seen.describe()
                )))
            }
            None if seen.is_empty() => Compared::NothingDeployed,
            None => {
                return Err(RotationError::Refused(format!(
                    "the old token is refused and there is no known_hosts pin to compare the new \
                     token's view with ({}); run `clawprov secrets set hcloud_token` if you are \
                     sure it is this stack's project",
                    seen.describe()
                )))
            }
        },
        Err(e) => return Err(e.into()),
    };
    // 3. It may write: the server's labels, unchanged.
    let mut write_checked = false;
    if let Some(server) = observed.servers.first() {
        fresh
            .set_server_labels(server.id, &server.labels)
            .await
            .map_err(|e| {
                if e.is_bad_token() {
                    RotationError::Refused(format!(
                        "the new token may not write ({e}): make a Read & Write token"
                    ))
                } else {
                    e.into()
                }
            })?;
        write_checked = true;
    }
    kill_point("hcloud-token:checked");
    // 4. The vault.
    vault.set("hcloud_token", new)?;
    file.save(vault)?;
    kill_point("hcloud-token:saved");
    Ok(HcloudRotated {
        stack: stack.name.clone(),
        seen,
        compared_with,
        write_checked,
        old_token: CONSOLE,
    })
}
