//! The gateway's own configuration: what `openclaw.json` and the env file
//! are made of.
//!
//! Built from the stack's `openclaw` section in layers, each over the last:
//! clawprov's fixed keys (loopback bind, port, token auth, trusted loopback
//! proxy, log file, supervisor mode), the model and its credentials
//! (`providers`), the channels and their access policies (`channels`), the
//! tool baseline (`tools`), then the free-form `settings`. The result is
//! checked offline against the pinned release's own JSON schema (`schema`)
//! and model catalog (`catalog`); `findings` names what is weaker than
//! OpenClaw's hardened baseline, `diff` what differs from another copy.
//!
//! `stack` checks a stack through [`build`] when it loads it, `render` and
//! `plan` show the result, `host` delivers its bytes, `verify` judges the
//! server against it.

pub mod catalog;
pub mod channels;
pub mod diff;
pub mod findings;
pub mod providers;
pub mod record;
pub mod schema;
pub mod secrets;
pub mod settings;
pub mod tools;

use serde_json::{json, Value};

pub use secrets::{EnvRefs, Need};

use crate::stack::Stack;

/// A stack field the configuration cannot be built from, and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The stack field (`openclaw.settings.gateway.port`).
    pub field: String,
    pub message: String,
    pub hint: String,
}

impl ConfigError {
    pub fn new(
        field: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        ConfigError {
            field: field.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.field, self.message, self.hint)
    }
}

/// A value from the stack, quoted and cut for a message.
pub(crate) fn shown(s: &str) -> String {
    let cut: String = s.chars().take(64).collect();
    format!("{:?}{}", cut, if cut.len() < s.len() { "..." } else { "" })
}

/// A channel plugin the host phase installs at the pinned release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    pub id: String,
    pub package: String,
}

/// The gateway's configuration for one stack.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// The whole `openclaw.json`.
    pub config: Value,
    /// The vault keys the env file carries.
    pub env: EnvRefs,
    /// Channel plugins to install.
    pub plugins: Vec<Plugin>,
    /// What the stack asks for that is weaker than the hardened baseline,
    /// or worth a second look (plan warnings).
    pub warnings: Vec<String>,
}

/// Where OpenClaw writes its own log, under the service user's 0700 state
/// directory instead of its default, the world-listable `/tmp/openclaw/`.
pub const LOG_FILE: &str = ".openclaw/logs/openclaw.log";

/// The service user's home as the bootstrap creates it (`useradd -m`).
pub fn home_of(stack: &Stack) -> String {
    format!("/home/{}", stack.host.service_user)
}

/// clawprov's fixed keys. What each is for:
/// - `trustedProxies`: Tailscale Serve proxies from loopback and always sets
///   X-Forwarded-*; without it 2026.9 answers every proxied request 403
///   `proxy_attribution_required`.
/// - `terminal.enabled: false`: the Control UI's host terminal (on by
///   default) would be a shell on the server for anyone with the token.
/// - `logging.file`: see [`LOG_FILE`].
/// - `env.vars.OPENCLAW_SUPERVISOR_MODE`: the CLI (`doctor`, `gateway
///   install`) reads it from here too, so it leaves the service to
///   clawprov's unit instead of installing a second gateway.
fn fixed(stack: &Stack, home: &str) -> Value {
    json!({
        "gateway": {
            "mode": "local",
            "bind": "loopback",
            "port": stack.openclaw.port,
            "auth": { "mode": "token", "token": secrets::env_ref("OPENCLAW_GATEWAY_TOKEN") },
            "trustedProxies": ["127.0.0.1", "::1"],
            "terminal": { "enabled": false },
        },
        "logging": { "file": format!("{home}/{LOG_FILE}") },
        "env": { "vars": { "OPENCLAW_SUPERVISOR_MODE": "external" } },
    })
}

/// Build the configuration for `stack`, for a service user whose home is
/// `home`. Fails on what the stack cannot mean (an unknown provider, an
/// owned key or a literal credential in settings, a config the pinned
/// release's schema refuses).
pub fn build(stack: &Stack, home: &str) -> Result<Gateway, ConfigError> {
    let mut env = EnvRefs::default();
    env.require(&["gateway_token"], "the gateway's shared token");
    let mut config = fixed(stack, home);
    let mut warnings = vec![];

    let (model, custom) = providers::build(stack, &mut env)?;
    config["agents"] = json!({ "defaults": { "model": model } });
    if let Some(custom) = custom {
        config["models"] = json!({ "providers": custom });
    }

    let channels = channels::build(stack, &mut env)?;
    let mut owned: Vec<(String, &'static str)> = vec![];
    for name in settings::TYPED_CHANNELS {
        if channels.contains_key(name) {
            for key in channels::OWNED_KEYS {
                owned.push((
                    format!("channels.{name}.{key}"),
                    "use the typed field under `openclaw.channels.<name>`",
                ));
            }
        } else {
            owned.push((
                format!("channels.{name}"),
                "declare the channel under `openclaw.channels` first",
            ));
        }
    }
    let mut plugins = vec![];
    for name in channels.keys() {
        if let Some(package) = channels::plugin_package(name) {
            plugins.push(Plugin {
                id: name.clone(),
                package: package.to_string(),
            });
        }
    }
    if !channels.is_empty() {
        config["channels"] = Value::Object(channels);
    }
    // Only the plugins the declared config uses load (OpenClaw's default
    // loads 14, browser and computer-use among them): the model's
    // providers, the declared channels, the memory slot's default.
    let mut allow: Vec<String> = providers::plugins(stack)
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in stack.openclaw.channels.declared().iter().map(|(n, _)| *n) {
        allow.push(name.to_string());
    }
    allow.push("memory-core".into());
    let mut entries = serde_json::Map::new();
    for p in &plugins {
        entries.insert(p.id.clone(), json!({ "enabled": true }));
    }
    config["plugins"] = json!({ "allow": allow });
    if !entries.is_empty() {
        config["plugins"]["entries"] = Value::Object(entries);
    }

    let (tools, undenied) = tools::build(stack);
    settings::deep_merge(&mut config, tools);
    for t in undenied {
        warnings.push(format!(
            "openclaw.tools.allow: `{t}` is denied by the hardened baseline; allowing it takes it off the deny list"
        ));
    }

    let before = config.clone();
    settings::merge(&mut config, &stack.openclaw.settings, &owned, &mut env)?;
    for loosened in findings::loosened_http(&before, &config) {
        warnings.push(format!("openclaw.settings: {loosened}"));
    }

    if providers::plugins(stack).contains(&"openai") {
        // Seen on the real 2026.9.6 gateway (tests/openclaw_contract.rs's
        // log of a run with an OpenAI fallback): at start it installs the
        // missing `@openclaw/codex` plugin from npm, unpinned; npm has no
        // 2026.9.6 release of it to pin.
        warnings.push(
            "openclaw.model: an OpenAI model makes OpenClaw 2026.9 install the @openclaw/codex \
             plugin from npm when the gateway starts (unpinned: there is no release of it at the \
             pinned version); the server needs the npm registry then"
                .into(),
        );
    }
    schema::check(stack, &config)?;
    for missing in catalog::unknown_models(stack) {
        warnings.push(missing);
    }
    for f in findings::weaker_than_baseline(&config) {
        if !warnings.iter().any(|w| w.contains(&f.key)) {
            warnings.push(f.to_string());
        }
    }
    Ok(Gateway {
        config,
        env,
        plugins,
        warnings,
    })
}

impl Gateway {
    /// `openclaw.json` as delivered: pretty JSON, newline-terminated.
    pub fn config_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.config).unwrap_or_default();
        text.push('\n');
        text
    }
}
