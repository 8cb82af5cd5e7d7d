//! A create whose answer is lost after it succeeded is adopted, never
//! duplicated: the simulator answers every create with 504 `timeout` after
//! changing its state.

mod hetzner_common;

use clawprov::hetzner::ServerStatus;
use clawprov::sim::{Faults, SimConfig};
use hetzner_common::*;

fn posts_to(server: &clawprov::sim::SimServer, path: &str) -> usize {
    server
        .request_log()
        .iter()
        .filter(|r| r.method == "POST" && r.path.split('?').next() == Some(path))
        .count()
}

#[tokio::test]
async fn timed_out_creates_are_adopted_not_repeated() {
    let server = start(SimConfig {
        faults: Faults {
            create_timeout_after_success: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let h = client(&server, 1);
    let l = labels("adopt");

    let key = h
        .create_ssh_key("adopt-key", &public_key(), &l)
        .await
        .expect("ssh key");
    assert_eq!(key.name, "adopt-key");
    assert_eq!(key.labels, l);
    assert_eq!(
        posts_to(&server, "/v1/ssh_keys"),
        1,
        "the create was not re-sent"
    );

    let fw = h
        .create_firewall("adopt-fw", &outbound_rules(), &l)
        .await
        .expect("firewall");
    assert_eq!(fw.rules, outbound_rules());
    assert_eq!(posts_to(&server, "/v1/firewalls"), 1);

    let name = "adopt-srv";
    let spec = server_spec(name, vec![key.id], vec![fw.id], l.clone());
    let srv = h.create_server(&spec).await.expect("server");
    assert_eq!(srv.status, ServerStatus::Running);
    assert_eq!(srv.firewall_ids, vec![fw.id]);
    assert_eq!(posts_to(&server, "/v1/servers"), 1);

    assert_eq!(h.requests().adopted, 3);
    server.sim.with(|w| {
        assert_eq!(w.ssh_keys.len(), 1);
        assert_eq!(w.firewalls.len(), 1);
        assert_eq!(w.servers.len(), 1);
    });
}
