use std::collections::BTreeMap;

use super::*;
use crate::hetzner::{
    Direction, Firewall, FirewallRule, Protection, Protocol, Server, ServerStatus, SshKey,
};

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKey op@host";

fn desired() -> Desired {
    let stack: crate::stack::Stack = serde_yaml::from_str(
        "name: demo\ntailscale: {tailnet: tail1.ts.net, hostname: demo-gw}\nhetzner: {backups: false}\n",
    )
    .expect("stack");
    Desired::new(&stack, KEY, "0123456789abcdef0123456789abcdef")
}

fn matching(d: &Desired) -> Observed {
    Observed {
        ssh_keys: vec![SshKey {
            id: 1,
            name: d.ssh_key.name.clone(),
            fingerprint: "aa".into(),
            public_key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKeyKey other-comment".into(),
            labels: d.labels(),
        }],
        firewalls: vec![Firewall {
            id: 2,
            name: d.firewall.name.clone(),
            labels: d.labels(),
            rules: vec![],
            applied_to_servers: vec![3],
            applied_to_selectors: vec![],
        }],
        servers: vec![server(3, d)],
    }
}

fn server(id: i64, d: &Desired) -> Server {
    Server {
        id,
        name: d.server.name.clone(),
        status: ServerStatus::Running,
        labels: d.server_labels(),
        ipv4: Some("203.0.113.1".into()),
        ipv6: None,
        protection: Protection::default(),
        firewall_ids: vec![2],
        firewalls_pending: vec![],
        rescue_enabled: false,
        iso: None,
        server_type: d.server.server_type.clone(),
        location: d.server.location.clone(),
        image: Some(d.server.image.clone()),
        created: "2026-12-01T10:00:00Z".into(),
        backups_enabled: false,
    }
}

fn ops(p: &Plan) -> Vec<(Resource, Op)> {
    p.steps.iter().map(|s| (s.resource, s.op)).collect()
}

#[test]
fn nothing_observed_creates_key_firewall_and_server_in_that_order() {
    let d = desired();
    let p = Plan::converge(&d, &Observed::default());
    assert_eq!(
        ops(&p),
        vec![
            (Resource::SshKey, Op::Create),
            (Resource::Firewall, Op::Create),
            (Resource::Server, Op::Create)
        ]
    );
    assert!(!p.is_noop());
    assert!(p.destructive().is_empty());
}

#[test]
fn matching_resources_give_a_plan_without_mutations() {
    let d = desired();
    let p = Plan::converge(&d, &matching(&d));
    assert!(p.is_noop(), "{}", p.table());
    assert!(p.steps.iter().all(|s| s.op == Op::NoOp));
}

#[test]
fn a_changed_user_data_fingerprint_replaces_the_server() {
    let d = desired();
    let mut o = matching(&d);
    o.servers[0].labels.insert(
        USER_DATA_LABEL.into(),
        "ffffffffffffffffffffffffffffffff".into(),
    );
    let p = Plan::converge(&d, &o);
    let r = p.replaces();
    assert_eq!(r.len(), 1);
    assert!(r[0].reason.contains("user-data changed"), "{}", r[0].reason);
    assert!(!r[0].reason.contains("upgrade"), "{}", r[0].reason);
    assert_eq!(p.destructive().len(), 1);
}

#[test]
fn a_version_change_is_an_upgrade_in_place_on_the_same_server() {
    let d = desired();
    let mut o = matching(&d);
    o.servers[0]
        .labels
        .insert(OPENCLAW_LABEL.into(), "2026.9.5".into());
    let p = Plan::converge(&d, &o);
    assert!(p.replaces().is_empty(), "{}", p.table());
    assert!(p.steps.iter().all(|s| s.op == Op::NoOp), "{}", p.table());
    assert!(!p.is_noop(), "the host change is something to do");
    assert_eq!(p.host.server, Some(3));
    assert_eq!(p.host.changes.len(), 1, "{:?}", p.host);
    let c = &p.host.changes[0];
    assert_eq!(
        (c.field, c.from.as_deref(), c.to.as_str()),
        (
            "openclaw.version",
            Some("2026.9.5"),
            d.server.openclaw_version.as_str()
        )
    );
    assert!(
        c.reason.contains("roll back") && c.reason.contains("~/.openclaw"),
        "{}",
        c.reason
    );
    assert!(p.table().contains("upgrade"), "{}", p.table());

    // No label (a server from before they were written): said, not guessed.
    o.servers[0].labels.remove(NODE_LABEL);
    let p = Plan::converge(&d, &o);
    let node = p
        .host
        .changes
        .iter()
        .find(|c| c.field == "node.version")
        .unwrap();
    assert_eq!(node.from, None);
    assert!(node.reason.contains("not known"), "{}", node.reason);

    // A new or replaced server boots with the pins: nothing for the host.
    o.servers[0].labels.insert(
        USER_DATA_LABEL.into(),
        "ffffffffffffffffffffffffffffffff".into(),
    );
    let p = Plan::converge(&d, &o);
    assert_eq!(p.replaces().len(), 1);
    assert!(p.host.is_empty(), "{:?}", p.host);
    assert!(Plan::converge(&d, &Observed::default()).host.is_empty());
}

#[test]
fn a_foreign_inbound_rule_is_an_update_that_names_it() {
    let d = desired();
    let mut o = matching(&d);
    o.firewalls[0].rules.push(FirewallRule {
        direction: Direction::In,
        protocol: Protocol::Tcp,
        port: Some("22".into()),
        source_ips: vec!["0.0.0.0/0".into()],
        destination_ips: vec![],
        description: None,
    });
    let p = Plan::converge(&d, &o);
    let fw = &p.steps[1];
    assert_eq!((fw.resource, fw.op), (Resource::Firewall, Op::Update));
    assert_eq!(fw.changes, vec![Change::SetRules]);
    assert!(
        fw.reason.contains("in tcp 22 from 0.0.0.0/0"),
        "{}",
        fw.reason
    );
}

#[test]
fn protection_and_backups_differences_are_updates() {
    let mut d = desired();
    d.server.protect_delete = true;
    d.server.backups = true;
    let p = Plan::converge(&d, &matching(&d));
    let s = &p.steps[2];
    assert_eq!(s.op, Op::Update);
    assert!(s.changes.contains(&Change::EnableBackups));
    assert!(s.changes.contains(&Change::Protection {
        delete: true,
        rebuild: false
    }));
}

#[test]
fn duplicates_are_deleted_and_the_named_one_kept() {
    let d = desired();
    let mut o = matching(&d);
    let mut dup = server(9, &d);
    dup.name = "demo-gw-old".into();
    o.servers.insert(0, dup);
    let p = Plan::converge(&d, &o);
    assert_eq!(p.steps[0].op, Op::Delete);
    assert_eq!(p.steps[0].id, Some(9));
    assert!(p.steps.iter().any(|s| s.id == Some(3) && s.op == Op::NoOp));
}

#[test]
fn a_booting_server_is_waited_for() {
    let d = desired();
    let mut o = matching(&d);
    o.servers[0].status = ServerStatus::Starting;
    let p = Plan::converge(&d, &o);
    assert_eq!(p.steps[2].op, Op::Wait);
    assert!(p.is_noop());
}

#[test]
fn teardown_goes_server_firewall_key_and_flags_protection() {
    let d = desired();
    let mut o = matching(&d);
    o.servers[0].protection.delete = true;
    let p = Plan::teardown("demo", &o);
    assert_eq!(
        ops(&p),
        vec![
            (Resource::Server, Op::Delete),
            (Resource::Firewall, Op::Delete),
            (Resource::SshKey, Op::Delete)
        ]
    );
    assert_eq!(p.unprotects().len(), 1);
    assert!(Plan::teardown("demo", &Observed::default())
        .steps
        .is_empty());
}

#[test]
fn labels_fit_hetzner_limits_and_the_selector_is_exact() {
    let d = desired();
    for (k, v) in d.server_labels() {
        assert!(k.len() <= 63 + 9 && v.len() <= 63, "{k}={v}");
    }
    assert_eq!(
        selector("demo"),
        "clawprov/stack=demo,clawprov/managed=true"
    );
    let labels: BTreeMap<_, _> = d.labels();
    assert_eq!(labels.get(STACK_LABEL).map(String::as_str), Some("demo"));
}

/// A config change is an in-place `configure` on the kept server, key by
/// key against the local record when the server's label says it runs that
/// record; without a matching record the keys are not guessed.
#[test]
fn a_config_change_is_configured_in_place_key_by_key() {
    let text = |v: &serde_json::Value| format!("{}\n", serde_json::to_string_pretty(v).unwrap());
    let old = serde_json::json!({"agents": {"defaults": {"model": {"primary": "anthropic/a"}}}});
    let new = serde_json::json!({"agents": {"defaults": {"model": {"primary": "anthropic/b"}}},
        "channels": {"telegram": {"dmPolicy": "pairing"}}});
    let with = |record: Option<serde_json::Value>| {
        desired().with_config(DesiredConfig {
            label: DesiredConfig::label_of(&text(&new)),
            json: new.clone(),
            warnings: vec!["w: weaker".into()],
            last_delivered: record,
        })
    };
    let d = with(Some(old.clone()));
    let mut o = matching(&d);
    o.servers[0]
        .labels
        .insert(CONFIG_LABEL.into(), DesiredConfig::label_of(&text(&old)));
    let p = Plan::converge(&d, &o);
    assert!(p.steps.iter().all(|s| s.op == Op::NoOp), "{}", p.table());
    assert!(!p.is_noop());
    let c = p.host.config.as_ref().expect("a config change");
    let keys: Vec<String> = c.keys.iter().map(ToString::to_string).collect();
    assert_eq!(
        keys,
        [
            "~ agents.defaults.model.primary: \"anthropic/a\" -> \"anthropic/b\"",
            "+ channels: {\"telegram\":{\"dmPolicy\":\"pairing\"}}"
        ]
    );
    let table = p.table();
    assert!(
        table.contains("configure") && table.contains("warning: w: weaker"),
        "{table}"
    );

    // A record that is not what the server runs: no keys, the reason says why.
    let d = with(Some(serde_json::json!({"other": 1})));
    let p = Plan::converge(&d, &o);
    let c = p.host.config.as_ref().expect("a config change");
    assert!(
        c.keys.is_empty() && c.reason.contains("no local record"),
        "{}",
        c.reason
    );

    // The server runs the declared config: nothing to do.
    o.servers[0]
        .labels
        .insert(CONFIG_LABEL.into(), DesiredConfig::label_of(&text(&new)));
    let p = Plan::converge(&with(None), &o);
    assert!(p.host.config.is_none() && p.is_noop(), "{}", p.table());
}

#[test]
fn a_server_labelled_with_the_keyed_fingerprint_is_kept_and_relabelled() {
    // Labelled by a clawprov whose fingerprint still covered the operator
    // keys: the same user-data, so no replace; the host plan relabels it.
    let d = desired().with_keyed_fingerprint("fedcba9876543210fedcba9876543210");
    let mut o = matching(&d);
    o.servers[0].labels.insert(
        USER_DATA_LABEL.into(),
        "fedcba9876543210fedcba9876543210".into(),
    );
    let p = Plan::converge(&d, &o);
    assert!(
        ops(&p).iter().all(|(_, op)| *op == Op::NoOp),
        "{:?}",
        ops(&p)
    );
    let relabel = &p.host.changes;
    assert_eq!(relabel.len(), 1, "{relabel:?}");
    assert_eq!(relabel[0].field, "user-data");
    assert_eq!(relabel[0].to, d.server.user_data_fingerprint);
    // Any other label is still a replace.
    o.servers[0].labels.insert(
        USER_DATA_LABEL.into(),
        "00000000000000000000000000000000".into(),
    );
    let p = Plan::converge(&d, &o);
    assert!(ops(&p).contains(&(Resource::Server, Op::Replace)));
    // And a server of the previous generation is not matched by it.
    o.servers[0].labels.insert(
        USER_DATA_LABEL.into(),
        "fedcba9876543210fedcba9876543210".into(),
    );
    o.servers[0].labels.remove(BOOTSTRAP_LABEL);
    let p = Plan::converge(&d, &o);
    assert!(ops(&p).contains(&(Resource::Server, Op::Replace)));
}

#[test]
fn an_env_change_is_a_host_change_naming_keys_only() {
    let d = desired().with_env(Some(env::EnvChange {
        changed: vec!["anthropic_api_key".into()],
        added: vec![],
        removed: vec![],
    }));
    let p = Plan::converge(&d, &matching(&d));
    let e = p.host.env.as_ref().expect("env change planned");
    assert!(
        e.reason.contains("anthropic_api_key changed"),
        "{}",
        e.reason
    );
    assert!(e.reason.contains("restart the gateway"), "{}", e.reason);
    assert!(!p.host.is_empty());
    // Nothing changed: nothing planned.
    let d = desired().with_env(Some(env::EnvChange::default()));
    assert!(Plan::converge(&d, &matching(&d)).host.env.is_none());
}
