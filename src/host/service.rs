//! Starting the gateway's user unit and proving it listens on loopback only.
//!
//! The unit belongs to the service user's systemd user manager, so
//! `systemctl --user` runs as that user with `XDG_RUNTIME_DIR=/run/user/<uid>`
//! (how it finds its manager's bus). Linger keeps the manager, and with it
//! the gateway, running without a login session and across reboots.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::account::Account;
use super::command::RemoteCommand;
use super::paths::GATEWAY_UNIT;
use super::progress::{HostStep, Progress};
use super::session::Session;
use super::HostError;

const TIMEOUT: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(500);

/// What the service step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceAction {
    /// It was running and nothing it reads changed.
    AlreadyRunning,
    Started,
    /// Restarted because its env file or config changed.
    Restarted,
}

/// Make sure the gateway runs (restarting it if `reload` — its files
/// changed), then wait until it listens on 127.0.0.1:`port` and on nothing
/// but loopback.
pub async fn ensure_running(
    session: &Session,
    account: &Account,
    port: u16,
    reload: bool,
    deadline: Duration,
    progress: &dyn Progress,
) -> Result<ServiceAction, HostError> {
    ensure_linger(session, account).await?;
    let active = session
        .run(&user_systemctl(account, "is-active"), None, TIMEOUT)
        .await?
        .success();
    let action = match (active, reload) {
        (true, false) => ServiceAction::AlreadyRunning,
        (true, true) => ServiceAction::Restarted,
        (false, _) => ServiceAction::Started,
    };
    match action {
        ServiceAction::AlreadyRunning => {}
        ServiceAction::Restarted => {
            progress.detail(HostStep::Service, "restarting: its files changed");
            session
                .check(&user_systemctl(account, "restart"), None, TIMEOUT)
                .await?;
        }
        ServiceAction::Started => {
            progress.detail(HostStep::Service, "starting");
            session
                .check(&user_systemctl(account, "start"), None, TIMEOUT)
                .await?;
        }
    }
    wait_listening(session, port, deadline, progress).await?;
    Ok(action)
}

fn user_systemctl(account: &Account, verb: &str) -> RemoteCommand {
    RemoteCommand::as_user(&account.name, "systemctl")
        .env("XDG_RUNTIME_DIR", account.runtime_dir())
        .args(["--user", verb, GATEWAY_UNIT])
}

async fn ensure_linger(session: &Session, account: &Account) -> Result<(), HostError> {
    let show = RemoteCommand::new("loginctl").args([
        "show-user",
        account.name.as_str(),
        "--property=Linger",
        "--value",
    ]);
    let out = session.run(&show, None, TIMEOUT).await?;
    if out.success() && out.stdout.trim() == "yes" {
        return Ok(());
    }
    let enable = RemoteCommand::root("loginctl").args(["enable-linger", account.name.as_str()]);
    session.check(&enable, None, TIMEOUT).await?;
    Ok(())
}

/// Poll `ss` until 127.0.0.1:`port` listens. Any listener on the port that
/// is not loopback is an error at once (invariant 2).
async fn wait_listening(
    session: &Session,
    port: u16,
    deadline: Duration,
    progress: &dyn Progress,
) -> Result<(), HostError> {
    let filter = format!("sport = :{port}");
    let ss = RemoteCommand::new("ss").args(["-ltnH", filter.as_str()]);
    let start = Instant::now();
    loop {
        let out = session.check(&ss, None, TIMEOUT).await?;
        let listeners = local_addresses(&out.stdout);
        if let Some(bad) = listeners.iter().find(|a| !is_loopback(a)) {
            return Err(HostError::Gateway(format!(
                "it listens on {bad}, not only on loopback: refusing to leave it exposed \
                 (stop it: `systemctl --user stop {GATEWAY_UNIT}` as the service user)"
            )));
        }
        if listeners.iter().any(|a| a == &format!("127.0.0.1:{port}")) {
            return Ok(());
        }
        if start.elapsed() >= deadline {
            return Err(HostError::Gateway(format!(
                "nothing listens on 127.0.0.1:{port} {} s after the start; see \
                 `journalctl --user -u {GATEWAY_UNIT}` as the service user",
                deadline.as_secs()
            )));
        }
        progress.detail(HostStep::Service, &format!("waiting for 127.0.0.1:{port}"));
        tokio::time::sleep(POLL).await;
    }
}

/// The Local Address:Port column of `ss -ltnH`.
fn local_addresses(ss: &str) -> Vec<String> {
    ss.lines()
        .filter_map(|l| l.split_whitespace().nth(3))
        .map(|a| a.split('%').next().unwrap_or(a).to_string())
        .collect()
}

fn is_loopback(local: &str) -> bool {
    local.starts_with("127.") || local.starts_with("[::1]:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ss_output() {
        let out = "LISTEN 0      5          127.0.0.1:18789      0.0.0.0:*\n\
                   LISTEN 0      511            [::1]:18789         [::]:*\n";
        let a = local_addresses(out);
        assert_eq!(a, ["127.0.0.1:18789", "[::1]:18789"]);
        assert!(a.iter().all(|x| is_loopback(x)));
        for exposed in ["0.0.0.0:18789", "*:18789", "[::]:18789", "100.64.1.2:18789"] {
            assert!(!is_loopback(exposed), "{exposed}");
        }
    }
}
