//! Credential rotation: how old each credential is ([`ages`]), and the
//! rotations clawprov runs by itself, each a sequence of steps safe to
//! repeat, whose state between steps lives in the vault (a pending value
//! is kept beside the current one until the server has taken it):
//! - [`gateway_token`]: the gateway's shared token;
//! - [`ssh_key`]: the admin's SSH key, on the node and on Hetzner;
//! - [`hcloud_token`]: the Hetzner API token the user made, checked first.
//!
//! `rotate tailscale-key` is [`crate::converge::rotate`].

pub mod ages;
pub mod gateway_token;
pub mod hcloud_token;
pub mod ssh_key;

pub use crate::kill_point::after as kill_point;

use crate::hetzner::HetznerError;
use crate::host::HostError;
use crate::secrets::VaultError;
use crate::tailscale::TailscaleError;

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error("the vault has no {0} to rotate (`clawprov init` makes one)")]
    Missing(&'static str),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(transparent)]
    Hetzner(#[from] HetznerError),
    #[error(transparent)]
    Tailscale(#[from] TailscaleError),
    /// The input does not fit (a token for another project): exit 2.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Failed(String),
}

impl From<RotationError> for crate::error::Error {
    fn from(e: RotationError) -> Self {
        match e {
            RotationError::Missing(_) | RotationError::Refused(_) => {
                crate::error::Error::bad_input(e.to_string())
            }
            RotationError::Vault(e) => e.into(),
            RotationError::Host(e) => e.into(),
            RotationError::Hetzner(e) => e.into(),
            RotationError::Tailscale(e) => e.into(),
            RotationError::Failed(m) => crate::error::Error::failed(m),
        }
    }
}
