//! OpenClaw writing its config back.
//!
//! OpenClaw may rewrite `openclaw.json` (resolving values, migrating the
//! schema on an upgrade). Then every `up` would see a difference, deliver
//! the file again and restart the gateway; worse, a rewrite could inline a
//! secret that clawprov keeps in the env file. After the gateway is up, the
//! host phase compares the file with what it delivered (reported, not an
//! error) and searches it for the gateway's secret values (an error). The
//! values go to `grep -F -f -` on stdin, never on a command line.

use std::time::Duration;

use zeroize::Zeroizing;

use super::account::Account;
use super::command::RemoteCommand;
use super::session::Session;
use super::HostError;
use crate::secrets::Vault;

const TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `path` still has the sha256 clawprov delivered; fails if it holds
/// any of the gateway's secret values.
pub async fn check(
    session: &Session,
    account: &Account,
    path: &str,
    delivered_sha256: &str,
    vault: &Vault,
    keys: &[String],
) -> Result<bool, HostError> {
    let mut patterns = Zeroizing::new(Vec::new());
    for key in keys {
        if let Some(secret) = vault.get(key) {
            patterns.extend_from_slice(secret.expose().as_bytes());
            patterns.push(b'\n');
        }
    }
    if !patterns.is_empty() {
        let grep =
            RemoteCommand::as_user(&account.name, "grep").args(["-q", "-F", "-f", "-", "--", path]);
        let out = session.run(&grep, Some(patterns), TIMEOUT).await?;
        match out.status {
            0 => {
                return Err(HostError::Gateway(format!(
                    "{path} now holds one of the gateway's secret values (OpenClaw wrote it back \
                     with a value resolved): it must stay in the 0600 env file only. Check what \
                     changed it; the next `clawprov up` delivers clawprov's version again"
                )))
            }
            1 => {}
            _ => {
                return Err(HostError::Remote {
                    command: format!("{grep} (searching the config for secrets)"),
                    status: format!("exit {}", out.status),
                    stderr: out.stderr,
                })
            }
        }
    }
    let sum = RemoteCommand::as_user(&account.name, "sha256sum").args(["--", path]);
    let out = session.check(&sum, None, TIMEOUT).await?;
    let now = out.stdout.split_whitespace().next().unwrap_or("");
    Ok(now != delivered_sha256)
}
