//! `openclaw.tools`: which tools the agent gets.
//!
//! `baseline: hardened` (the default) is exactly the `tools` and `session`
//! blocks of OpenClaw's "Hardened baseline in 60 seconds"
//! (docs/gateway/security/hardened-baseline.md); `standard` is OpenClaw's
//! own defaults. `allow` becomes `tools.alsoAllow` (and comes off the
//! baseline's deny list), `deny` is added to it. The gateway's HTTP deny
//! list (`gateway.tools`) is left at OpenClaw's default, and the
//! OpenResponses file and image inputs stay off unless declared, then
//! limited to their `urlAllowlist`.

use serde_json::{json, Value};

use crate::stack::{Baseline, Endpoint, Stack};

/// The baseline's tool denials, in OpenClaw's order.
pub const HARDENED_DENY: &[&str] = &[
    "group:automation",
    "group:runtime",
    "group:fs",
    "sessions_spawn",
    "sessions_send",
];

/// The hardened baseline's `session` and `tools` blocks, verbatim.
pub fn hardened() -> Value {
    json!({
        "session": { "dmScope": "per-channel-peer" },
        "tools": {
            "profile": "messaging",
            "deny": HARDENED_DENY,
            "fs": { "workspaceOnly": true },
            "exec": { "security": "deny", "ask": "always" },
            "elevated": { "enabled": false },
            "sessions": { "visibility": "agent" },
            "agentToAgent": { "enabled": false },
        },
    })
}

/// What `openclaw.tools` adds to the config (merged over the rest), and
/// the tools `allow` took off the baseline's deny list (a plan warning).
pub fn build(stack: &Stack) -> (Value, Vec<String>) {
    let t = &stack.openclaw.tools;
    let mut out = match t.baseline {
        Baseline::Hardened => hardened(),
        Baseline::Standard => json!({ "tools": {} }),
    };
    let mut deny: Vec<String> = match t.baseline {
        Baseline::Hardened => HARDENED_DENY.iter().map(|s| s.to_string()).collect(),
        Baseline::Standard => vec![],
    };
    let undenied: Vec<String> = deny
        .iter()
        .filter(|d| t.allow.contains(d))
        .cloned()
        .collect();
    deny.retain(|d| !t.allow.contains(d));
    for d in &t.deny {
        if !deny.contains(d) {
            deny.push(d.clone());
        }
    }
    let tools = &mut out["tools"];
    if deny.is_empty() {
        if let Some(o) = tools.as_object_mut() {
            o.remove("deny");
        }
    } else {
        tools["deny"] = json!(deny);
    }
    if !t.allow.is_empty() {
        tools["alsoAllow"] = json!(t.allow);
    }
    if t.baseline == Baseline::Standard && tools.as_object().is_some_and(|o| o.is_empty()) {
        if let Some(o) = out.as_object_mut() {
            o.remove("tools");
        }
    }
    let files = endpoint(&t.http.files);
    let images = endpoint(&t.http.images);
    out["gateway"] = json!({
        "http": { "endpoints": { "responses": { "files": files, "images": images } } }
    });
    (out, undenied)
}

/// An OpenResponses input: off, or on with its URL allowlist.
fn endpoint(e: &Option<Endpoint>) -> Value {
    match e {
        None => json!({ "allowUrl": false }),
        Some(e) => {
            json!({ "allowUrl": !e.url_allowlist.is_empty(), "urlAllowlist": e.url_allowlist })
        }
    }
}
