//! Many clients with one token share one limiter: twenty "stacks" at once
//! against a small bucket all finish, and the limiter keeps 429s rare
//! (they would be retried anyway; none reaches the caller).

mod hetzner_common;

use clawprov::sim::{RateLimit, SimConfig};
use hetzner_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_clients_one_token_share_the_bucket() {
    let server = start(SimConfig {
        rate_limit: RateLimit {
            capacity: 30,
            refill_per_second: 10.0,
        },
        action_duration: std::time::Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let h = client(&server, 100 + i);
        tasks.push(tokio::spawn(async move {
            let stack = format!("shared-{i}");
            for _ in 0..3 {
                h.list_servers(&format!("clawprov/stack={stack}")).await?;
            }
            h.create_firewall(&stack, &outbound_rules(), &labels(&stack))
                .await?;
            Ok::<_, clawprov::hetzner::HetznerError>(h.requests())
        }));
    }
    let mut total_429 = 0;
    for t in tasks {
        let counts = t.await.expect("task").expect("no error reaches the caller");
        total_429 += counts.rate_limited;
    }
    let log = server.request_log();
    let answered_429 = log.iter().filter(|r| r.status == 429).count() as u64;
    assert_eq!(answered_429, total_429);
    assert!(log.len() >= 80, "{}", log.len());
    assert!(
        answered_429 * 10 <= log.len() as u64,
        "the shared limiter should keep 429s under 10%: {answered_429} of {}",
        log.len()
    );
    server.sim.with(|w| assert_eq!(w.firewalls.len(), 20));
}
