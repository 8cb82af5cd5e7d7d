//! Lists follow every page (50 per page) and pass label selectors through.

mod hetzner_common;

use clawprov::sim::SimConfig;
use hetzner_common::*;

#[tokio::test]
async fn lists_over_120_items_follow_all_pages_with_the_selector() {
    let server = start(SimConfig {
        action_duration: std::time::Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let h = client(&server, 5);
    for i in 0..125 {
        h.create_firewall(&format!("a-{i:03}"), &outbound_rules(), &labels("a"))
            .await
            .expect("create");
    }
    for i in 0..5 {
        h.create_firewall(&format!("b-{i}"), &outbound_rules(), &labels("b"))
            .await
            .expect("create");
    }
    server.sim.clear_request_log();

    let a = h.list_firewalls("clawprov/stack=a").await.expect("list a");
    assert_eq!(a.len(), 125);
    assert!(a.iter().all(|f| f.name.starts_with("a-")));
    let mut names: Vec<_> = a.iter().map(|f| f.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 125, "no page read twice");

    let log = server.request_log();
    let pages: Vec<_> = log.iter().map(|r| r.path.clone()).collect();
    assert_eq!(pages.len(), 3, "{pages:?}");
    for (i, p) in pages.iter().enumerate() {
        assert!(p.contains(&format!("page={}", i + 1)), "{p}");
        assert!(p.contains("per_page=50"), "{p}");
        assert!(p.contains("label_selector=clawprov%2Fstack%3Da"), "{p}");
    }

    assert_eq!(h.list_firewalls("").await.expect("all").len(), 130);
    assert_eq!(
        h.list_firewalls("clawprov/stack!=a")
            .await
            .expect("not a")
            .len(),
        5
    );
    assert_eq!(
        h.list_firewalls("clawprov/stack in (a,b)")
            .await
            .expect("in")
            .len(),
        130
    );
}
