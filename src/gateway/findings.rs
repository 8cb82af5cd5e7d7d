//! What a configuration allows beyond OpenClaw's hardened baseline
//! (docs/gateway/security/hardened-baseline.md): a plan warning each, and
//! the list `verify`'s audit check shows beside OpenClaw's own audit.

use serde_json::Value;

use super::tools::HARDENED_DENY;

/// One setting weaker than the baseline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The openclaw.json key.
    pub key: String,
    pub what: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.what)
    }
}

/// The gateway's default HTTP deny list for `/tools/invoke`
/// (`DEFAULT_GATEWAY_HTTP_TOOL_DENY` in OpenClaw 2026.9.6's code; its docs
/// table shows the first twelve): `gateway.tools.allow` listing one of
/// these opens it to anyone with the token.
pub const HTTP_HIGH_RISK: &[&str] = &[
    "exec",
    "spawn",
    "shell",
    "fs_write",
    "fs_delete",
    "fs_move",
    "apply_patch",
    "terminal",
    "portal",
    "sessions_spawn",
    "sessions_send",
    "conversations_list",
    "conversations_send",
    "conversations_turn",
    "automations",
    "cron",
    "gateway",
    "plugins",
    "nodes",
    "computer",
    "mobile_ui",
    "openclaw",
];

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

fn finding(key: impl Into<String>, what: impl Into<String>) -> Finding {
    Finding {
        key: key.into(),
        what: what.into(),
    }
}

/// Every setting in `config` weaker than the hardened baseline.
pub fn weaker_than_baseline(config: &Value) -> Vec<Finding> {
    let mut out = vec![];
    let s = |p: &str| at(config, p).and_then(Value::as_str);
    let b = |p: &str| at(config, p).and_then(Value::as_bool);
    if s("tools.exec.security") != Some("deny") {
        out.push(finding(
            "tools.exec.security",
            "exec is not denied: the agent can run commands on the server",
        ));
    }
    if b("tools.elevated.enabled") != Some(false) {
        out.push(finding(
            "tools.elevated.enabled",
            "elevated (host) tool execution is not switched off",
        ));
    }
    if s("tools.profile") != Some("messaging") && s("tools.profile") != Some("minimal") {
        out.push(finding(
            "tools.profile",
            "not the messaging profile: the agent gets more than chat tools",
        ));
    }
    if b("tools.fs.workspaceOnly") != Some(true) {
        out.push(finding(
            "tools.fs.workspaceOnly",
            "file tools may reach outside the agent's workspace",
        ));
    }
    if b("tools.agentToAgent.enabled") == Some(true) {
        out.push(finding(
            "tools.agentToAgent.enabled",
            "agents may message each other",
        ));
    }
    if s("tools.sessions.visibility").is_some_and(|v| v != "agent" && v != "self") {
        out.push(finding(
            "tools.sessions.visibility",
            "session tools see other agents' sessions",
        ));
    }
    if s("session.dmScope") != Some("per-channel-peer") {
        out.push(finding(
            "session.dmScope",
            "DMs from different people may share one session",
        ));
    }
    let deny: Vec<&str> = at(config, "tools.deny")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let missing: Vec<&str> = HARDENED_DENY
        .iter()
        .copied()
        .filter(|d| !deny.contains(d))
        .collect();
    if !missing.is_empty() {
        out.push(finding(
            "tools.deny",
            format!("the baseline's denials missing: {}", missing.join(", ")),
        ));
    }
    if let Some(channels) = at(config, "channels").and_then(Value::as_object) {
        for (name, c) in channels {
            if c.get("dmPolicy").and_then(Value::as_str) == Some("open") {
                out.push(finding(
                    format!("channels.{name}.dmPolicy"),
                    "open: anyone can DM the bot",
                ));
            }
            if c.get("groupPolicy").and_then(Value::as_str) == Some("open") && name != "telegram" {
                out.push(finding(
                    format!("channels.{name}.groupPolicy"),
                    "open: any group the bot is in may talk to it",
                ));
            }
            for key in ["groups", "guilds", "channels"] {
                let Some(groups) = c.get(key).and_then(Value::as_object) else {
                    continue;
                };
                for (id, g) in groups {
                    if g.get("requireMention").and_then(Value::as_bool) == Some(false) {
                        out.push(finding(
                            format!("channels.{name}.{key}.{id}.requireMention"),
                            "false: the bot answers every message in that group",
                        ));
                    }
                    if id == "*" {
                        out.push(finding(
                            format!("channels.{name}.{key}.*"),
                            "every group, not an allowlist",
                        ));
                    }
                }
            }
        }
    }
    for kind in ["files", "images"] {
        let p = format!("gateway.http.endpoints.responses.{kind}");
        if b(&format!("{p}.allowUrl")) == Some(true)
            && at(config, &format!("{p}.urlAllowlist"))
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty())
        {
            out.push(finding(
                format!("{p}.urlAllowlist"),
                "URL inputs on with no host allowlist (SSRF)",
            ));
        }
    }
    if let Some(allow) = at(config, "gateway.tools.allow").and_then(Value::as_array) {
        for t in allow.iter().filter_map(Value::as_str) {
            if HTTP_HIGH_RISK.contains(&t) {
                out.push(finding(
                    "gateway.tools.allow",
                    format!("`{t}` is opened to POST /tools/invoke"),
                ));
            }
        }
    }
    out
}

/// What settings changed under `gateway.tools` or `gateway.http` (open to
/// settings, but worth a warning when they loosen a default).
pub fn loosened_http(before: &Value, after: &Value) -> Vec<String> {
    let mut out = vec![];
    for key in ["gateway.tools", "gateway.http"] {
        if at(before, key) != at(after, key) {
            out.push(format!("{key} is changed from clawprov's default (OpenClaw's HTTP deny list and the endpoints' off switches); check it does not open a high-risk tool or URL fetches"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hardened_baseline_has_no_finding_and_each_loosening_one() {
        let mut c = super::super::tools::hardened();
        assert_eq!(weaker_than_baseline(&c), vec![]);
        c["tools"]["exec"]["security"] = "full".into();
        c["channels"] = serde_json::json!({"slack": {"dmPolicy": "open", "channels": {"C1": {"requireMention": false}}}});
        let keys: Vec<String> = weaker_than_baseline(&c)
            .into_iter()
            .map(|f| f.key)
            .collect();
        assert_eq!(
            keys,
            [
                "tools.exec.security",
                "channels.slack.dmPolicy",
                "channels.slack.channels.C1.requireMention"
            ]
        );
    }
}
