//! Delivering the gateway's secrets and config to the service user.
//!
//! Two files, both 0600 in 0700 directories owned by the service user:
//! - `~/.config/openclaw/gateway.env`: the systemd `EnvironmentFile` of the
//!   gateway unit (templates/clawprov-gateway.service.j2): the gateway
//!   token, the model credential and channel tokens;
//! - `~/.openclaw/openclaw.json`: loopback bind, port, token auth, trusted
//!   loopback proxy (Tailscale Serve). Secrets are only SecretRefs to the
//!   environment; no value is inline.
//!
//! Contents travel on the SSH channel's stdin into
//! `sudo -u SVC dd of=TMP` (TMP created 0600 first), then `mv` into place (the
//! gateway never reads a half-written file). Every step runs as the service
//! user, never as root: the gateway runs third-party code that could plant
//! links in its home, and root following one would hand that code root. They are never in
//! a command line and never pass a shell parser. A file is re-delivered
//! only when the sha256 of the desired content differs from `sha256sum` of
//! the remote file (or its mode/owner is wrong): no secret leaves the
//! server, and an unchanged re-run writes nothing.

use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::account::Account;
use super::command::RemoteCommand;
use super::session::Session;
use super::HostError;
use crate::secrets::{Secret, Vault};
use crate::stack::Stack;

const TIMEOUT: Duration = Duration::from_secs(60);

/// The env file, relative to the service user's home.
pub const ENV_FILE: &str = ".config/openclaw/gateway.env";
/// OpenClaw's config, relative to the service user's home.
pub const CONFIG_FILE: &str = ".openclaw/openclaw.json";

/// A file as it should be on the server.
pub struct DesiredFile {
    /// Absolute path on the server.
    pub path: String,
    /// Directories from the home down to the file's, created 0700.
    pub dirs: Vec<String>,
    content: Zeroizing<Vec<u8>>,
}

impl DesiredFile {
    /// The bytes as they land on the server. The env file's hold secret
    /// values: only for writing to the server or to a 0600 file.
    pub fn expose_content(&self) -> &[u8] {
        &self.content
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.content[..]))
    }
}

impl DesiredFile {
    /// The gateway's unit file with `text` (it holds no secret: the unit
    /// reads them from the env file).
    pub fn unit(account: &Account, text: &str) -> DesiredFile {
        let home = &account.home;
        DesiredFile {
            path: format!("{home}/{}", super::paths::UNIT_FILE),
            dirs: vec![
                format!("{home}/.config"),
                format!("{home}/.config/systemd"),
                format!("{home}/.config/systemd/user"),
            ],
            content: Zeroizing::new(text.as_bytes().to_vec()),
        }
    }

    /// The same path with other content: what stood there before, to put
    /// back when an upgrade rolls back.
    pub fn with_content(&self, content: &[u8]) -> DesiredFile {
        DesiredFile {
            path: self.path.clone(),
            dirs: self.dirs.clone(),
            content: Zeroizing::new(content.to_vec()),
        }
    }
}

/// The content of a regular file of the service user's, read as that user
/// (`None` when there is none). Only for files that hold no secret (the
/// unit, openclaw.json): what is read is kept to be written back.
pub async fn read(
    session: &Session,
    account: &Account,
    path: &str,
) -> Result<Option<String>, HostError> {
    match inspect(session, account, path).await? {
        None => return Ok(None),
        Some(f) if f.kind == "regular file" && f.uid == account.uid => {}
        Some(f) => return Err(unsafe_path(account, path, &f, "regular file")),
    }
    let cat = RemoteCommand::as_user(&account.name, "cat").args(["--", path]);
    Ok(Some(session.check(&cat, None, TIMEOUT).await?.stdout))
}

/// What delivery did to one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileOutcome {
    pub path: String,
    pub delivered: bool,
    /// Why it was (re-)written: "missing", "changed", "mode or owner".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

/// The two files for `stack`, filled from `vault`: the env file holds
/// every vault key the gateway's configuration names
/// ([`crate::gateway::Gateway::env`]); openclaw.json only SecretRefs to them.
pub fn desired_files(
    stack: &Stack,
    vault: &Vault,
    account: &Account,
) -> Result<Vec<DesiredFile>, HostError> {
    let home = &account.home;
    let gateway =
        crate::gateway::build(stack, home).map_err(|e| HostError::Gateway(e.to_string()))?;
    for need in gateway.env.needs() {
        if !need.keys.iter().any(|k| vault.get(k).is_some()) {
            return Err(HostError::MissingSecret {
                key: need.keys.join(" or "),
                why: need.why.clone(),
            });
        }
    }
    let mut env = Zeroizing::new(String::from(
        "# Written by clawprov from the vault. Do not edit: `clawprov up` overwrites it.\n",
    ));
    for key in gateway.env.vault_keys() {
        if let Some(secret) = vault.get(key) {
            env.push_str(&crate::gateway::secrets::variable(key));
            env.push('=');
            env.push_str(&env_value(key, secret)?);
            env.push('\n');
        }
    }
    Ok(vec![
        DesiredFile {
            path: format!("{home}/{ENV_FILE}"),
            dirs: vec![
                format!("{home}/.config"),
                format!("{home}/.config/openclaw"),
            ],
            content: Zeroizing::new(env.as_bytes().to_vec()),
        },
        DesiredFile {
            path: format!("{home}/{CONFIG_FILE}"),
            dirs: vec![format!("{home}/.openclaw")],
            content: Zeroizing::new(gateway.config_text().into_bytes()),
        },
    ])
}

/// A value for a systemd `EnvironmentFile`, single-quoted. Inside single
/// quotes systemd takes everything literally up to the next `'`, so a value
/// is refused (naming only its key) if it holds `'` or any control
/// character; real tokens never do.
fn env_value(key: &str, secret: &Secret) -> Result<Zeroizing<String>, HostError> {
    let v = secret.expose();
    let bad = |reason| HostError::BadSecretValue {
        key: key.to_string(),
        file: "gateway.env",
        reason,
    };
    if v.is_empty() {
        return Err(bad("it is empty"));
    }
    if v.contains('\'') {
        return Err(bad("it contains a single quote"));
    }
    if v.chars().any(char::is_control) {
        return Err(bad("it contains a line break or control character"));
    }
    let mut out = Zeroizing::new(String::with_capacity(v.len() + 2));
    out.push('\'');
    out.push_str(v);
    out.push('\'');
    Ok(out)
}

pub use crate::gateway::LOG_FILE;

/// The vault keys whose values the gateway gets (through the env file):
/// what must never appear anywhere else on the server.
pub fn gateway_secrets(stack: &Stack) -> Vec<String> {
    match crate::gateway::build(stack, &crate::gateway::home_of(stack)) {
        Ok(g) => g.env.vault_keys().into_iter().map(String::from).collect(),
        // A loaded stack always builds; fall back to every key that could be.
        Err(_) => crate::gateway::secrets::KNOWN
            .iter()
            .map(|(k, _)| k.to_string())
            .collect(),
    }
}

/// A file's previous version kept on the server, beside it, for a roll
/// back: the env file holds secrets, so its old content never leaves the
/// server (unlike the unit and openclaw.json, read back by [`read`]).
/// Every step runs as the service user.
pub struct KeptCopy {
    path: String,
    copy: String,
}

fn kept_name(path: &str) -> String {
    format!("{path}.clawprov-prev")
}

/// Copy `path` aside (`None` when there is no regular file of the service
/// user's there to keep).
pub async fn keep_copy(
    session: &Session,
    account: &Account,
    path: &str,
) -> Result<Option<KeptCopy>, HostError> {
    match inspect(session, account, path).await? {
        Some(f) if f.kind == "regular file" && f.uid == account.uid => {}
        _ => return Ok(None),
    }
    let copy = kept_name(path);
    let cp =
        RemoteCommand::as_user(&account.name, "cp").args(["-p", "-T", "--", path, copy.as_str()]);
    session.check(&cp, None, TIMEOUT).await?;
    Ok(Some(KeptCopy {
        path: path.to_string(),
        copy,
    }))
}

impl KeptCopy {
    /// Put the previous version back in place.
    pub async fn restore(&self, session: &Session, account: &Account) -> Result<(), HostError> {
        let mv = RemoteCommand::as_user(&account.name, "mv").args([
            "-f",
            "-T",
            "--",
            self.copy.as_str(),
            self.path.as_str(),
        ]);
        session.check(&mv, None, TIMEOUT).await.map(|_| ())
    }

    /// The new version stays: remove the copy.
    pub async fn discard(&self, session: &Session, account: &Account) -> Result<(), HostError> {
        let rm = RemoteCommand::as_user(&account.name, "rm").args(["-f", "--", self.copy.as_str()]);
        session.check(&rm, None, TIMEOUT).await.map(|_| ())
    }
}

/// Bring each file to its desired content, mode and owner.
pub async fn deliver(
    session: &Session,
    account: &Account,
    files: Vec<DesiredFile>,
) -> Result<Vec<FileOutcome>, HostError> {
    let mut outcomes = Vec::new();
    for file in files {
        let reason = why_deliver(session, account, &file).await?;
        if reason.is_some() {
            write(session, account, &file).await?;
        }
        outcomes.push(FileOutcome {
            path: file.path.clone(),
            delivered: reason.is_some(),
            reason,
        });
    }
    Ok(outcomes)
}

/// What stands at a path, as the service user's `stat` sees it without
/// following a link: `None` when nothing does.
struct Found {
    kind: String,
    uid: u32,
    gid: u32,
    mode: String,
}

async fn inspect(
    session: &Session,
    account: &Account,
    path: &str,
) -> Result<Option<Found>, HostError> {
    let stat = RemoteCommand::as_user(&account.name, "env").args([
        "LC_ALL=C",
        "stat",
        "-c",
        "%F|%u|%g|%a",
        "--",
        path,
    ]);
    let out = session.run(&stat, None, TIMEOUT).await?;
    if !out.success() {
        if out.stderr.contains("No such file or directory") {
            return Ok(None);
        }
        return Err(HostError::Remote {
            command: stat.to_string(),
            status: format!("exit {}", out.status),
            stderr: out.stderr,
        });
    }
    let fields: Vec<&str> = out.stdout.trim().split('|').collect();
    match fields.as_slice() {
        [kind, uid, gid, mode] => Ok(Some(Found {
            kind: kind.to_string(),
            uid: uid.parse().unwrap_or(u32::MAX),
            gid: gid.parse().unwrap_or(u32::MAX),
            mode: mode.to_string(),
        })),
        _ => Err(HostError::Unexpected {
            command: stat.to_string(),
            detail: format!("{:?}", out.stdout.trim()),
        }),
    }
}

fn unsafe_path(account: &Account, path: &str, found: &Found, want: &'static str) -> HostError {
    let owner = if found.uid == account.uid {
        String::new()
    } else {
        format!(" owned by uid {}", found.uid)
    };
    HostError::UnsafePath {
        path: path.to_string(),
        found: format!("a {}{owner}", found.kind),
        want,
        user: account.name.clone(),
    }
}

/// `None` when the remote file already is what it should be. Refuses a
/// path whose directories or file are not the service user's own.
async fn why_deliver(
    session: &Session,
    account: &Account,
    file: &DesiredFile,
) -> Result<Option<&'static str>, HostError> {
    for dir in &file.dirs {
        match inspect(session, account, dir).await? {
            None => return Ok(Some("missing")),
            Some(f) if f.kind == "directory" && f.uid == account.uid => {}
            Some(f) => return Err(unsafe_path(account, dir, &f, "directory")),
        }
    }
    let found = match inspect(session, account, &file.path).await? {
        None => return Ok(Some("missing")),
        Some(f) if f.kind == "regular file" && f.uid == account.uid => f,
        Some(f) => return Err(unsafe_path(account, &file.path, &f, "regular file")),
    };
    if found.mode != "600" || found.gid != account.gid {
        return Ok(Some("mode or owner"));
    }
    let sum = RemoteCommand::as_user(&account.name, "sha256sum").args(["--", file.path.as_str()]);
    let out = session.check(&sum, None, TIMEOUT).await?;
    let remote = out.stdout.split_whitespace().next().unwrap_or("");
    Ok((remote != file.sha256_hex()).then_some("changed"))
}

/// Everything runs as the service user, so no write can reach beyond what
/// that user could write anyway (root following a link the gateway planted
/// would hand it root). Each directory is created if missing and must then
/// be a real directory of the user's; the file is staged and renamed over
/// the old one (a rename replaces a link, never follows it).
async fn write(session: &Session, account: &Account, file: &DesiredFile) -> Result<(), HostError> {
    let user = account.name.as_str();
    for dir in &file.dirs {
        match inspect(session, account, dir).await? {
            None => {
                let mkdir = RemoteCommand::as_user(user, "mkdir").args(["-m", "0700", "--", dir]);
                session.check(&mkdir, None, TIMEOUT).await?;
            }
            Some(f) if f.kind == "directory" && f.uid == account.uid => {
                if f.mode != "700" {
                    let chmod =
                        RemoteCommand::as_user(user, "chmod").args(["0700", "--", dir.as_str()]);
                    session.check(&chmod, None, TIMEOUT).await?;
                }
            }
            Some(f) => return Err(unsafe_path(account, dir, &f, "directory")),
        }
    }
    // Created empty and 0600 first, then filled from stdin by dd, which
    // reads fd 0 as it is: re-opening /dev/stdin as the service user is
    // refused (the pipe belongs to the admin's SSH session).
    let staged = format!("{}.clawprov-new", file.path);
    let create = RemoteCommand::as_user(user, "install")
        .args(["-m", "0600", "-T", "--"])
        .args(["/dev/null", staged.as_str()]);
    session.check(&create, None, TIMEOUT).await?;
    let placed = async {
        let of = format!("of={staged}");
        let fill = RemoteCommand::as_user(user, "dd").args([of.as_str(), "status=none"]);
        session
            .check(&fill, Some(file.content.clone()), TIMEOUT)
            .await?;
        let rename = RemoteCommand::as_user(user, "mv").args([
            "-f",
            "-T",
            "--",
            staged.as_str(),
            file.path.as_str(),
        ]);
        session.check(&rename, None, TIMEOUT).await
    }
    .await;
    if let Err(e) = placed {
        // The staged copy may hold the secrets, whole or in part: it goes
        // too. Best effort: the error that got here is the one to report.
        let remove = RemoteCommand::as_user(user, "rm").args(["-f", "--", staged.as_str()]);
        let _ = session.run(&remove, None, TIMEOUT).await;
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::secrets::env_ref;

    fn vault(pairs: &[(&str, &str)]) -> Vault {
        let mut v = Vault::new();
        for (k, val) in pairs {
            v.set(k, Secret::new(*val)).unwrap();
        }
        v
    }

    fn account() -> Account {
        Account {
            name: "openclaw".into(),
            uid: 1001,
            gid: 1001,
            home: "/home/openclaw".into(),
        }
    }

    fn stack() -> Stack {
        crate::stack::parse(
            b"name: t\ntailscale:\n  tailnet: tail1.ts.net\n  hostname: gw\n",
            std::path::Path::new("t.yaml"),
        )
        .unwrap()
    }

    fn with_telegram() -> Stack {
        crate::stack::parse(
            b"name: t\ntailscale:\n  tailnet: tail1.ts.net\n  hostname: gw\nopenclaw:\n  channels:\n    telegram: {}\n",
            std::path::Path::new("t.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn env_file_holds_the_values_and_the_config_only_references() {
        let v = vault(&[
            ("gateway_token", "CANARY-gw"),
            ("claude_setup_token", "CANARY-claude"),
            ("telegram_bot_token", "CANARY-tg"),
            ("discord_bot_token", "CANARY-dc"),
        ]);
        // A token in the vault switches no channel on: only a declaration.
        let undeclared = desired_files(&stack(), &v, &account()).unwrap();
        let json = String::from_utf8(undeclared[1].content.to_vec()).unwrap();
        assert!(!json.contains("channels"), "{json}");
        let files = desired_files(&with_telegram(), &v, &account()).unwrap();
        let env = String::from_utf8(files[0].content.to_vec()).unwrap();
        assert_eq!(files[0].path, "/home/openclaw/.config/openclaw/gateway.env");
        assert!(
            env.contains("\nOPENCLAW_GATEWAY_TOKEN='CANARY-gw'\n"),
            "{env}"
        );
        assert!(
            env.contains("\nANTHROPIC_OAUTH_TOKEN='CANARY-claude'\n"),
            "{env}"
        );
        assert!(env.contains("\nTELEGRAM_BOT_TOKEN='CANARY-tg'\n"), "{env}");
        assert!(!env.contains("DISCORD"));
        let json = String::from_utf8(files[1].content.to_vec()).unwrap();
        assert_eq!(files[1].path, "/home/openclaw/.openclaw/openclaw.json");
        assert!(!json.contains("CANARY"), "{json}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["gateway"]["bind"], "loopback");
        assert_eq!(v["gateway"]["mode"], "local");
        assert_eq!(v["gateway"]["port"], 18789);
        assert_eq!(v["gateway"]["auth"]["mode"], "token");
        assert_eq!(
            v["gateway"]["auth"]["token"],
            env_ref("OPENCLAW_GATEWAY_TOKEN")
        );
        assert_eq!(
            v["gateway"]["trustedProxies"],
            serde_json::json!(["127.0.0.1", "::1"])
        );
        assert_eq!(v["gateway"]["terminal"]["enabled"], false);
        assert_eq!(
            v["logging"]["file"],
            "/home/openclaw/.openclaw/logs/openclaw.log"
        );
        assert_eq!(
            v["channels"]["telegram"]["botToken"],
            env_ref("TELEGRAM_BOT_TOKEN")
        );
    }

    #[test]
    fn values_systemd_would_misread_are_refused_without_quoting_them() {
        for bad in ["it's", "a\nB=c", "tab\there", ""] {
            let v = vault(&[("gateway_token", "ok"), ("anthropic_api_key", "x")]);
            let mut v = v;
            if bad.is_empty() {
                // The vault refuses empty values itself; check env_value directly.
                assert!(env_value("anthropic_api_key", &Secret::new(bad)).is_err());
                continue;
            }
            if v.set("anthropic_api_key", Secret::new(bad)).is_err() {
                assert!(env_value("anthropic_api_key", &Secret::new(bad)).is_err());
                continue;
            }
            let err = desired_files(&stack(), &v, &account())
                .err()
                .expect("refused");
            assert!(!err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn missing_credentials_are_named() {
        let err = desired_files(&stack(), &vault(&[("gateway_token", "g")]), &account())
            .err()
            .expect("refused");
        assert!(err.to_string().contains("anthropic_api_key"), "{err}");
        let err = desired_files(&stack(), &vault(&[]), &account())
            .err()
            .expect("refused");
        assert!(err.to_string().contains("gateway_token"), "{err}");
    }
}
