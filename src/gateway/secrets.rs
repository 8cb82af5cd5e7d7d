//! Which vault keys the gateway gets, under which environment variables.
//!
//! The gateway reads every secret from its env file (the unit's
//! `EnvironmentFile`); `openclaw.json` holds only SecretRefs to those
//! variables (`{source: env, provider: default, id: VAR}`). Known keys
//! keep the names OpenClaw's own env fallbacks read; a key the stack names
//! itself (`{secret: KEY}`) becomes `CLAWPROV_SECRET_<KEY>`.

use serde_json::Value;

use super::ConfigError;

/// Vault key -> environment variable, for the keys clawprov knows.
/// `ANTHROPIC_OAUTH_TOKEN` is where OpenClaw's Anthropic provider reads a
/// Claude setup-token (it wins over `ANTHROPIC_API_KEY`).
pub const KNOWN: &[(&str, &str)] = &[
    ("gateway_token", "OPENCLAW_GATEWAY_TOKEN"),
    ("claude_setup_token", "ANTHROPIC_OAUTH_TOKEN"),
    ("anthropic_api_key", "ANTHROPIC_API_KEY"),
    ("openai_api_key", "OPENAI_API_KEY"),
    ("openrouter_api_key", "OPENROUTER_API_KEY"),
    ("gemini_api_key", "GEMINI_API_KEY"),
    ("telegram_bot_token", "TELEGRAM_BOT_TOKEN"),
    ("discord_bot_token", "DISCORD_BOT_TOKEN"),
    ("slack_bot_token", "SLACK_BOT_TOKEN"),
    ("slack_app_token", "SLACK_APP_TOKEN"),
];

/// The variable a vault key is delivered as.
pub fn variable(key: &str) -> String {
    KNOWN
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| format!("CLAWPROV_SECRET_{}", key.to_ascii_uppercase()))
}

/// An OpenClaw SecretRef to an environment variable.
pub fn env_ref(var: &str) -> Value {
    serde_json::json!({ "source": "env", "provider": "default", "id": var })
}

/// One vault key the gateway needs, and why (for `validate`'s list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Any one of these satisfies it.
    pub keys: Vec<String>,
    pub why: String,
}

/// The vault keys the env file carries, in the order first needed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvRefs {
    keys: Vec<String>,
    needs: Vec<Need>,
}

impl EnvRefs {
    /// `key` goes into the env file if the vault has it (an alternative
    /// credential), without being required.
    pub fn optional(&mut self, key: &str) {
        if !self.keys.iter().any(|k| k == key) {
            self.keys.push(key.to_string());
        }
    }

    /// One of `keys` must be in the vault; all that are go into the env file.
    pub fn require(&mut self, keys: &[&str], why: impl Into<String>) {
        for k in keys {
            self.optional(k);
        }
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        if !self.needs.iter().any(|n| n.keys == keys) {
            self.needs.push(Need {
                keys,
                why: why.into(),
            });
        }
    }

    /// A SecretRef for `{secret: key}` written at `field`; the key is required.
    pub fn reference(&mut self, key: &str, field: &str) -> Result<Value, ConfigError> {
        if crate::secrets::check_key(key).is_err() {
            return Err(ConfigError::new(
                field,
                format!("`{key}` is not a vault key name"),
                format!(
                    "name a key clawprov knows or one of your own ending in {} (lowercase, digits, `_`), then `clawprov secrets set KEY`",
                    crate::secrets::CUSTOM_KEY_ENDINGS.join(", ")
                ),
            ));
        }
        self.require(&[key], format!("named at {field}"));
        Ok(env_ref(&variable(key)))
    }

    /// Every vault key the env file may carry.
    pub fn vault_keys(&self) -> Vec<&str> {
        self.keys.iter().map(String::as_str).collect()
    }

    pub fn needs(&self) -> &[Need] {
        &self.needs
    }
}
