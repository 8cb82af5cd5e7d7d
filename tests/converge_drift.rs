//! Drift made with the real `hcloud` CLI: an inbound rule shows in the plan
//! and `up` removes it.

mod converge_common;
mod support;

use clawprov::plan::{Change, Op, Resource};
use clawprov::sim::DEFAULT_TOKEN;
use converge_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_rule_added_with_hcloud_is_planned_and_removed() {
    let hcloud = support::require_tool("hcloud", "hcloud-cli");
    let sim = sim().await;
    let h = client(&sim);
    let f = Fixture::new(stack("demo", ""));
    let fw = f.up(&h).await.firewall.expect("firewall");

    let endpoint = sim.endpoint();
    let home = tempfile::tempdir().expect("home");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(hcloud)
            .env_clear()
            .env("HOME", home.path())
            .env("HCLOUD_ENDPOINT", endpoint)
            .env("HCLOUD_TOKEN", DEFAULT_TOKEN)
            .args([
                "firewall",
                "add-rule",
                &fw.id.to_string(),
                "--direction",
                "in",
                "--protocol",
                "tcp",
                "--port",
                "22",
                "--source-ips",
                "0.0.0.0/0",
            ])
            .output()
            .expect("hcloud runs")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "hcloud failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sim.sim.with(|w| w.firewalls[&fw.id].rules.len()), 1);

    let plan = f.plan(&h).await;
    let step = plan
        .steps
        .iter()
        .find(|s| s.resource == Resource::Firewall)
        .expect("firewall step");
    assert_eq!(step.op, Op::Update, "{}", plan.table());
    assert_eq!(step.changes, vec![Change::SetRules]);
    assert!(
        step.reason.contains("in tcp 22 from 0.0.0.0/0"),
        "{}",
        step.reason
    );

    f.up(&h).await;
    assert!(sim.sim.with(|w| w.firewalls[&fw.id].rules.is_empty()));
    assert!(f.plan(&h).await.is_noop());
}
