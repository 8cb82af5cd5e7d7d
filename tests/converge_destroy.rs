//! `destroy` removes what carries the stack's labels and nothing else.

mod converge_common;

use std::collections::BTreeMap;

use clawprov::hetzner::ServerSpec;
use clawprov::plan::Plan;
use converge_common::*;

fn foreign_spec<'a>(name: &'a str, labels: BTreeMap<String, String>) -> ServerSpec<'a> {
    ServerSpec {
        name,
        server_type: "cax21",
        location: "fsn1",
        image: "ubuntu-24.04",
        user_data: "#cloud-config\n",
        ssh_key_ids: vec![],
        firewall_ids: vec![],
        labels,
        public_ipv4: true,
        public_ipv6: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_deletes_only_the_stacks_labelled_resources_and_twice_is_a_no_op() {
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ""));
    f.up(&h).await;
    // Similar names, no labels; and a near-miss stack label.
    h.create_server(&foreign_spec("clawprov-demo", BTreeMap::new()))
        .await
        .expect("foreign");
    let other = BTreeMap::from([
        ("clawprov/stack".to_string(), "demo-2".to_string()),
        ("clawprov/managed".to_string(), "true".to_string()),
    ]);
    h.create_server(&foreign_spec("gw-demo-2", other))
        .await
        .expect("other stack");

    let done = f.destroy(&h).await;
    assert_eq!(done.deleted.len(), 3, "{:?}", done.deleted);
    assert!(done.deleted[0].starts_with("server"));
    assert!(done.deleted[1].starts_with("firewall"));
    assert!(done.deleted[2].starts_with("ssh key"));
    assert_eq!(count(&sim, "demo"), (0, 0, 0));
    assert_eq!(count(&sim, "demo-2"), (0, 0, 1));
    let names: Vec<String> = sim
        .sim
        .with(|w| w.servers.values().map(|s| s.name.clone()).collect());
    assert_eq!(
        names,
        vec!["clawprov-demo".to_string(), "gw-demo-2".to_string()]
    );

    sim.sim.clear_request_log();
    let again = f.destroy(&h).await;
    assert!(again.deleted.is_empty());
    assert_eq!(mutations(&sim), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_protected_server_is_flagged_and_needs_unprotect() {
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ", protection: {delete: true}"));
    let up = f.up(&h).await;
    let id = up.server.expect("server").id;
    assert!(sim.sim.with(|w| w.servers[&id].protect_delete));
    let observed = clawprov::plan::observe(&h, "demo").await.expect("observe");
    let plan = Plan::teardown("demo", &observed);
    assert_eq!(plan.unprotects().len(), 1);
    // The teardown (with --unprotect's consent) lifts it, then deletes.
    f.destroy(&h).await;
    assert_eq!(count(&sim, "demo"), (0, 0, 0));
}
