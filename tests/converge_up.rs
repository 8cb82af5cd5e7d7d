//! `up` against the simulator: a fresh up, a no-op up, a replace, and runs
//! killed at random points that the next run converges without duplicates.

mod converge_common;

use std::time::Duration;

use clawprov::plan::{Op, Resource};
use converge_common::*;
use rand::{Rng, SeedableRng};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_up_creates_three_labelled_resources_with_the_firewall_attached_at_create() {
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ""));
    let done = f.up(&h).await;
    assert_eq!(count(&sim, "demo"), (1, 1, 1));
    let server = done.server.expect("server");
    assert_eq!(server.status, "running");

    let (desired, ud) = f.desired();
    sim.sim.with(|w| {
        let s = w.servers.values().next().expect("server");
        assert_eq!(s.name, "gw-demo");
        assert_eq!(
            s.labels.get("clawprov/stack").map(String::as_str),
            Some("demo")
        );
        assert_eq!(
            s.labels.get("clawprov/managed").map(String::as_str),
            Some("true")
        );
        assert_eq!(
            s.labels.get("clawprov/user-data"),
            Some(&desired.server.user_data_fingerprint)
        );
        assert!(s.labels.values().all(|v| v.len() <= 63));
        assert_eq!(s.user_data.as_deref(), Some(ud.expose()));
        let fw = w.firewalls.values().next().expect("firewall");
        assert!(fw.rules.is_empty(), "firewall has rules: {:?}", fw.rules);
        assert_eq!(w.firewalls_of_server(s.id), vec![fw.id]);
        let key = w.ssh_keys.values().next().expect("key");
        assert_eq!(s.ssh_keys, vec![key.id]);
    });
    // Attached in the create request: nothing applied it afterwards.
    let m = mutations(&sim);
    assert!(
        !m.iter().any(|r| r.contains("apply_to_resources")),
        "firewall applied after create: {m:?}"
    );
    assert_eq!(
        m.iter()
            .filter(|r| r.starts_with("POST /v1/servers"))
            .count(),
        1,
        "{m:?}"
    );
    // No secret but the auth key went to Hetzner, and not in a label.
    sim.sim.with(|w| {
        for s in w.servers.values() {
            assert!(!format!("{:?}", s.labels).contains("canary"));
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_up_sends_no_mutating_request() {
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ""));
    f.up(&h).await;
    sim.sim.clear_request_log();
    let plan = f.plan(&h).await;
    assert!(plan.is_noop(), "{}", plan.table());
    let again = f.up(&h).await;
    assert!(again.executed.is_empty(), "{:?}", again.executed);
    assert_eq!(mutations(&sim), Vec::<String>::new());
    assert_eq!(count(&sim, "demo"), (1, 1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_data_change_plans_a_replace_which_converges_to_one_new_server() {
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ""));
    let first = f.up(&h).await.server.expect("server").id;
    let changed = Fixture {
        stack: {
            let mut s = f.stack.clone();
            s.openclaw.port = 18790;
            s
        },
        private_key: f.private_key.clone(),
    };
    let plan = changed.plan(&h).await;
    let replaces = plan.replaces();
    assert_eq!(replaces.len(), 1, "{}", plan.table());
    assert!(replaces[0].reason.contains("user-data changed"));
    let second = changed.up(&h).await.server.expect("server").id;
    assert_ne!(first, second);
    assert_eq!(count(&sim, "demo"), (1, 1, 1));
    assert!(changed.plan(&h).await.is_noop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_runs_killed_at_random_points_each_converge_without_duplicates() {
    let sim = sim().await;
    let h = client(&sim);
    let mut rng = rand::rngs::StdRng::seed_from_u64(20260214);
    let mut interrupted = 0;
    for round in 0..20 {
        let name = format!("k{round}");
        let f = Fixture::new(stack(&name, ""));
        // A fresh up takes ~0.3-0.5 s here; kill it anywhere in there, twice.
        for _ in 0..2 {
            let after = Duration::from_millis(rng.gen_range(0..450));
            if tokio::time::timeout(after, f.up(&h)).await.is_err() {
                interrupted += 1;
            }
        }
        let (k, fw, s) = count(&sim, &name);
        assert!(
            k <= 1 && fw <= 1 && s <= 1,
            "round {round}: duplicates ({k},{fw},{s})"
        );
        let done = f.up(&h).await;
        assert!(done.server.is_some());
        assert_eq!(count(&sim, &name), (1, 1, 1), "round {round}");
        let plan = f.plan(&h).await;
        assert!(plan.is_noop(), "round {round}: {}", plan.table());
        assert!(plan
            .steps
            .iter()
            .all(|s| s.op == Op::NoOp || (s.resource == Resource::Server && s.op == Op::Wait)));
    }
    assert!(
        interrupted >= 10,
        "only {interrupted} runs were interrupted"
    );
}

/// Settings changed behind clawprov's back (backups switched on, the firewall
/// detached from the server) show as one update, and `up` puts them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drifted_backups_and_a_detached_firewall_are_updated_in_place() {
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ""));
    let server = f.up(&h).await.server.expect("server").id;
    h.enable_backups(server)
        .await
        .expect("backups on out of band");
    sim.sim.with(|w| {
        for fw in w.firewalls.values_mut() {
            fw.applied_to.clear();
        }
    });

    let plan = f.plan(&h).await;
    let step = plan
        .steps
        .iter()
        .find(|s| s.resource == Resource::Server)
        .expect("server step");
    assert_eq!(step.op, Op::Update, "{}", plan.table());
    let what: Vec<String> = step.changes.iter().map(|c| c.describe()).collect();
    assert!(
        what.iter().any(|c| c.starts_with("attach firewall")),
        "{what:?}"
    );
    assert!(what.iter().any(|c| c == "disable backups"), "{what:?}");

    sim.sim.clear_request_log();
    f.up(&h).await;
    let sent = mutations(&sim);
    assert!(
        sent.iter()
            .any(|r| r.ends_with("/actions/apply_to_resources")),
        "{sent:?}"
    );
    assert!(
        sent.iter().any(|r| r.ends_with("/actions/disable_backup")),
        "{sent:?}"
    );
    assert!(
        !sent
            .iter()
            .any(|r| r.starts_with("POST /v1/servers ") || r == "POST /v1/servers"),
        "no new server: {sent:?}"
    );
    sim.sim.with(|w| {
        let s = &w.servers[&server];
        assert!(!s.backups);
        assert_eq!(
            w.firewalls
                .values()
                .filter(|fw| !fw.applied_to.is_empty())
                .count(),
            1
        );
    });
    assert!(f.plan(&h).await.is_noop());
    assert_eq!(count(&sim, "demo"), (1, 1, 1));
}
