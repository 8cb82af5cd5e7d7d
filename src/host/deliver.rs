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
//! `sudo install -m 0600 -o SVC -g GID /dev/stdin TMP`, then `mv` into
//! place (the gateway never reads a half-written file). They are never in
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

/// Vault key -> environment variable. `ANTHROPIC_OAUTH_TOKEN` is the name
/// OpenClaw's Anthropic provider reads a Claude setup-token from (it takes
/// precedence over `ANTHROPIC_API_KEY`); the channel names are OpenClaw's
/// env fallbacks for the default Telegram/Discord account.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("gateway_token", "OPENCLAW_GATEWAY_TOKEN"),
    ("claude_setup_token", "ANTHROPIC_OAUTH_TOKEN"),
    ("anthropic_api_key", "ANTHROPIC_API_KEY"),
    ("telegram_bot_token", "TELEGRAM_BOT_TOKEN"),
    ("discord_bot_token", "DISCORD_BOT_TOKEN"),
];

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

    fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.content[..]))
    }
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

/// The two files for `stack`, filled from `vault`.
pub fn desired_files(
    stack: &Stack,
    vault: &Vault,
    account: &Account,
) -> Result<Vec<DesiredFile>, HostError> {
    if vault.get("gateway_token").is_none() {
        return Err(HostError::MissingSecret {
            key: "gateway_token",
            why: "the gateway's shared token",
        });
    }
    if vault.get("claude_setup_token").is_none() && vault.get("anthropic_api_key").is_none() {
        return Err(HostError::MissingSecret {
            key: "anthropic_api_key",
            why: "the model credential (or claude_setup_token)",
        });
    }
    let mut env = Zeroizing::new(String::from(
        "# Written by clawprov from the vault. Do not edit: `clawprov up` overwrites it.\n",
    ));
    for (key, var) in ENVIRONMENT {
        if let Some(secret) = vault.get(key) {
            env.push_str(var);
            env.push('=');
            env.push_str(&env_value(key, secret)?);
            env.push('\n');
        }
    }
    let home = &account.home;
    let config = openclaw_json(stack, vault, home);
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
            content: Zeroizing::new(config.into_bytes()),
        },
    ])
}

/// A value for a systemd `EnvironmentFile`, single-quoted. Inside single
/// quotes systemd takes everything literally up to the next `'`, so a value
/// is refused (naming only its key) if it holds `'` or any control
/// character; real tokens never do.
fn env_value(key: &'static str, secret: &Secret) -> Result<Zeroizing<String>, HostError> {
    let v = secret.expose();
    let bad = |reason| HostError::BadSecretValue {
        key,
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

/// Where OpenClaw writes its own log, under the service user's 0700 state
/// directory instead of its default, the world-listable `/tmp/openclaw/`.
pub const LOG_FILE: &str = ".openclaw/logs/openclaw.log";

/// The model the gateway's agents use. OpenClaw 2026.9 otherwise defaults
/// to a non-Anthropic model, for which the vault has no credential.
pub const DEFAULT_MODEL: &str = "anthropic/claude-opus-4-6";

/// An OpenClaw SecretRef: the value is read from the gateway's environment
/// (the env file), never stored in openclaw.json. OpenClaw 2026.9 wants
/// these objects for secret fields (`doctor --lint` flags `${VAR}` strings).
fn env_ref(var: &str) -> serde_json::Value {
    serde_json::json!({ "source": "env", "provider": "default", "id": var })
}

/// openclaw.json for the supported OpenClaw line (2026.9): loopback, the
/// stack's port, token auth, and every secret as a SecretRef to the env
/// file. What each key is for:
/// - `trustedProxies`: Tailscale Serve proxies from loopback and always sets
///   X-Forwarded-*; without it 2026.9 answers every proxied request 403
///   `proxy_attribution_required`.
/// - `terminal.enabled: false`: the Control UI's host terminal (on by
///   default) would be a shell on the server for anyone with the token.
/// - `logging.file`: see [`LOG_FILE`].
/// - `env.vars.OPENCLAW_SUPERVISOR_MODE`: the CLI (`doctor`, `gateway
///   install`) reads it from here too, so it leaves the service to
///   clawprov's unit instead of installing a second gateway.
fn openclaw_json(stack: &Stack, vault: &Vault, home: &str) -> String {
    let mut config = serde_json::json!({
        "gateway": {
            "mode": "local",
            "bind": "loopback",
            "port": stack.openclaw.port,
            "auth": { "mode": "token", "token": env_ref("OPENCLAW_GATEWAY_TOKEN") },
            "trustedProxies": ["127.0.0.1", "::1"],
            "terminal": { "enabled": false },
        },
        "logging": { "file": format!("{home}/{LOG_FILE}") },
        "env": { "vars": { "OPENCLAW_SUPERVISOR_MODE": "external" } },
        "agents": { "defaults": { "model": { "primary": DEFAULT_MODEL } } },
    });
    let mut channels = serde_json::Map::new();
    if vault.get("telegram_bot_token").is_some() {
        channels.insert(
            "telegram".into(),
            serde_json::json!({ "enabled": true, "botToken": env_ref("TELEGRAM_BOT_TOKEN") }),
        );
    }
    if vault.get("discord_bot_token").is_some() {
        channels.insert(
            "discord".into(),
            serde_json::json!({ "enabled": true, "token": env_ref("DISCORD_BOT_TOKEN") }),
        );
    }
    if !channels.is_empty() {
        config["channels"] = serde_json::Value::Object(channels);
    }
    let mut text = serde_json::to_string_pretty(&config).unwrap_or_default();
    text.push('\n');
    text
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

/// `None` when the remote file already is what it should be.
async fn why_deliver(
    session: &Session,
    account: &Account,
    file: &DesiredFile,
) -> Result<Option<&'static str>, HostError> {
    let stat = RemoteCommand::root("stat").args(["-c", "%a %u %g", "--", file.path.as_str()]);
    let out = session.run(&stat, None, TIMEOUT).await?;
    if !out.success() {
        return Ok(Some("missing"));
    }
    let expected = format!("600 {} {}", account.uid, account.gid);
    if out.stdout.trim() != expected {
        return Ok(Some("mode or owner"));
    }
    let sum = RemoteCommand::root("sha256sum").args(["--", file.path.as_str()]);
    let out = session.check(&sum, None, TIMEOUT).await?;
    let remote = out.stdout.split_whitespace().next().unwrap_or("");
    Ok((remote != file.sha256_hex()).then_some("changed"))
}

async fn write(session: &Session, account: &Account, file: &DesiredFile) -> Result<(), HostError> {
    let owner = account.name.as_str();
    let group = account.gid.to_string();
    let mkdir = RemoteCommand::root("install")
        .args(["-d", "-m", "0700", "-o", owner, "-g", group.as_str(), "--"])
        .args(file.dirs.iter().map(String::as_str));
    session.check(&mkdir, None, TIMEOUT).await?;
    let staged = format!("{}.clawprov-new", file.path);
    let install = RemoteCommand::root("install")
        .args(["-m", "0600", "-o", owner, "-g", group.as_str(), "-T", "--"])
        .args(["/dev/stdin", staged.as_str()]);
    session
        .check(&install, Some(file.content.clone()), TIMEOUT)
        .await?;
    let rename =
        RemoteCommand::root("mv").args(["-f", "-T", "--", staged.as_str(), file.path.as_str()]);
    session.check(&rename, None, TIMEOUT).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn env_file_holds_the_values_and_the_config_only_references() {
        let v = vault(&[
            ("gateway_token", "CANARY-gw"),
            ("claude_setup_token", "CANARY-claude"),
            ("telegram_bot_token", "CANARY-tg"),
        ]);
        let files = desired_files(&stack(), &v, &account()).unwrap();
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
