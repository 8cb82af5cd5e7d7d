//! Starting the gateway's user unit and proving it listens on loopback only.
//!
//! The unit belongs to the service user's systemd user manager, so
//! `systemctl --user` runs as that user with `XDG_RUNTIME_DIR=/run/user/<uid>`
//! (how it finds its manager's bus). Linger keeps the manager, and with it
//! the gateway, running without a login session and across reboots.

use std::io::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::account::Account;
use super::command::RemoteCommand;
use super::paths::GATEWAY_UNIT;
use super::progress::{HostStep, Progress};
use super::scrubbed::ScrubbedWriter;
use super::session::Session;
use super::HostError;
use crate::secrets::Vault;

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
/// but loopback. A unit that dies or restarts meanwhile fails the wait at
/// once, with its state and last journal lines (`vault` values scrubbed).
pub async fn ensure_running(
    session: &Session,
    account: &Account,
    port: u16,
    reload: bool,
    deadline: Duration,
    vault: &Vault,
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
            start(session, account, "restart", vault).await?;
        }
        ServiceAction::Started => {
            progress.detail(HostStep::Service, "starting");
            start(session, account, "start", vault).await?;
        }
    }
    let baseline = unit_state(session, account).await?;
    let watch = Watch {
        session,
        account,
        baseline_restarts: baseline.restarts,
        vault,
    };
    wait_listening(&watch, port, deadline, progress).await?;
    Ok(action)
}

/// Whether the gateway's unit is active right now.
pub async fn is_active(session: &Session, account: &Account) -> Result<bool, HostError> {
    Ok(session
        .run(&user_systemctl(account, "is-active"), None, TIMEOUT)
        .await?
        .success())
}

/// `systemctl --user daemon-reload`: after the unit file changed, the user
/// manager must read it again before a restart uses it.
pub async fn daemon_reload(session: &Session, account: &Account) -> Result<(), HostError> {
    let reload = RemoteCommand::as_user(&account.name, "systemctl")
        .env("XDG_RUNTIME_DIR", account.runtime_dir())
        .args(["--user", "daemon-reload"]);
    session.check(&reload, None, TIMEOUT).await?;
    Ok(())
}

/// What systemd says about the gateway's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub active: String,
    pub sub: String,
    pub restarts: u64,
    pub exit_status: String,
    pub result: String,
}

impl UnitState {
    /// Parse `systemctl show -p ActiveState,SubState,NRestarts,ExecMainStatus,Result`.
    pub fn parse(text: &str) -> UnitState {
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        UnitState {
            active: get("ActiveState"),
            sub: get("SubState"),
            restarts: get("NRestarts").parse().unwrap_or(0),
            exit_status: get("ExecMainStatus"),
            result: get("Result"),
        }
    }

    /// Why this state means the gateway will not come up by waiting.
    fn dead(&self, baseline_restarts: u64) -> Option<String> {
        let summary = format!(
            "{} ({}), exit status {}, result {}, {} restart(s)",
            self.active, self.sub, self.exit_status, self.result, self.restarts
        );
        if self.active == "failed" || self.active == "inactive" {
            return Some(format!("the unit is {summary}"));
        }
        if self.sub == "auto-restart" || self.restarts > baseline_restarts {
            return Some(format!(
                "the unit exited and systemd is restarting it: {summary}"
            ));
        }
        None
    }
}

async fn unit_state(session: &Session, account: &Account) -> Result<UnitState, HostError> {
    let show = RemoteCommand::as_user(&account.name, "systemctl")
        .env("XDG_RUNTIME_DIR", account.runtime_dir())
        .args([
            "--user",
            "show",
            GATEWAY_UNIT,
            "--property=ActiveState,SubState,NRestarts,ExecMainStatus,Result",
        ]);
    let out = session.check(&show, None, TIMEOUT).await?;
    Ok(UnitState::parse(&out.stdout))
}

/// The unit's last journal lines, every vault value replaced (the matches
/// are explained in `journal`).
/// `systemctl --user start|restart`; when systemd refuses (a bad unit
/// file, say), the error carries the journal's lines on the unit.
async fn start(
    session: &Session,
    account: &Account,
    verb: &str,
    vault: &Vault,
) -> Result<(), HostError> {
    match session
        .check(&user_systemctl(account, verb), None, TIMEOUT)
        .await
    {
        Err(HostError::Remote {
            command,
            status,
            stderr,
        }) => {
            let journal = journal_tail(session, account, vault).await;
            Err(HostError::Remote {
                command,
                status,
                stderr: format!(
                    "{}\njournal of the unit:\n{}",
                    scrub(&stderr, vault),
                    journal.trim_end()
                ),
            })
        }
        other => other.map(|_| ()),
    }
}

async fn journal_tail(session: &Session, account: &Account, vault: &Vault) -> String {
    let cmd = super::journal::tail(account, 15);
    let text = match session.run(&cmd, None, TIMEOUT).await {
        Ok(out) if out.success() => out.stdout,
        Ok(out) => format!("(journalctl exit {}: {})", out.status, out.stderr.trim()),
        Err(e) => format!("(journalctl: {e})"),
    };
    scrub(&text, vault)
}

/// `text` with every vault value replaced by `[redacted:KEY]`: the same
/// matcher as the relays' ([`ScrubbedWriter`]), so a multi-line secret (the
/// SSH private key) is redacted line by line, not only when it is whole.
pub fn scrub(text: &str, vault: &Vault) -> String {
    let mut out = Vec::with_capacity(text.len());
    {
        let mut writer = ScrubbedWriter::new(&mut out, Some(vault.clone()));
        // Writing to a Vec cannot fail; what is held back goes out on drop.
        let _ = writer.write_all(text.as_bytes());
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Watch<'a> {
    session: &'a Session,
    account: &'a Account,
    baseline_restarts: u64,
    vault: &'a Vault,
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
/// is not loopback is an error at once (invariant 2), and so is a unit that
/// died or restarted while we waited.
async fn wait_listening(
    watch: &Watch<'_>,
    port: u16,
    deadline: Duration,
    progress: &dyn Progress,
) -> Result<(), HostError> {
    let session = watch.session;
    let start = Instant::now();
    loop {
        let listeners = loopback_only(session, watch.account, port).await?;
        if listeners.iter().any(|a| a == &format!("127.0.0.1:{port}")) {
            return Ok(());
        }
        let state = unit_state(session, watch.account).await?;
        if let Some(why) = state.dead(watch.baseline_restarts) {
            let journal = journal_tail(session, watch.account, watch.vault).await;
            return Err(HostError::Gateway(format!(
                "{GATEWAY_UNIT} stopped before it listened on 127.0.0.1:{port}: {why}. \
                 Its last journal lines:\n{}",
                journal.trim_end()
            )));
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

/// Every TCP listener on `port` (whoever owns it) and every one of the
/// service user's (the gateway opens more than its port: 2026.2 also
/// 18791/18792), as `ss -ltnHe` shows them; an error at once if any is not
/// on loopback (invariant 2). Returns the local addresses.
pub async fn loopback_only(
    session: &Session,
    account: &Account,
    port: u16,
) -> Result<Vec<String>, HostError> {
    let ss = RemoteCommand::new("ss").args(["-ltnHe"]);
    let out = session.check(&ss, None, TIMEOUT).await?;
    let suffix = format!(":{port}");
    let mut mine = Vec::new();
    for (local, uid) in listeners(&out.stdout) {
        let on_port = local.ends_with(&suffix);
        let owned = uid == Some(account.uid);
        if !(on_port || owned) {
            continue;
        }
        if !is_loopback(&local) {
            let whose = if owned {
                format!("the service user {}", account.name)
            } else {
                format!("uid {}", uid.map_or("?".into(), |u| u.to_string()))
            };
            return Err(HostError::Gateway(format!(
                "{whose} listens on {local}, not only on loopback: refusing to leave it \
                 exposed (stop it: `systemctl --user stop {GATEWAY_UNIT}` as the service user)"
            )));
        }
        mine.push(local);
    }
    Ok(mine)
}

/// (Local Address:Port, uid) of each line of `ss -ltnHe`.
fn listeners(ss: &str) -> Vec<(String, Option<u32>)> {
    ss.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let local = words.nth(3)?;
            let local = local.split('%').next().unwrap_or(local).to_string();
            Some((local, socket_uid(l)))
        })
        .collect()
}

/// The owner of the socket on a line of `ss -e`, when it is not root (`ss`
/// prints `uid:N` only for a uid other than 0). With `-p` the line also
/// holds process names, which their owners choose: a name can add a
/// `uid:` word (a false alarm at worst) but never remove the real one, so
/// any uid other than 0 on the line counts.
pub fn socket_uid(line: &str) -> Option<u32> {
    line.split_whitespace()
        .filter_map(|w| w.strip_prefix("uid:"))
        .filter_map(|u| u.parse().ok())
        .find(|u| *u != 0)
}

/// The Local Address:Port column of `ss -ltnH`.
#[cfg(test)]
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
    fn a_dead_or_restarting_unit_is_told_apart_from_a_starting_one() {
        let show = |a: &str, s: &str, n: u64| {
            UnitState::parse(&format!(
                "ActiveState={a}\nSubState={s}\nNRestarts={n}\nExecMainStatus=1\nResult=exit-code\n"
            ))
        };
        assert_eq!(show("active", "running", 0).dead(0), None);
        assert_eq!(show("activating", "start", 0).dead(0), None);
        assert!(show("failed", "failed", 0)
            .dead(0)
            .unwrap()
            .contains("failed"));
        assert!(show("inactive", "dead", 0).dead(0).is_some());
        assert!(show("activating", "auto-restart", 1)
            .dead(0)
            .unwrap()
            .contains("restarting"));
        assert!(show("active", "running", 3).dead(2).is_some());
        assert_eq!(show("active", "running", 3).dead(3), None);
    }

    #[test]
    fn scrub_replaces_every_vault_value() {
        let mut v = Vault::new();
        v.set("gateway_token", crate::secrets::Secret::new("CANARY-x"))
            .unwrap();
        assert_eq!(
            scrub("token CANARY-x rejected", &v),
            "token [redacted:gateway_token] rejected"
        );
    }

    #[test]
    fn scrub_redacts_a_multi_line_secret_line_by_line() {
        let mut v = Vault::new();
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nCANARYkeylineone0123456789\nCANARYkeylinetwo0123456789\n-----END OPENSSH PRIVATE KEY-----\n";
        v.set("ssh_private_key", crate::secrets::Secret::new(key))
            .unwrap();
        // One line of it, alone in a log line: not the whole value.
        let out = scrub("leaked: CANARYkeylinetwo0123456789 here", &v);
        assert_eq!(out, "leaked: [redacted:ssh_private_key] here");
    }

    #[test]
    fn a_socket_owner_is_any_uid_but_root_on_the_line() {
        assert_eq!(
            socket_uid("tcp LISTEN 0 5 0.0.0.0:22 0.0.0.0:* users:((\"sshd\",pid=1,fd=3))"),
            None
        );
        assert_eq!(
            socket_uid("LISTEN 0 5 0.0.0.0:80 0.0.0.0:* users:((\"uid:0\",pid=1,fd=3)) uid:1001"),
            Some(1001)
        );
    }

    #[test]
    fn reads_the_owner_of_each_listener() {
        let out = "LISTEN 0 511 127.0.0.1:18789 0.0.0.0:* uid:1001 ino:5 sk:1 cgroup:/user.slice <->\n\
                   LISTEN 0 128 0.0.0.0:22 0.0.0.0:* ino:7 sk:2 cgroup:/system.slice/ssh.service <->\n\
                   LISTEN 0 511 [::1]:18791 [::]:* uid:1001 ino:9 sk:3 v6only:1 <->\n";
        assert_eq!(
            listeners(out),
            [
                ("127.0.0.1:18789".to_string(), Some(1001)),
                ("0.0.0.0:22".to_string(), None),
                ("[::1]:18791".to_string(), Some(1001)),
            ]
        );
    }

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
