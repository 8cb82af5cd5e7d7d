//! Checks from the Hetzner API: what the stack's labels find, read against
//! what the stack and the local render want. Requests: the three label
//! lists (as `plan`), plus one GET per foreign firewall attached to the
//! server (their inbound rules count too).

use std::collections::BTreeMap;

use super::check::CheckResult;
use crate::hetzner::{Direction, Firewall, Hetzner, HetznerError, Server, ServerStatus};
use crate::plan::{observe, Desired, Observed, MANAGED_LABEL, STACK_LABEL, USER_DATA_LABEL};

/// The server the checks looked at (for the outside vantage), and the results.
pub struct ApiOutcome {
    pub server: Option<Server>,
    pub checks: Vec<CheckResult>,
}

pub async fn check(h: &Hetzner, desired: &Desired) -> ApiOutcome {
    let observed = match observe(h, &desired.stack).await {
        Ok(o) => o,
        Err(e) => return unreachable(&e),
    };
    let server = observed.servers.first().cloned();
    let mut foreign = BTreeMap::new();
    if let Some(s) = &server {
        for id in &s.firewall_ids {
            if observed.firewalls.iter().any(|f| f.id == *id) {
                continue;
            }
            match h.get_firewall(*id).await {
                Ok(f) => {
                    foreign.insert(*id, f);
                }
                Err(e) => return unreachable(&e),
            }
        }
    }
    let checks = judge(desired, &observed, &foreign);
    ApiOutcome { server, checks }
}

/// Every api check as an error: the API could not be asked.
fn unreachable(e: &HetznerError) -> ApiOutcome {
    let why = format!("the Hetzner API did not answer: {e}");
    ApiOutcome {
        server: None,
        checks: super::check::CATALOG
            .iter()
            .filter(|s| s.id.starts_with("api.") && !s.id.starts_with("api.tailnet."))
            .map(|s| CheckResult::error(s.id, why.clone()))
            .collect(),
    }
}

/// The checks, from what was observed (pure: the unit tests call it).
pub fn judge(
    desired: &Desired,
    observed: &Observed,
    foreign: &BTreeMap<i64, Firewall>,
) -> Vec<CheckResult> {
    let (n_servers, n_keys, n_firewalls) = (
        observed.servers.len(),
        observed.ssh_keys.len(),
        observed.firewalls.len(),
    );
    let mut out = vec![CheckResult::decide(
        "api.resources",
        (n_servers, n_keys, n_firewalls) == (1, 1, 1),
        format!("{n_servers} server(s), {n_keys} SSH key(s), {n_firewalls} firewall(s) carry the stack's labels"),
    )];
    let dependent = [
        "api.server.spec",
        "api.server.labels",
        "api.server.protection",
        "api.server.rescue",
        "api.firewall.attached",
        "api.firewall.inbound",
        "api.firewall.scope",
    ];
    let Some(s) = observed.servers.first() else {
        out.extend(
            dependent
                .iter()
                .map(|id| CheckResult::skip(*id, "no server carries the stack's labels")),
        );
        return out;
    };
    let want = &desired.server;

    let mut spec = vec![];
    if s.status != ServerStatus::Running {
        spec.push(format!("status {:?}, not running", s.status).to_lowercase());
    }
    if s.image.as_deref() != Some(want.image.as_str()) {
        spec.push(format!("image {:?}, declared {:?}", s.image, want.image));
    }
    if s.server_type != want.server_type {
        spec.push(format!(
            "type {}, declared {}",
            s.server_type, want.server_type
        ));
    }
    if s.location != want.location {
        spec.push(format!(
            "location {}, declared {}",
            s.location, want.location
        ));
    }
    out.push(verdict(
        "api.server.spec",
        &spec,
        format!(
            "#{} running {} {} in {}",
            s.id, s.server_type, want.image, s.location
        ),
    ));

    let mut labels = vec![];
    for (key, value) in [
        (STACK_LABEL, desired.stack.as_str()),
        (MANAGED_LABEL, "true"),
    ] {
        if s.labels.get(key).map(String::as_str) != Some(value) {
            labels.push(format!("{key} is {:?}", s.labels.get(key)));
        }
    }
    let generation = s.labels.get(crate::plan::BOOTSTRAP_LABEL);
    match s.labels.get(USER_DATA_LABEL) {
        Some(fp) if *fp == want.user_data_fingerprint && generation.is_some() => {}
        Some(fp)
            if Some(fp) == want.keyed_user_data_fingerprint.as_ref() && generation.is_some() =>
        {
            labels.push(format!(
                "{USER_DATA_LABEL} is {fp}, this user-data's fingerprint as an earlier clawprov \
                 took it (with the operator keys): `clawprov up` relabels it {}",
                want.user_data_fingerprint
            ))
        }
        Some(fp) if Some(fp) == want.previous_user_data_fingerprint.as_ref() && generation.is_none() => {
            labels.push(format!(
                "the server was set up by an earlier clawprov (bootstrap generation 1, user-data {fp}): \
                 `clawprov up` brings it into line in place and relabels it"
            ))
        }
        Some(fp) => labels.push(format!(
            "{USER_DATA_LABEL} is {fp}, the local render's is {}",
            want.user_data_fingerprint
        )),
        None => labels.push(format!("{USER_DATA_LABEL} is missing")),
    }
    out.push(verdict(
        "api.server.labels",
        &labels,
        format!("labels present, user-data {}", want.user_data_fingerprint),
    ));

    let protection = (s.protection.delete, s.protection.rebuild);
    let declared = (want.protect_delete, want.protect_rebuild);
    out.push(CheckResult::decide(
        "api.server.protection",
        protection == declared,
        format!(
            "delete {} rebuild {} (declared delete {} rebuild {})",
            protection.0, protection.1, declared.0, declared.1
        ),
    ));

    let mut rescue = vec![];
    if s.rescue_enabled {
        rescue.push("rescue mode is enabled".to_string());
    }
    if let Some(iso) = &s.iso {
        rescue.push(format!("ISO {iso} is attached"));
    }
    out.push(verdict(
        "api.server.rescue",
        &rescue,
        "rescue off, no ISO".into(),
    ));

    let ours = observed.firewalls.first();
    out.push(match ours {
        None => CheckResult::fail("api.firewall.attached", "the stack has no firewall"),
        Some(f) if !s.firewall_ids.contains(&f.id) => CheckResult::fail(
            "api.firewall.attached",
            format!("firewall #{} is not attached to server #{}", f.id, s.id),
        ),
        Some(f) if s.firewalls_pending.contains(&f.id) => CheckResult::fail(
            "api.firewall.attached",
            format!("firewall #{} is attached but still pending", f.id),
        ),
        Some(f) => CheckResult::pass(
            "api.firewall.attached",
            format!("firewall #{} applied to server #{}", f.id, s.id),
        ),
    });

    let mut inbound = vec![];
    for id in &s.firewall_ids {
        let f = observed
            .firewalls
            .iter()
            .find(|f| f.id == *id)
            .or_else(|| foreign.get(id));
        match f {
            Some(f) => {
                let n = f
                    .rules
                    .iter()
                    .filter(|r| r.direction == Direction::In)
                    .count();
                if n > 0 {
                    inbound.push(format!(
                        "firewall {} #{} has {n} inbound rule(s)",
                        f.name, f.id
                    ));
                }
            }
            None => inbound.push(format!("firewall #{id} could not be read")),
        }
    }
    out.push(verdict(
        "api.firewall.inbound",
        &inbound,
        format!(
            "{} firewall(s) attached, none with an inbound rule",
            s.firewall_ids.len()
        ),
    ));

    out.push(match ours {
        None => CheckResult::skip("api.firewall.scope", "the stack has no firewall"),
        Some(f) => {
            let mut extra: Vec<String> = f
                .applied_to_servers
                .iter()
                .filter(|id| **id != s.id)
                .map(|id| format!("server #{id}"))
                .collect();
            extra.extend(
                f.applied_to_selectors
                    .iter()
                    .map(|sel| format!("label selector {sel:?}")),
            );
            if extra.is_empty() {
                CheckResult::pass(
                    "api.firewall.scope",
                    format!("firewall #{} applies to server #{} only", f.id, s.id),
                )
            } else {
                CheckResult::fail(
                    "api.firewall.scope",
                    format!("firewall #{} also applies to {}", f.id, extra.join(", ")),
                )
            }
        }
    });
    out
}

fn verdict(id: &'static str, problems: &[String], ok: String) -> CheckResult {
    if problems.is_empty() {
        CheckResult::pass(id, ok)
    } else {
        CheckResult::fail(id, problems.join("; "))
    }
}
