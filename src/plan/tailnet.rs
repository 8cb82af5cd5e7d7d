//! The tailnet half of a plan: which devices go, whether a key is minted,
//! and what happens once the node joins. Computed, like the Hetzner half,
//! from what the stack wants and what the Tailscale API shows; printed by
//! `plan`, executed by `up` ([`crate::converge::tailnet`]).

use serde::Serialize;
use time::OffsetDateTime;

use super::{Op, Resource, Step};
use crate::hetzner::Server;
use crate::stack::{Stack, TailscaleAuth};
use crate::tailscale::{node, AuthKey, Device, UnseenKey};

/// How long a minted key stays valid: long enough for a slow first boot
/// (packages, Node, OpenClaw, then `tailscale up`), short enough that a
/// copy read from the metadata service is soon worthless. `up` revokes it
/// as soon as the node has joined anyway.
pub const MINTED_KEY_EXPIRY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Clock difference tolerated between Hetzner's and Tailscale's timestamps
/// when telling the current server's device from older ones.
pub const CLOCK_SKEW: time::Duration = time::Duration::seconds(120);

/// A provided key (`auth: auth_key`) valid for longer than this draws a
/// warning: it outlives the deploy it is for.
pub const LONG_LIVED: time::Duration = time::Duration::days(1);

/// What the Tailscale API shows for a stack.
#[derive(Debug, Clone, Default)]
pub struct TailnetObserved {
    /// The stack's devices ([`node::of_stack`]), oldest first.
    pub devices: Vec<Device>,
    /// `auth: auth_key`: the vault's key as the API describes it (`None`:
    /// not found, or not a `tskey-auth-` key).
    pub provided_key: Option<AuthKey>,
    /// `auth: auth_key`: the vault's key when the API does not show it to
    /// this credential (404: a key a person made is theirs, invisible to an
    /// OAuth client) or it has no id to ask about.
    pub provided_key_unseen: Option<UnseenKey>,
    /// Still-valid keys this stack minted (description `clawprov <stack> ...`)
    /// that an earlier run did not get to revoke.
    pub leftover_keys: Vec<String>,
    /// Listed keys not read (past [`crate::tailscale::keys::MAX_KEYS_READ`]): what that means,
    /// for a warning.
    pub unread_keys: Option<String>,
    /// When the API was asked (for expiry judgements).
    pub at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TailnetOp {
    /// Delete a device of the stack that is not the current server's node.
    DeleteDevice,
    /// Mint a single-use, pre-authorized, tagged key for the new server.
    MintKey,
    /// Wait for the new server to join; use the device's address for SSH.
    AwaitJoin,
    /// Turn off node-key expiry on the node.
    DisableKeyExpiry,
    /// Revoke the minted key once the node has joined (or up failed).
    RevokeKey,
}

impl TailnetOp {
    pub fn as_str(self) -> &'static str {
        match self {
            TailnetOp::DeleteDevice => "delete device",
            TailnetOp::MintKey => "mint key",
            TailnetOp::AwaitJoin => "await join",
            TailnetOp::DisableKeyExpiry => "no key expiry",
            TailnetOp::RevokeKey => "revoke key",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TailnetStep {
    pub op: TailnetOp,
    /// The device's id, for device steps.
    pub id: Option<String>,
    /// The device's MagicDNS label, or what the step is about.
    pub name: String,
    pub reason: String,
}

/// The tailnet half of one stack's plan.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TailnetPlan {
    /// The Tailscale API is used (credentials in the vault, or `--sim`).
    pub managed: bool,
    pub steps: Vec<TailnetStep>,
    /// The current server's node, when the server stays and it is found.
    pub node: Option<Device>,
    pub warnings: Vec<String>,
    /// Why `up` must not run (exit 2), e.g. an ephemeral provided key.
    pub refusal: Option<String>,
}

fn revoke_leftover(id: &str, why: &str) -> TailnetStep {
    TailnetStep {
        op: TailnetOp::RevokeKey,
        id: Some(id.to_string()),
        name: id.to_string(),
        reason: why.to_string(),
    }
}

impl TailnetPlan {
    /// Ids of earlier runs' keys the plan revokes.
    pub fn leftover_revokes(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.op == TailnetOp::RevokeKey)
            .filter_map(|s| s.id.as_deref())
            .collect()
    }

    /// The device ids the plan deletes.
    pub fn deletes(&self) -> Vec<&str> {
        self.steps
            .iter()
            .filter(|s| s.op == TailnetOp::DeleteDevice)
            .filter_map(|s| s.id.as_deref())
            .collect()
    }

    pub fn mints(&self) -> bool {
        self.steps.iter().any(|s| s.op == TailnetOp::MintKey)
    }

    pub fn awaits_join(&self) -> bool {
        self.steps.iter().any(|s| s.op == TailnetOp::AwaitJoin)
    }
}

/// The server `steps` leave standing, if it already exists (no create, no
/// replace), and whether a new one is created.
fn server_outcome<'a>(steps: &[Step], servers: &'a [Server]) -> (Option<&'a Server>, bool) {
    let server_step = steps.iter().find(|s| s.resource == Resource::Server);
    match server_step {
        Some(s) if matches!(s.op, Op::Create | Op::Replace) => (None, true),
        Some(s) if s.op == Op::Delete => (None, false),
        Some(s) => (servers.iter().find(|v| Some(v.id) == s.id), false),
        None => (None, false),
    }
}

/// The tailnet plan. `observed` is `None` when the API is not used (no
/// credentials): the plan then only warns.
pub fn plan(
    stack: &Stack,
    steps: &[Step],
    servers: &[Server],
    observed: Option<&TailnetObserved>,
) -> TailnetPlan {
    let ts = &stack.tailscale;
    let Some(observed) = observed else {
        return TailnetPlan {
            warnings: vec![format!(
                "no Tailscale API credentials in the vault: clawprov cannot remove stale '{}' devices (a redeploy may register as {}-1), turn off the node's key expiry, or delete the device on destroy. Store an OAuth client (tailscale_oauth_client_id/_secret) to manage the tailnet side",
                ts.hostname, ts.hostname
            )],
            ..TailnetPlan::default()
        };
    };
    let mut out = TailnetPlan {
        managed: true,
        ..TailnetPlan::default()
    };
    if ts.auth == TailscaleAuth::AuthKey {
        judge_provided_key(observed, &mut out);
    }
    out.warnings.extend(observed.unread_keys.clone());
    let (staying, creating) = server_outcome(steps, servers);
    let delete = |d: &Device, why: String| TailnetStep {
        op: TailnetOp::DeleteDevice,
        id: Some(d.id.clone()),
        name: d.name.clone(),
        reason: why,
    };
    let devices: Vec<&Device> = observed.devices.iter().collect();
    if creating {
        for id in &observed.leftover_keys {
            out.steps.push(revoke_leftover(
                id,
                "minted for a server of an earlier run that did not finish; the new server gets its own",
            ));
        }
        for d in &devices {
            out.steps.push(delete(
                d,
                format!(
                    "{} device of an earlier server ({}); removed first so the new node registers as exactly {}",
                    if d.online() { "online" } else { "offline" },
                    d.addresses.first().map(String::as_str).unwrap_or("no address"),
                    ts.hostname
                ),
            ));
        }
        if ts.auth == TailscaleAuth::Oauth {
            out.steps.push(TailnetStep {
                op: TailnetOp::MintKey,
                id: None,
                name: ts.tags.join(","),
                reason: format!(
                    "single-use, pre-authorized, not ephemeral, expires in {} min: the only key in the new server's user-data",
                    MINTED_KEY_EXPIRY.as_secs() / 60
                ),
            });
        }
        out.steps.push(TailnetStep {
            op: TailnetOp::AwaitJoin,
            id: None,
            name: ts.hostname.clone(),
            reason: "the device created after the key (by hostname, tags and creation time) is the node; SSH goes to its tailnet address".into(),
        });
        out.steps.push(TailnetStep {
            op: TailnetOp::DisableKeyExpiry,
            id: None,
            name: ts.hostname.clone(),
            reason: "a server must not drop off the tailnet when its node key expires (180 days)"
                .into(),
        });
        if ts.auth == TailscaleAuth::Oauth {
            out.steps.push(TailnetStep {
                op: TailnetOp::RevokeKey,
                id: None,
                name: ts.tags.join(","),
                reason: "once the node has joined (or if up fails): the copy in user-data and the metadata service becomes worthless".into(),
            });
        }
        return out;
    }
    let Some(server) = staying else {
        // The server is being deleted (not a converge case) or absent.
        return out;
    };
    let since = node::timestamp(&server.created);
    let current = since.and_then(|s| node::node_since(&devices, s, CLOCK_SKEW));
    for d in &devices {
        if Some(d.id.as_str()) != current.map(|c| c.id.as_str()) {
            out.steps.push(delete(
                d,
                format!(
                    "stale: not the node of server #{} (created {}, before the server)",
                    server.id, d.created
                ),
            ));
        }
    }
    match current {
        Some(c) => {
            for id in &observed.leftover_keys {
                out.steps.push(revoke_leftover(
                    id,
                    "minted by an earlier run that did not get to revoke it; the node has joined",
                ));
            }
            if !c.key_expiry_disabled {
                out.steps.push(TailnetStep {
                    op: TailnetOp::DisableKeyExpiry,
                    id: Some(c.id.clone()),
                    name: c.name.clone(),
                    reason: "its node key would expire and drop the server off the tailnet"
                        .into(),
                });
            }
            if !c.dns_label().eq_ignore_ascii_case(&ts.hostname) {
                out.warnings.push(format!(
                    "the node registered as {} (another device held {} when it joined); MagicDNS name {}.{} is not it. `clawprov up --replace` registers it anew with the exact name",
                    c.dns_label(), ts.hostname, ts.hostname, ts.tailnet
                ));
            }
            out.node = Some(c.clone());
        }
        None if !observed.leftover_keys.is_empty() => {
            // A run created the server and stopped before its node joined:
            // the key in its user-data is still valid, so keep waiting.
            out.steps.push(TailnetStep {
                op: TailnetOp::AwaitJoin,
                id: None,
                name: ts.hostname.clone(),
                reason: format!(
                    "server #{} was created by a run that did not finish and its key is still valid: wait for the node",
                    server.id
                ),
            });
            out.steps.push(TailnetStep {
                op: TailnetOp::DisableKeyExpiry,
                id: None,
                name: ts.hostname.clone(),
                reason: "a server must not drop off the tailnet when its node key expires (180 days)".into(),
            });
            for id in &observed.leftover_keys {
                out.steps.push(revoke_leftover(id, "once the node has joined"));
            }
        }
        None => out.warnings.push(format!(
            "server #{} has no device on the tailnet (hostname {}, tags {}); the host phase cannot reach it. If it never joined, see `clawprov status`; `clawprov rotate tailscale-key` re-joins a node that can still be reached",
            server.id,
            ts.hostname,
            ts.tags.join(",")
        )),
    }
    out
}

/// `auth: auth_key`: an ephemeral key is refused (the node would be deleted
/// whenever it is offline, e.g. a reboot); a reusable or long-lived one
/// works but is warned about.
fn judge_provided_key(observed: &TailnetObserved, out: &mut TailnetPlan) {
    let Some(key) = &observed.provided_key else {
        if let Some(unseen) = &observed.provided_key_unseen {
            out.warnings.push(format!(
                "{}. So clawprov can check neither that it works nor what it allows, and cannot revoke it after the deploy: once the node has joined, revoke it yourself in the Tailscale admin console (Settings -> Keys{}), or use tailscale.auth: oauth (a single-use key minted per deploy and revoked once used)",
                unseen.reason,
                unseen
                    .id
                    .as_deref()
                    .map(|id| format!(", key {id}"))
                    .unwrap_or_default()
            ));
        }
        return;
    };
    if key.invalid {
        out.refusal = Some(format!(
            "the vault's tailscale_auth_key (key {}) is invalid: revoked, expired or spent. Mint a new one, or set tailscale.auth: oauth to have clawprov mint one per deploy",
            key.id
        ));
        return;
    }
    let caps = key.create_caps().unwrap_or_default();
    if caps.ephemeral {
        out.refusal = Some(format!(
            "the vault's tailscale_auth_key (key {}) is ephemeral: the node would be deleted from the tailnet whenever it is offline (a reboot). Use a non-ephemeral key, or tailscale.auth: oauth",
            key.id
        ));
        return;
    }
    if caps.reusable {
        out.warnings.push(format!(
            "the vault's tailscale_auth_key (key {}) is reusable: anyone who reads it from the server's metadata service can join more machines. Prefer tailscale.auth: oauth (a single-use key per deploy)",
            key.id
        ));
    }
    let expires = key.expires.as_deref().and_then(node::timestamp);
    if let (Some(e), Some(now)) = (expires, observed.at) {
        if e - now > LONG_LIVED {
            out.warnings.push(format!(
                "the vault's tailscale_auth_key (key {}) is valid until {}: it stays usable long after this deploy. Prefer tailscale.auth: oauth (a key valid for an hour, revoked once used)",
                key.id,
                key.expires.as_deref().unwrap_or("?")
            ));
        }
    }
}

/// Ask the Tailscale API about a stack: its devices and the keys it minted
/// (two list requests and one read per listed key, see
/// [`crate::tailscale::Tailscale::keys_in_detail`]) and, for a provided key,
/// that key (one more).
pub async fn observe(
    ts: &crate::tailscale::Tailscale,
    stack: &Stack,
    provided_key: Option<&crate::secrets::Secret>,
) -> Result<TailnetObserved, crate::tailscale::TailscaleError> {
    let all = ts.list_devices().await?;
    let devices = node::of_stack(&all, &stack.tailscale.hostname, &stack.tailscale.tags)
        .into_iter()
        .cloned()
        .collect();
    let (mut seen, mut unseen) = (None, None);
    if let Some(k) = provided_key.filter(|_| stack.tailscale.auth == TailscaleAuth::AuthKey) {
        let id = crate::tailscale::keys::key_id_of(k.expose());
        seen = match id {
            Some(id) => ts.get_key(id).await?,
            None => None,
        };
        if seen.is_none() {
            unseen = Some(UnseenKey::new(id, ts.credentials().describe()));
        }
    }
    let listed = ts.keys_in_detail().await?;
    Ok(TailnetObserved {
        devices,
        provided_key: seen,
        provided_key_unseen: unseen,
        leftover_keys: listed.live_for(&stack.name),
        unread_keys: listed.unread_note(&stack.name),
        at: Some(OffsetDateTime::now_utc()),
    })
}

/// The tailnet half of a teardown: every device of the stack goes.
pub fn teardown(observed: Option<&TailnetObserved>) -> TailnetPlan {
    let Some(observed) = observed else {
        return TailnetPlan {
            warnings: vec!["no Tailscale API credentials in the vault: the node's device stays in the tailnet (delete it in the admin console)".into()],
            ..TailnetPlan::default()
        };
    };
    let mut plan = TailnetPlan {
        managed: true,
        steps: observed
            .devices
            .iter()
            .map(|d| TailnetStep {
                op: TailnetOp::DeleteDevice,
                id: Some(d.id.clone()),
                name: d.name.clone(),
                reason: format!(
                    "device of the stack's node ({}, {})",
                    d.addresses
                        .first()
                        .map(String::as_str)
                        .unwrap_or("no address"),
                    if d.online() { "online" } else { "offline" }
                ),
            })
            .collect(),
        ..TailnetPlan::default()
    };
    for id in &observed.leftover_keys {
        plan.steps
            .push(revoke_leftover(id, "minted for the stack and still valid"));
    }
    plan.warnings.extend(observed.unread_keys.clone());
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hetzner::{Protection, ServerStatus};
    use crate::tailscale::Device;

    fn stack(auth: &str) -> Stack {
        let yaml = format!(
            "name: t\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: gw\n  tags: [tag:openclaw]\n  auth: {auth}\n"
        );
        crate::stack::parse(yaml.as_bytes(), std::path::Path::new("t.yaml")).unwrap()
    }

    fn server(created: &str) -> Server {
        Server {
            id: 7,
            name: "gw".into(),
            status: ServerStatus::Running,
            labels: Default::default(),
            ipv4: None,
            ipv6: None,
            protection: Protection::default(),
            firewall_ids: vec![],
            firewalls_pending: vec![],
            rescue_enabled: false,
            iso: None,
            server_type: "cx22".into(),
            location: "nbg1".into(),
            image: None,
            created: created.into(),
            backups_enabled: false,
        }
    }

    fn device(id: &str, name: &str, created: &str, expiry_off: bool) -> Device {
        Device {
            id: id.into(),
            name: format!("{name}.tail1234.ts.net"),
            hostname: "gw".into(),
            tags: vec!["tag:openclaw".into()],
            created: created.into(),
            key_expiry_disabled: expiry_off,
            connected_to_control: Some(true),
            addresses: vec!["100.64.0.9".into()],
            ..Device::default()
        }
    }

    fn server_step(op: Op) -> Vec<Step> {
        vec![Step::new(Resource::Server, "gw", Some(7), op)]
    }

    fn ops(p: &TailnetPlan) -> Vec<(TailnetOp, Option<&str>)> {
        p.steps.iter().map(|s| (s.op, s.id.as_deref())).collect()
    }

    #[test]
    fn a_new_or_replaced_server_clears_every_device_of_the_stack_first() {
        let seen = TailnetObserved {
            devices: vec![
                device("1", "gw", "2026-11-01T00:00:00Z", true),
                device("2", "gw-1", "2026-11-02T00:00:00Z", false),
            ],
            ..TailnetObserved::default()
        };
        for op in [Op::Create, Op::Replace] {
            let p = plan(
                &stack("oauth"),
                &server_step(op),
                &[server("2026-11-01T00:00:00Z")],
                Some(&seen),
            );
            assert_eq!(
                ops(&p),
                [
                    (TailnetOp::DeleteDevice, Some("1")),
                    (TailnetOp::DeleteDevice, Some("2")),
                    (TailnetOp::MintKey, None),
                    (TailnetOp::AwaitJoin, None),
                    (TailnetOp::DisableKeyExpiry, None),
                    (TailnetOp::RevokeKey, None),
                ],
                "{op:?}"
            );
            assert!(p.mints() && p.awaits_join() && p.refusal.is_none());
        }
        // A provided key: no mint, no revoke; the devices still go.
        let p = plan(
            &stack("auth_key"),
            &server_step(Op::Create),
            &[],
            Some(&seen),
        );
        assert!(!p.mints());
        assert_eq!(p.deletes(), ["1", "2"]);
    }

    #[test]
    fn a_standing_server_keeps_its_node_and_loses_older_devices() {
        let seen = TailnetObserved {
            devices: vec![
                device("old", "gw", "2026-11-30T00:00:00Z", true),
                device("node", "gw-1", "2026-12-01T10:01:00Z", false),
            ],
            ..TailnetObserved::default()
        };
        let s = server("2026-12-01T10:00:00Z");
        let p = plan(
            &stack("oauth"),
            &server_step(Op::NoOp),
            std::slice::from_ref(&s),
            Some(&seen),
        );
        assert_eq!(
            ops(&p),
            [
                (TailnetOp::DeleteDevice, Some("old")),
                (TailnetOp::DisableKeyExpiry, Some("node")),
            ]
        );
        assert_eq!(p.node.as_ref().unwrap().id, "node");
        assert!(
            p.warnings.iter().any(|w| w.contains("registered as gw-1")),
            "{:?}",
            p.warnings
        );
        // Nothing of the stack on the tailnet: a warning, no step.
        let empty = TailnetObserved::default();
        let p = plan(&stack("oauth"), &server_step(Op::NoOp), &[s], Some(&empty));
        assert!(p.steps.is_empty() && p.node.is_none());
        assert!(p.warnings[0].contains("has no device on the tailnet"));
    }

    #[test]
    fn keys_left_valid_by_an_earlier_run_are_revoked_or_waited_on() {
        let s = server("2026-12-01T10:00:00Z");
        let stale_key = TailnetObserved {
            leftover_keys: vec!["kOld".into()],
            ..TailnetObserved::default()
        };
        // The server stands and its node never joined: wait, then revoke.
        let p = plan(
            &stack("oauth"),
            &server_step(Op::NoOp),
            std::slice::from_ref(&s),
            Some(&stale_key),
        );
        assert_eq!(
            ops(&p),
            [
                (TailnetOp::AwaitJoin, None),
                (TailnetOp::DisableKeyExpiry, None),
                (TailnetOp::RevokeKey, Some("kOld")),
            ]
        );
        assert!(p.awaits_join() && !p.mints() && p.warnings.is_empty());
        // The node is there: just revoke.
        let joined = TailnetObserved {
            devices: vec![device("n", "gw", "2026-12-01T10:01:00Z", true)],
            leftover_keys: vec!["kOld".into()],
            ..TailnetObserved::default()
        };
        let p = plan(&stack("oauth"), &server_step(Op::NoOp), &[s], Some(&joined));
        assert_eq!(ops(&p), [(TailnetOp::RevokeKey, Some("kOld"))]);
        // A new server: revoked before the mint.
        let p = plan(
            &stack("oauth"),
            &server_step(Op::Create),
            &[],
            Some(&stale_key),
        );
        assert_eq!(p.steps[0].op, TailnetOp::RevokeKey);
        assert_eq!(p.leftover_revokes(), ["kOld"]);
        // destroy revokes them too.
        assert_eq!(teardown(Some(&stale_key)).leftover_revokes(), ["kOld"]);
    }

    #[test]
    fn without_credentials_the_plan_only_warns() {
        let p = plan(&stack("auth_key"), &server_step(Op::Create), &[], None);
        assert!(!p.managed && p.steps.is_empty());
        assert!(p.warnings[0].contains("no Tailscale API credentials"));
        let t = teardown(None);
        assert!(t.steps.is_empty() && !t.warnings.is_empty());
    }

    #[test]
    fn provided_keys_ephemeral_or_spent_are_refused_reusable_or_long_lived_warned() {
        let now = node::timestamp("2026-12-01T10:00:00Z");
        let key = |caps: serde_json::Value, invalid: bool, expires: &str| TailnetObserved {
            provided_key: Some(AuthKey {
                id: "kX".into(),
                invalid,
                expires: Some(expires.into()),
                capabilities: Some(serde_json::json!({"devices": {"create": caps}})),
                ..AuthKey::default()
            }),
            at: now,
            ..TailnetObserved::default()
        };
        let st = stack("auth_key");
        let steps = server_step(Op::Create);
        let soon = "2026-12-01T11:00:00Z";
        let p = plan(
            &st,
            &steps,
            &[],
            Some(&key(serde_json::json!({"ephemeral": true}), false, soon)),
        );
        assert!(p.refusal.unwrap().contains("ephemeral"));
        let p = plan(
            &st,
            &steps,
            &[],
            Some(&key(serde_json::json!({}), true, soon)),
        );
        assert!(p.refusal.unwrap().contains("invalid"));
        let p = plan(
            &st,
            &steps,
            &[],
            Some(&key(
                serde_json::json!({"reusable": true}),
                false,
                "2027-03-01T00:00:00Z",
            )),
        );
        assert!(p.refusal.is_none());
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        let p = plan(
            &st,
            &steps,
            &[],
            Some(&key(
                serde_json::json!({"preauthorized": true}),
                false,
                soon,
            )),
        );
        assert!(
            p.refusal.is_none() && p.warnings.is_empty(),
            "{:?}",
            p.warnings
        );
        // Not shown to the credential (a key a person made): a warning
        // that says so, names the key and the admin console step.
        let unseen = TailnetObserved {
            provided_key_unseen: Some(UnseenKey::new(Some("kUser1CNTRL"), "OAuth client")),
            ..TailnetObserved::default()
        };
        let p = plan(&st, &steps, &[], Some(&unseen));
        assert!(p.refusal.is_none());
        let w = &p.warnings[0];
        for part in [
            "does not show key kUser1CNTRL",
            "to this OAuth client",
            "a key a person made",
            "cannot revoke it",
            "once the node has joined, revoke it yourself in the Tailscale admin console (Settings -> Keys, key kUser1CNTRL)",
        ] {
            assert!(w.contains(part), "{part:?} in {w}");
        }
        let p = plan(&st, &steps, &[], Some(&TailnetObserved::default()));
        assert!(p.warnings.is_empty(), "no key to judge: {:?}", p.warnings);
    }
}
