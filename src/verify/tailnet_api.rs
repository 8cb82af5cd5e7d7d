//! Checks from the Tailscale API: the stack's device and the keys clawprov
//! minted for it. Requests: one device list, one key list and one read per
//! listed key (the list may carry ids only; at most
//! [`crate::tailscale::keys::MAX_KEYS_READ`] reads), and a token.

use super::check::CheckResult;
use crate::hetzner::Server;
use crate::plan::tailnet::CLOCK_SKEW;
use crate::stack::Stack;
use crate::tailscale::{node, Device, Tailscale};

pub struct TailnetApiOutcome {
    /// The node of the server, when found (the host vantage connects there).
    pub node: Option<Device>,
    pub checks: Vec<CheckResult>,
}

const IDS: [&str; 2] = ["api.tailnet.device", "api.tailnet.keys"];

pub async fn check(
    ts: Option<&Tailscale>,
    stack: &Stack,
    server: Option<&Server>,
) -> TailnetApiOutcome {
    let Some(ts) = ts else {
        return TailnetApiOutcome {
            node: None,
            checks: IDS
                .iter()
                .map(|id| CheckResult::skip(*id, "no Tailscale API credentials in the vault (OAuth client or tailscale_api_token)"))
                .collect(),
        };
    };
    let (devices, keys) = match tokio::try_join!(ts.list_devices(), ts.keys_in_detail()) {
        Ok(x) => x,
        Err(e) => {
            let why = format!("the Tailscale API did not answer: {e}");
            return TailnetApiOutcome {
                node: None,
                checks: IDS
                    .iter()
                    .map(|id| CheckResult::error(*id, why.clone()))
                    .collect(),
            };
        }
    };
    let prefix = crate::tailscale::keys::stack_prefix(&stack.name);
    let live = keys.live_for(&stack.name);
    let (node, device) = judge_device(&devices, stack, server);
    let keys_check = match (live.is_empty(), keys.unread_note(&stack.name)) {
        (false, _) => CheckResult::fail(
            "api.tailnet.keys",
            format!("still valid: {}", live.join(", ")),
        ),
        // Not a pass: a leftover may be among the keys not read.
        (true, Some(note)) => CheckResult::error(
            "api.tailnet.keys",
            format!("no valid key described '{prefix}*' among those read, but {note}"),
        ),
        (true, None) => CheckResult::pass(
            "api.tailnet.keys",
            format!("no valid key described '{prefix}*'"),
        ),
    };
    TailnetApiOutcome {
        node,
        checks: vec![device, keys_check],
    }
}

/// The device check, from the device list (pure: unit-tested).
pub fn judge_device(
    devices: &[Device],
    stack: &Stack,
    server: Option<&Server>,
) -> (Option<Device>, CheckResult) {
    let id = "api.tailnet.device";
    let ts = &stack.tailscale;
    let mine = node::of_stack(devices, &ts.hostname, &ts.tags);
    let Some(server) = server else {
        return (
            None,
            CheckResult::error(id, "no server to match a device against"),
        );
    };
    let since = node::timestamp(&server.created);
    let current = since.and_then(|s| node::node_since(&mine, s, CLOCK_SKEW));
    let Some(d) = current else {
        return (
            None,
            CheckResult::fail(
                id,
                format!(
                    "{} device(s) with hostname {} and tags {}, none created after server #{}",
                    mine.len(),
                    ts.hostname,
                    ts.tags.join(","),
                    server.id
                ),
            ),
        );
    };
    let mut problems = vec![];
    if mine.len() != 1 {
        problems.push(format!(
            "{} devices of the stack (stale ones too)",
            mine.len()
        ));
    }
    if !d.dns_label().eq_ignore_ascii_case(&ts.hostname) {
        problems.push(format!(
            "registered as {}, not {}",
            d.dns_label(),
            ts.hostname
        ));
    }
    if !d.online() {
        problems.push(format!(
            "not connected (last seen {})",
            d.last_seen.as_deref().unwrap_or("never")
        ));
    }
    if !d.key_expiry_disabled {
        problems.push(format!(
            "key expiry on (expires {})",
            d.expires.as_deref().unwrap_or("?")
        ));
    }
    let evidence = format!(
        "device #{} {} ({}), tags {}",
        d.id,
        d.name,
        d.addresses.join(", "),
        d.tags.join(",")
    );
    let result = if problems.is_empty() {
        CheckResult::pass(id, evidence)
    } else {
        CheckResult::fail(id, format!("{evidence}: {}", problems.join("; ")))
    };
    (Some(d.clone()), result)
}
