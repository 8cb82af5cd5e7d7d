//! `openclaw.channels.<name>` -> `channels.<name>` in openclaw.json.
//!
//! Per channel (OpenClaw's docs/channels/<name>/access-control.md):
//! - DMs: `dmPolicy` (pairing, allowlist, open, disabled) and `allowFrom`;
//!   `open` needs `allowFrom: ["*"]`.
//! - Groups: `groupPolicy` and the channel's own allowlist map. Telegram:
//!   `groups.<chat id>` (negative ids); `groupPolicy` there filters senders
//!   (`allowlist`: only `allowFrom`; `open`: anyone in an allowed group).
//!   Discord: `guilds.<guild id>`, or `guilds.<guild>.channels.<channel>` for
//!   a `GUILD/CHANNEL` id (a guild with a `channels` map allows only those).
//!   Slack: `channels.<channel id>`. No `groups` in the stack: `groupPolicy:
//!   disabled`, no group chat at all.
//! - The token as a SecretRef to the env file's variable.

use serde_json::{json, Map, Value};

use super::secrets::{env_ref, variable, EnvRefs};
use super::ConfigError;
use crate::stack::{Channel, DmPolicy, Stack};

/// The OpenClaw plugin a channel needs installed, if it is not bundled
/// (2026.9.6 bundles Telegram; Discord and Slack are separate packages,
/// released in step with OpenClaw).
pub fn plugin_package(name: &str) -> Option<&'static str> {
    match name {
        "discord" => Some("@openclaw/discord"),
        "slack" => Some("@openclaw/slack"),
        _ => None,
    }
}

/// The openclaw.json keys a channel block sets (refused in settings).
pub const OWNED_KEYS: &[&str] = &[
    "enabled",
    "botToken",
    "token",
    "appToken",
    "mode",
    "dmPolicy",
    "allowFrom",
    "groupPolicy",
    "groups",
    "guilds",
    "channels",
];

fn token_key(name: &str) -> &'static str {
    match name {
        "discord" => "token",
        _ => "botToken",
    }
}

/// The `channels` block, and the owned paths it sets.
pub fn build(stack: &Stack, env: &mut EnvRefs) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    for (name, channel) in stack.openclaw.channels.declared() {
        out.insert(name.to_string(), Value::Object(one(name, channel, env)?));
    }
    Ok(out)
}

fn secret(
    env: &mut EnvRefs,
    given: &Option<crate::stack::SecretRef>,
    default: &str,
    field: &str,
    why: &str,
) -> Result<Value, ConfigError> {
    let key = given.as_ref().map(|s| s.secret.as_str()).unwrap_or(default);
    if given.is_some() {
        // Checked as a name (a typo is an error here, not a missing key).
        env.reference(key, field)?;
    }
    env.require(&[key], why);
    Ok(env_ref(&variable(key)))
}

fn one(name: &str, c: &Channel, env: &mut EnvRefs) -> Result<Map<String, Value>, ConfigError> {
    let at = format!("openclaw.channels.{name}");
    let mut m = Map::new();
    m.insert("enabled".into(), json!(true));
    let token = secret(
        env,
        &c.token,
        &format!("{name}_bot_token"),
        &format!("{at}.token"),
        &format!("the {name} bot's token"),
    )?;
    m.insert(token_key(name).into(), token);
    if name == "slack" {
        let app = secret(
            env,
            &c.app_token,
            "slack_app_token",
            &format!("{at}.app_token"),
            "Slack's app-level token (Socket Mode)",
        )?;
        m.insert("appToken".into(), app);
        m.insert("mode".into(), json!("socket"));
    } else if c.app_token.is_some() {
        return Err(ConfigError::new(
            format!("{at}.app_token"),
            "only Slack has an app-level token",
            "remove `app_token`",
        ));
    }
    m.insert("dmPolicy".into(), json!(c.dm.as_str()));
    match c.dm {
        DmPolicy::Allowlist if c.allow_from.is_empty() => {
            return Err(ConfigError::new(
                format!("{at}.allow_from"),
                "`dm: allowlist` with nobody in `allow_from`",
                "list the sender ids that may DM the bot, or use `dm: pairing`",
            ));
        }
        DmPolicy::Open => {
            let mut from: Vec<String> = c.allow_from.clone();
            if !from.iter().any(|f| f == "*") {
                from.push("*".into());
            }
            m.insert("allowFrom".into(), json!(from));
        }
        _ if !c.allow_from.is_empty() => {
            m.insert("allowFrom".into(), json!(c.allow_from));
        }
        _ => {}
    }
    for id in &c.allow_from {
        check_id(id, &format!("{at}.allow_from"))?;
    }
    if c.groups.is_empty() {
        m.insert("groupPolicy".into(), json!("disabled"));
        return Ok(m);
    }
    let policy = if name == "telegram" && c.allow_from.is_empty() {
        // Telegram's groupPolicy filters senders inside the allowed groups;
        // with nobody listed, `allowlist` would silence every group.
        "open"
    } else {
        "allowlist"
    };
    m.insert("groupPolicy".into(), json!(policy));
    let mut groups = Map::new();
    for (id, g) in &c.groups {
        let field = format!("{at}.groups.{id}");
        let entry = json!({ "requireMention": g.require_mention });
        match name {
            "discord" => {
                let (guild, channel) = match id.split_once('/') {
                    Some((g, ch)) => (g, Some(ch)),
                    None => (id.as_str(), None),
                };
                check_id(guild, &field)?;
                let slot = groups
                    .entry(guild.to_string())
                    .or_insert_with(|| json!({ "requireMention": true }));
                match channel {
                    None => slot["requireMention"] = json!(g.require_mention),
                    Some(ch) => {
                        check_id(ch, &field)?;
                        slot["channels"][ch] =
                            json!({ "enabled": true, "requireMention": g.require_mention });
                    }
                }
            }
            _ => {
                check_id(id, &field)?;
                groups.insert(id.clone(), entry);
            }
        }
    }
    let key = match name {
        "discord" => "guilds",
        "slack" => "channels",
        _ => "groups",
    };
    m.insert(key.into(), Value::Object(groups));
    Ok(m)
}

/// A chat or sender id: letters, digits and `-_:@.+*` (Telegram's negative
/// ids, Slack's `C0123`, `user:U123`, `*`), at most 128 characters.
fn check_id(id: &str, field: &str) -> Result<(), ConfigError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:@.+*#".contains(c));
    if ok {
        return Ok(());
    }
    Err(ConfigError::new(
        field,
        format!("{} is not a chat or user id", super::shown(id)),
        "use the channel's own ids (Telegram: -1001234567890; Discord: GUILD or GUILD/CHANNEL; Slack: C0123ABCD)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(yaml: &str) -> Stack {
        let doc = format!(
            "name: t\ntailscale: {{tailnet: a.ts.net, hostname: h}}\nopenclaw:\n  channels:\n{yaml}"
        );
        serde_yaml::from_str(&doc).unwrap()
    }

    #[test]
    fn telegram_with_pairing_and_a_mention_gated_group() {
        let s = stack("    telegram: {groups: {-1001234: {}}}\n");
        let mut env = EnvRefs::default();
        let c = build(&s, &mut env).unwrap();
        let t = &c["telegram"];
        assert_eq!(t["dmPolicy"], "pairing");
        assert_eq!(t["botToken"]["id"], "TELEGRAM_BOT_TOKEN");
        assert_eq!(t["groupPolicy"], "open");
        assert_eq!(t["groups"]["-1001234"]["requireMention"], true);
        assert_eq!(env.vault_keys(), ["telegram_bot_token"]);
    }

    #[test]
    fn discord_guild_and_channel_ids_map_to_guilds() {
        let s = stack("    discord:\n      dm: allowlist\n      allow_from: [\"42\"]\n      groups:\n        \"1/2\": {require_mention: false}\n        \"3\": {}\n");
        let c = build(&s, &mut EnvRefs::default()).unwrap();
        let d = &c["discord"];
        assert_eq!(d["token"]["id"], "DISCORD_BOT_TOKEN");
        assert_eq!(d["groupPolicy"], "allowlist");
        assert_eq!(d["guilds"]["1"]["channels"]["2"]["requireMention"], false);
        assert_eq!(d["guilds"]["3"]["requireMention"], true);
        assert_eq!(d["allowFrom"], json!(["42"]));
    }

    #[test]
    fn slack_needs_both_tokens_and_no_groups_means_disabled() {
        let s = stack("    slack: {dm: open, token: {secret: team_bot_token}}\n");
        let mut env = EnvRefs::default();
        let c = build(&s, &mut env).unwrap();
        let sl = &c["slack"];
        assert_eq!(sl["botToken"]["id"], "CLAWPROV_SECRET_TEAM_BOT_TOKEN");
        assert_eq!(sl["appToken"]["id"], "SLACK_APP_TOKEN");
        assert_eq!(sl["allowFrom"], json!(["*"]));
        assert_eq!(sl["groupPolicy"], "disabled");
        assert_eq!(env.vault_keys(), ["team_bot_token", "slack_app_token"]);
    }

    #[test]
    fn allowlist_without_senders_is_refused() {
        let s = stack("    telegram: {dm: allowlist}\n");
        let e = build(&s, &mut EnvRefs::default()).unwrap_err();
        assert_eq!(e.field, "openclaw.channels.telegram.allow_from");
    }
}
