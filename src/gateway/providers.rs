//! The model and its credentials: `openclaw.model` and
//! `openclaw.providers`.
//!
//! A built-in provider reads its key from the environment variable
//! OpenClaw's provider documents (docs/providers/<id>.md); clawprov puts
//! the vault key there through the env file. A custom OpenAI-compatible
//! endpoint is a `models.providers.<id>` block whose `apiKey` is a
//! SecretRef to the env file.

use serde_json::{json, Map, Value};

use super::secrets::EnvRefs;
use super::ConfigError;
use crate::stack::Stack;

/// A provider clawprov knows: its id (the `provider/` of a model, also the
/// id of OpenClaw's bundled plugin for it) and the vault keys that can hold
/// its credential (any one will do).
pub struct Known {
    pub id: &'static str,
    pub keys: &'static [&'static str],
    /// Whether the key is also named in openclaw.json
    /// (`models.providers.<id>.apiKey` as a SecretRef). Anthropic's is not:
    /// a Claude setup-token has no openclaw.json key (OpenClaw reads it
    /// from `ANTHROPIC_OAUTH_TOKEN` only), and naming `ANTHROPIC_API_KEY`
    /// would fail to resolve on a vault holding only the setup-token.
    pub config_ref: bool,
}

pub const KNOWN: &[Known] = &[
    Known {
        id: "anthropic",
        keys: &["anthropic_api_key", "claude_setup_token"],
        config_ref: false,
    },
    Known {
        id: "openai",
        keys: &["openai_api_key"],
        config_ref: true,
    },
    Known {
        id: "openrouter",
        keys: &["openrouter_api_key"],
        config_ref: true,
    },
    Known {
        id: "google",
        keys: &["gemini_api_key"],
        config_ref: true,
    },
];

/// The bundled provider plugins the declared models use (for
/// `plugins.allow`).
pub fn plugins(stack: &Stack) -> Vec<&'static str> {
    let m = &stack.openclaw.model;
    KNOWN
        .iter()
        .filter(|k| {
            std::iter::once(&m.primary)
                .chain(&m.fallbacks)
                .any(|model| model.split('/').next() == Some(k.id))
        })
        .map(|k| k.id)
        .collect()
}

fn known_ids() -> String {
    KNOWN.iter().map(|k| k.id).collect::<Vec<_>>().join(", ")
}

/// `agents.defaults.model` and `models.providers` (custom endpoints), with
/// the credentials each used provider needs.
pub fn build(stack: &Stack, env: &mut EnvRefs) -> Result<(Value, Option<Value>), ConfigError> {
    let m = &stack.openclaw.model;
    let mut custom = Map::new();
    for (id, p) in &stack.openclaw.providers {
        let at = format!("openclaw.providers.{id}");
        if !is_provider_id(id) {
            return Err(ConfigError::new(
                at,
                format!("{} is not a provider id", super::shown(id)),
                "use lowercase letters, digits and `-` (e.g. `local`)",
            ));
        }
        if KNOWN.iter().any(|k| k.id == id) {
            return Err(ConfigError::new(
                at,
                format!("`{id}` is a built-in provider"),
                format!(
                    "its key comes from the vault ({}); name a custom endpoint something else",
                    KNOWN
                        .iter()
                        .find(|k| k.id == id)
                        .map(|k| k.keys.join(" or "))
                        .unwrap_or_default()
                ),
            ));
        }
        if p.base_url.contains('@') {
            // user:password@host: a credential, not echoed.
            return Err(ConfigError::new(
                format!("{at}.base_url"),
                "the URL carries credentials (`user:password@`)",
                "put the key in the vault and name it with `api_key: {secret: KEY}`",
            ));
        }
        if !(p.base_url.starts_with("https://")
            || p.base_url.starts_with("http://127.0.0.1")
            || p.base_url.starts_with("http://localhost"))
            || p.base_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ConfigError::new(
                format!("{at}.base_url"),
                format!(
                    "{} is not an https:// URL (or http:// on loopback)",
                    super::shown(&p.base_url)
                ),
                "e.g. https://llm.example.com/v1",
            ));
        }
        if p.models.is_empty() {
            return Err(ConfigError::new(
                format!("{at}.models"),
                "no models declared",
                "list the model ids the endpoint serves, e.g. [llama-3.3-70b]",
            ));
        }
        let key = p
            .api_key
            .as_ref()
            .map(|s| s.secret.clone())
            .unwrap_or(format!("{}_api_key", id.replace('-', "_")));
        let api_key = env.reference(&key, &format!("{at}.api_key"))?;
        custom.insert(
            id.clone(),
            json!({
                "baseUrl": p.base_url,
                "api": p.api,
                "apiKey": api_key,
                "models": p.models.iter().map(|m| json!({ "id": m, "name": m })).collect::<Vec<_>>(),
            }),
        );
    }
    let all: Vec<(String, &String)> =
        std::iter::once(("openclaw.model.primary".to_string(), &m.primary))
            .chain(
                m.fallbacks
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (format!("openclaw.model.fallbacks[{i}]"), f)),
            )
            .collect();
    for (field, model) in &all {
        let Some((provider, name)) = model.split_once('/') else {
            return Err(ConfigError::new(
                field.clone(),
                format!("{} is not `provider/model`", super::shown(model)),
                "e.g. anthropic/claude-opus-4-6",
            ));
        };
        if name.is_empty() || model.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::new(
                field.clone(),
                format!("{} is not `provider/model`", super::shown(model)),
                "e.g. anthropic/claude-opus-4-6",
            ));
        }
        if let Some(k) = KNOWN.iter().find(|k| k.id == provider) {
            env.require(k.keys, format!("the {provider} model credential"));
            if k.config_ref && !custom.contains_key(provider) {
                custom.insert(
                    provider.to_string(),
                    json!({ "apiKey": super::secrets::env_ref(&super::secrets::variable(k.keys[0])) }),
                );
            }
        } else if let Some(p) = stack.openclaw.providers.get(provider) {
            if !p.models.iter().any(|x| x == name) {
                return Err(ConfigError::new(
                    field.clone(),
                    format!("`{name}` is not among the models declared for `{provider}`"),
                    format!("add it to openclaw.providers.{provider}.models"),
                ));
            }
        } else {
            return Err(ConfigError::new(
                field.clone(),
                format!("clawprov does not know the provider `{provider}`"),
                format!("use one of {} or declare a custom endpoint under openclaw.providers.{provider}", known_ids()),
            ));
        }
    }
    let mut model = json!({ "primary": m.primary });
    if !m.fallbacks.is_empty() {
        model["fallbacks"] = json!(m.fallbacks);
    }
    let providers = (!custom.is_empty()).then_some(Value::Object(custom));
    Ok((model, providers))
}

fn is_provider_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}
