//! `rotate gateway-token` on the node: the env file with the new token in
//! place of the old, the gateway restarted, and proof that it took the
//! change: the new token accepted (also through Serve's headers), no token
//! and a wrong one refused, and the replaced token refused. Nothing else
//! on the server is touched (no release, config or Serve change).
//!
//! Safe to repeat: a run that finds the new env file already delivered
//! (an earlier run died before the restart) restarts when the running
//! gateway does not take the new token. If the gateway does not come up
//! with the new file, the old file is put back and the gateway restarted
//! and probed with the old token again.

use serde::Serialize;

use super::account::Account;
use super::deliver::{self, ENV_FILE};
use super::phase::{login, start_service, HostInputs};
use super::probe;
use super::progress::{HostStep, Progress};
use super::service::{self, ServiceAction};
use super::HostError;
use crate::secrets::Secret;

/// What the swap did on the node.
#[derive(Debug, Clone, Serialize)]
pub struct Swapped {
    /// The env file was rewritten by this run (not by an earlier one).
    pub delivered: bool,
    pub service: ServiceAction,
    /// Probes passed, the replaced token's refusal included.
    pub probes: usize,
}

/// `inputs.vault` holds the new `gateway_token`; `old` is the token the
/// gateway runs with now.
pub async fn swap_token(
    inputs: &HostInputs<'_>,
    old: &Secret,
    progress: &dyn Progress,
) -> Result<Swapped, HostError> {
    let stack = inputs.stack;
    let key = inputs
        .vault
        .get("ssh_private_key")
        .ok_or(HostError::MissingSecret {
            key: "ssh_private_key".into(),
            why: "clawprov's login to the server".into(),
        })?;
    let new = inputs
        .vault
        .get("gateway_token")
        .ok_or(HostError::MissingSecret {
            key: "gateway_token".into(),
            why: "the gateway's shared token".into(),
        })?;
    let (_, session, _) = login(inputs, key, progress).await?;
    let account = Account::lookup(&session, &stack.host.service_user).await?;
    let env_path = format!("{}/{ENV_FILE}", account.home);
    let env = deliver::desired_files(stack, inputs.vault, &account)?
        .into_iter()
        .find(|f| f.path == env_path)
        .ok_or_else(|| HostError::Gateway("no env file to deliver".into()))?;

    progress.started(HostStep::Deliver);
    let was_active = service::is_active(&session, &account).await?;
    let kept = deliver::keep_copy(&session, &account, &env_path).await?;
    let outcome = deliver::deliver(&session, &account, vec![env]).await?;
    let delivered = outcome.iter().any(|f| f.delivered);
    crate::kill_point::after("gateway-token:delivered");
    progress.finished(
        HostStep::Deliver,
        if delivered {
            "env file with the new token delivered (0600)"
        } else {
            "env file already holds the new token"
        },
    );

    let fqdn = format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet);
    let proven = async {
        let mut service = start_service(&session, &account, inputs, delivered, progress).await?;
        progress.started(HostStep::Probe);
        let probes =
            match probe::check_rotated(&session, stack.openclaw.port, &fqdn, new, old).await {
                Ok(n) => n,
                // The file was already there, but the gateway that runs did
                // not take it (an earlier run died before restarting it).
                Err(_) if service == ServiceAction::AlreadyRunning => {
                    progress.detail(
                        HostStep::Probe,
                        "the running gateway does not take the new token yet; restarting it",
                    );
                    service = start_service(&session, &account, inputs, true, progress).await?;
                    probe::check_rotated(&session, stack.openclaw.port, &fqdn, new, old).await?
                }
                Err(e) => return Err(e),
            };
        Ok::<_, HostError>((service, probes))
    }
    .await;
    match proven {
        Ok((service, probes)) => {
            if let Some(k) = &kept {
                k.discard(&session, &account).await?;
            }
            progress.finished(
                HostStep::Probe,
                &format!(
                    "{probes} probes: the new token accepted (also through Serve's headers); \
                     none, a wrong one and the replaced one refused"
                ),
            );
            Ok(Swapped {
                delivered,
                service,
                probes,
            })
        }
        Err(cause) => {
            // Back to the old file, when this run replaced it and the
            // gateway ran before; otherwise there is nothing to go back to
            // (and the copy, which holds a token, goes).
            let Some(k) = kept.as_ref().filter(|_| delivered && was_active) else {
                if let Some(k) = &kept {
                    // Best effort: the error that stopped us is the one to report.
                    let _ = k.discard(&session, &account).await;
                }
                return Err(cause);
            };
            progress.detail(
                HostStep::Probe,
                "the gateway did not come up with the new token; putting the old env file back",
            );
            let back = async {
                k.restore(&session, &account).await?;
                start_service(&session, &account, inputs, true, progress).await?;
                probe::check(&session, stack.openclaw.port, &fqdn, old).await
            }
            .await;
            Err(match back {
                Ok(_) => HostError::RolledBack {
                    what: "change",
                    from: "the running env file (the old token)".into(),
                    to: "the env file with the new token".into(),
                    cause: Box::new(cause),
                },
                Err(rollback) => HostError::RollbackFailed {
                    what: "change",
                    from: "the running env file (the old token)".into(),
                    to: "the env file with the new token".into(),
                    cause: Box::new(cause),
                    rollback: Box::new(rollback),
                },
            })
        }
    }
}
