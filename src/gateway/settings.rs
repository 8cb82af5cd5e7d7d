//! `openclaw.settings`: any other `openclaw.json` keys, merged last over
//! what the typed fields built.
//!
//! Three things are refused, each at the settings key that holds them:
//! a key clawprov owns (the loopback bind, auth, the supervisor mode, and
//! whatever a typed field sets: those have a field to use instead), a
//! literal that looks like a credential (a secret is only ever named, as
//! `{secret: VAULT_KEY}`), and a `{secret: ...}` naming something that is
//! not a vault key. `{secret: KEY}` becomes an OpenClaw SecretRef to an
//! environment variable the env file sets from the vault.

use serde_json::{Map, Value};

use super::secrets::EnvRefs;
use super::ConfigError;

/// A key clawprov sets and the stack field (or reason) that governs it.
pub struct Owned {
    /// Dotted `openclaw.json` path.
    pub path: &'static str,
    pub instead: &'static str,
}

/// Keys clawprov always sets, whatever the stack says.
pub const ALWAYS_OWNED: &[Owned] = &[
    Owned { path: "gateway.mode", instead: "clawprov runs a local gateway; nothing to set" },
    Owned { path: "gateway.bind", instead: "the gateway listens on loopback only; Tailscale Serve fronts it" },
    Owned { path: "gateway.port", instead: "use `openclaw.port`" },
    Owned { path: "gateway.auth", instead: "the gateway's token is the vault's `gateway_token` (`clawprov rotate`)" },
    Owned { path: "gateway.trustedProxies", instead: "Tailscale Serve on loopback is the only proxy" },
    Owned { path: "gateway.terminal", instead: "the Control UI's host terminal stays off (a shell for anyone with the token); use `clawprov ssh`" },
    Owned { path: "logging.file", instead: "the log stays in the service user's 0700 state directory" },
    Owned { path: "env.vars.OPENCLAW_SUPERVISOR_MODE", instead: "clawprov's systemd unit supervises the gateway" },
    Owned { path: "agents.defaults.model", instead: "use `openclaw.model` (primary, fallbacks)" },
    Owned { path: "tools.alsoAllow", instead: "use `openclaw.tools.allow`" },
    Owned { path: "tools.deny", instead: "use `openclaw.tools.deny`" },
    Owned { path: "tools.allow", instead: "use `openclaw.tools.allow` (added to the baseline's profile)" },
    Owned { path: "plugins.allow", instead: "the plugins follow the declared channels" },
    Owned { path: "plugins.entries", instead: "the plugins follow the declared channels" },
    Owned { path: "models.providers", instead: "use `openclaw.providers.<id>` for a custom endpoint; a built-in provider's key comes from its vault key" },
    Owned { path: "gateway.http.endpoints.responses.files", instead: "use `openclaw.tools.http.files.url_allowlist`" },
    Owned { path: "gateway.http.endpoints.responses.images", instead: "use `openclaw.tools.http.images.url_allowlist`" },
];

/// The channels clawprov types. Any other channel is refused in settings:
/// only the declared channels' plugins load.
pub const TYPED_CHANNELS: [&str; 3] = ["telegram", "discord", "slack"];

/// Key names whose string value is a credential, compared case- and
/// separator-insensitively.
const SECRET_KEYS: &[&str] = &[
    "token",
    "bottoken",
    "apptoken",
    "apikey",
    "secret",
    "password",
    "clientsecret",
    "signingsecret",
    "privatekey",
    "accesstoken",
    "refreshtoken",
    "webhooksecret",
];

/// Prefixes of real credentials (Anthropic, OpenAI, Slack, GitHub, Google,
/// Tailscale, Hetzner-style opaque tokens are caught by the key names).
const SECRET_PREFIXES: &[&str] = &[
    "sk-",
    "xoxb-",
    "xoxp-",
    "xapp-",
    "ghp_",
    "github_pat_",
    "AIza",
    "tskey-",
    "glpat-",
];

/// Merge `settings` (the stack's, under `openclaw.settings`) over `config`.
/// `owned` are the paths the typed fields set on top of [`ALWAYS_OWNED`].
/// Returns the settings' own leaf paths (for locating schema errors).
pub fn merge(
    config: &mut Value,
    settings: &serde_yaml::Mapping,
    owned: &[(String, &'static str)],
    env: &mut EnvRefs,
) -> Result<(), ConfigError> {
    let value = to_json(
        &serde_yaml::Value::Mapping(settings.clone()),
        "",
        owned,
        env,
    )?;
    deep_merge(config, value);
    Ok(())
}

fn field(path: &str) -> String {
    if path.is_empty() {
        "openclaw.settings".into()
    } else {
        format!("openclaw.settings.{path}")
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Whether `path` is `owned` or lies under it.
fn under(path: &str, owned: &str) -> bool {
    path == owned || path.strip_prefix(owned).is_some_and(|r| r.starts_with('.'))
}

fn check_owned(
    path: &str,
    is_map: bool,
    owned: &[(String, &'static str)],
) -> Result<(), ConfigError> {
    let all = ALWAYS_OWNED
        .iter()
        .map(|o| (o.path, o.instead))
        .chain(owned.iter().map(|(p, i)| (p.as_str(), *i)));
    for (o, instead) in all {
        // The key itself, or a value replacing a whole subtree that holds it.
        if under(path, o) || (!is_map && under(o, path)) {
            return Err(ConfigError::new(
                field(path),
                format!("`{path}` is set by clawprov (`{o}`)"),
                instead,
            ));
        }
    }
    if let Some(rest) = path.strip_prefix("channels.") {
        let name = rest.split('.').next().unwrap_or(rest);
        if !TYPED_CHANNELS.contains(&name) && name != "defaults" && name != "modelByChannel" {
            return Err(ConfigError::new(
                field(path),
                format!("channel `{name}` is not one clawprov sets up"),
                "declare telegram, discord or slack under `openclaw.channels`; only the declared channels' plugins load",
            ));
        }
    }
    Ok(())
}

fn normalized(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Whether a string looks like a credential by its shape alone.
pub fn looks_like_secret(s: &str) -> bool {
    let t = s.trim();
    if SECRET_PREFIXES
        .iter()
        .any(|p| t.starts_with(p) && t.len() >= p.len() + 16)
    {
        return true;
    }
    // A Telegram bot token: digits, a colon, 35 URL-safe characters.
    if let Some((id, rest)) = t.split_once(':') {
        if (6..=12).contains(&id.len())
            && id.chars().all(|c| c.is_ascii_digit())
            && rest.len() >= 30
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return true;
        }
    }
    false
}

fn to_json(
    v: &serde_yaml::Value,
    path: &str,
    owned: &[(String, &'static str)],
    env: &mut EnvRefs,
) -> Result<Value, ConfigError> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => serde_json::to_value(n).unwrap_or(Value::Null),
        Y::String(s) => {
            let last = path.rsplit('.').next().unwrap_or(path);
            let last = last.split('[').next().unwrap_or(last);
            if looks_like_secret(s)
                || (SECRET_KEYS.contains(&normalized(last).as_str()) && !s.is_empty())
            {
                return Err(ConfigError::new(
                    field(path),
                    "a literal credential in the stack file",
                    "put it in the vault (`clawprov secrets set KEY`) and write `{secret: KEY}` here",
                ));
            }
            Value::String(s.clone())
        }
        Y::Sequence(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{path}[{i}]"), owned, env))
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            if let Some(key) = secret_ref(m) {
                return env.reference(key, &field(path));
            }
            let mut out = Map::new();
            for (k, item) in m {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => {
                        return Err(ConfigError::new(
                            field(path),
                            "a key is not a plain name",
                            "write `key: value`",
                        ))
                    }
                };
                let p = child(path, &key);
                check_owned(
                    &p,
                    matches!(item, Y::Mapping(_)) && secret_ref_of(item).is_none(),
                    owned,
                )?;
                out.insert(key, to_json(item, &p, owned, env)?);
            }
            Value::Object(out)
        }
        Y::Tagged(_) => {
            return Err(ConfigError::new(
                field(path),
                "YAML tags are not allowed",
                "remove the tag",
            ))
        }
    })
}

fn secret_ref_of(v: &serde_yaml::Value) -> Option<&str> {
    match v {
        serde_yaml::Value::Mapping(m) => secret_ref(m),
        _ => None,
    }
}

/// `{secret: KEY}`: a mapping of exactly that one key.
fn secret_ref(m: &serde_yaml::Mapping) -> Option<&str> {
    if m.len() != 1 {
        return None;
    }
    match m.get("secret") {
        Some(serde_yaml::Value::String(k)) => Some(k),
        _ => None,
    }
}

/// Objects merge key by key; anything else replaces.
pub fn deep_merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => deep_merge(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(yaml: &str) -> Result<(Value, EnvRefs), ConfigError> {
        let settings: serde_yaml::Mapping = serde_yaml::from_str(yaml).unwrap();
        let mut config =
            serde_json::json!({"gateway": {"bind": "loopback"}, "tools": {"profile": "messaging"}});
        let mut env = EnvRefs::default();
        merge(
            &mut config,
            &settings,
            &[("channels.telegram.dmPolicy".into(), "use dm")],
            &mut env,
        )?;
        Ok((config, env))
    }

    #[test]
    fn merges_deeply_and_turns_secret_refs_into_env_refs() {
        let (c, env) = run(
            "tools: {exec: {security: allowlist}}\ntalk: {apiKey: {secret: elevenlabs_api_key}}\n",
        )
        .unwrap();
        assert_eq!(c["tools"]["profile"], "messaging");
        assert_eq!(c["tools"]["exec"]["security"], "allowlist");
        assert_eq!(c["gateway"]["bind"], "loopback");
        assert_eq!(c["talk"]["apiKey"]["source"], "env");
        assert_eq!(
            c["talk"]["apiKey"]["id"],
            "CLAWPROV_SECRET_ELEVENLABS_API_KEY"
        );
        assert_eq!(env.vault_keys(), ["elevenlabs_api_key"]);
    }

    #[test]
    fn refuses_owned_keys_with_the_field_to_use() {
        for (yaml, field, hint) in [
            (
                "gateway: {port: 1}",
                "openclaw.settings.gateway.port",
                "openclaw.port",
            ),
            (
                "gateway: {auth: {mode: none}}",
                "openclaw.settings.gateway.auth",
                "gateway_token",
            ),
            (
                "gateway: null",
                "openclaw.settings.gateway",
                "local gateway",
            ),
            (
                "agents: {defaults: {model: {primary: x/y}}}",
                "openclaw.settings.agents.defaults.model",
                "openclaw.model",
            ),
            (
                "channels: {telegram: {dmPolicy: open}}",
                "openclaw.settings.channels.telegram.dmPolicy",
                "use dm",
            ),
            (
                "channels: {whatsapp: {dmPolicy: open}}",
                "openclaw.settings.channels.whatsapp",
                "declare",
            ),
            (
                "logging: {file: /tmp/x}",
                "openclaw.settings.logging.file",
                "0700",
            ),
        ] {
            let e = run(yaml).unwrap_err();
            assert_eq!(e.field, field, "{yaml}");
            assert!(e.hint.contains(hint), "{yaml}: {}", e.hint);
        }
        // Beside an owned key is fine.
        assert!(run("gateway: {http: {endpoints: {chatCompletions: {enabled: false}}}}").is_ok());
        assert!(run("channels: {telegram: {streaming: partial}}").is_ok());
    }

    #[test]
    fn refuses_literal_credentials() {
        for yaml in [
            "talk: {apiKey: abcdef}",
            "x: {y: sk-ant-api03-aaaaaaaaaaaaaaaaaaaaaaaa}",
            "x: [\"123456789:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0\"]",
            "hooks: {token: hunter2}",
        ] {
            let e = run(yaml).unwrap_err();
            assert!(
                e.message.contains("literal credential"),
                "{yaml}: {}",
                e.message
            );
            assert!(!e.to_string().contains("hunter2"));
        }
        assert!(run("x: {name: sk}").is_ok());
    }
}
