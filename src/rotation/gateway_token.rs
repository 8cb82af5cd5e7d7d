//! `rotate gateway-token`: a new shared token for the gateway.
//!
//! 1. make the new token and keep it in the vault as
//!    [`PENDING_GATEWAY_TOKEN`], beside the current one (a re-run after a
//!    failure or a kill takes the pending one up again, never a third);
//! 2. on the node: the env file with the new token, the gateway restarted,
//!    the new token accepted (also through Serve's headers) and the old
//!    one refused ([`crate::host::swap_token`]; the old file is put back if
//!    the gateway does not come up);
//! 3. the new token becomes the vault's `gateway_token`; the old one is
//!    gone from the vault.
//!
//! At every point the vault holds a token the running gateway takes: the
//! old one until step 2 proved the new one, both between 2 and 3.

use serde::Serialize;

use super::kill_point;
use super::RotationError;
use crate::host::{swap_token, HostInputs, Progress, ServiceAction};
use crate::secrets::{generate_gateway_token, Vault, VaultFile, PENDING_GATEWAY_TOKEN};

/// What happens to paired devices and signed-in browsers, as OpenClaw
/// documents it (docs/gateway/configuration/hot-reload.md, "Existing
/// clients using the old shared credential must reconnect with the new
/// credential; independently paired device-token clients remain connected.
/// Browser device tokens derived from the old shared credential are
/// revoked too"), proven by tests/openclaw_token_rotation.rs.
pub const PAIRED_DEVICES: &str = "paired devices (the CLI, nodes, mobile apps) keep their own \
    device tokens and stay paired; browsers (Control UI, webchat) that signed in with the old \
    token are refused and sign in again with the new one";

/// What a rotation did; holds no secret.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayRotated {
    pub stack: String,
    /// A pending token of an interrupted run was taken up (none made).
    pub resumed: bool,
    /// This run rewrote the env file (an earlier one may have).
    pub delivered: bool,
    pub service: ServiceAction,
    pub probes: usize,
    /// `YYYY-MM-DD` the new token was made.
    pub set: String,
    pub paired_devices: &'static str,
}

/// Rotate. `base` reaches the node (its vault is not used); `vault` is the
/// stack's vault, changed and written to `file` along the way.
pub async fn rotate(
    base: &HostInputs<'_>,
    vault: &mut Vault,
    file: &VaultFile,
    progress: &dyn Progress,
) -> Result<GatewayRotated, RotationError> {
    let stack = base.stack;
    let old = vault
        .get("gateway_token")
        .cloned()
        .ok_or(RotationError::Missing("gateway_token"))?;
    // 1. The pending token, kept before anything else happens.
    let resumed = vault.get(PENDING_GATEWAY_TOKEN).is_some();
    if !resumed {
        vault.set_internal(PENDING_GATEWAY_TOKEN, generate_gateway_token())?;
        file.save(vault)?;
    }
    kill_point("gateway-token:pending");
    // 2. On the node, with the vault as it will be.
    let mut next = vault.clone();
    next.promote(PENDING_GATEWAY_TOKEN, "gateway_token");
    let swapped = swap_token(&base.with_vault(&next), &old, progress).await?;
    kill_point("gateway-token:swapped");
    // 3. The new token is the vault's; the old one is gone.
    vault.promote(PENDING_GATEWAY_TOKEN, "gateway_token");
    crate::plan::env::mark(vault, stack);
    file.save(vault)?;
    kill_point("gateway-token:saved");
    Ok(GatewayRotated {
        stack: stack.name.clone(),
        resumed,
        delivered: swapped.delivered,
        service: swapped.service,
        probes: swapped.probes,
        set: vault
            .set_at("gateway_token")
            .map(|s| s.date())
            .unwrap_or_default(),
        paired_devices: PAIRED_DEVICES,
    })
}
