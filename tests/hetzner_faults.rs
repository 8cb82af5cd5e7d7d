//! Every operation completes against a simulator failing 30 % of requests
//! (5xx, timeout, conflict, dropped connections), hiding 30 % of creates
//! behind a timeout, with a small rate-limit bucket that another client
//! (its own limiter, same token) keeps draining: bounded retries, no
//! duplicates, no 429 reaching the caller.

mod hetzner_common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clawprov::hetzner::{Hetzner, RequestCounts, ServerStatus};
use clawprov::sim::{Faults, RateLimit, SimConfig, SimServer, DEFAULT_TOKEN};
use hetzner_common::*;

async fn lifecycle(h: Hetzner, server: &SimServer, stack: String) {
    let l = labels(&stack);
    let sel = format!("clawprov/stack={stack}");
    let key = h
        .create_ssh_key(&format!("{stack}-key"), &public_key(), &l)
        .await
        .expect("create ssh key");
    let fw = h
        .create_firewall(&format!("{stack}-fw"), &outbound_rules(), &l)
        .await
        .expect("create firewall");
    let name = &format!("{stack}-srv");
    let spec = server_spec(name, vec![key.id], vec![fw.id], l.clone());
    let srv = h.create_server(&spec).await.expect("create server");
    assert_eq!(srv.status, ServerStatus::Running);
    assert_eq!(srv.firewall_ids, vec![fw.id], "firewall applied at create");

    h.set_server_protection(srv.id, true, true)
        .await
        .expect("protect");
    h.enable_backups(srv.id).await.expect("backups");
    assert!(h.get_server(srv.id).await.expect("get").backups_enabled);
    h.disable_backups(srv.id).await.expect("no backups");
    assert!(!h.get_server(srv.id).await.expect("get").backups_enabled);
    let mut rules = outbound_rules();
    rules[0].port = Some("80".into());
    h.set_firewall_rules(fw.id, &rules)
        .await
        .expect("set rules");

    // No duplicates, seen through the client and in the simulator's state.
    assert_eq!(h.list_ssh_keys(&sel).await.expect("list keys").len(), 1);
    assert_eq!(
        h.list_firewalls(&sel).await.expect("list firewalls").len(),
        1
    );
    let servers = h.list_servers(&sel).await.expect("list servers");
    assert_eq!(servers.len(), 1);
    assert!(servers[0].protection.delete && servers[0].protection.rebuild);
    server.sim.with(|w| {
        let named = |n: &str, names: Vec<&String>| names.iter().filter(|x| x.as_str() == n).count();
        assert_eq!(
            named(
                &format!("{stack}-key"),
                w.ssh_keys.values().map(|k| &k.name).collect()
            ),
            1
        );
        assert_eq!(
            named(
                &format!("{stack}-fw"),
                w.firewalls.values().map(|k| &k.name).collect()
            ),
            1
        );
        assert_eq!(
            named(
                &format!("{stack}-srv"),
                w.servers.values().map(|k| &k.name).collect()
            ),
            1
        );
    });

    h.set_server_protection(srv.id, false, false)
        .await
        .expect("unprotect");
    h.delete_server(srv.id).await.expect("delete server");
    h.delete_firewall(fw.id).await.expect("delete firewall");
    h.delete_ssh_key(key.id).await.expect("delete key");
    assert!(h.list_servers(&sel).await.expect("list").is_empty());
    assert!(h.list_firewalls(&sel).await.expect("list").is_empty());
    assert!(h.list_ssh_keys(&sel).await.expect("list").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_percent_faults_and_429_bursts_complete_within_budget() {
    let server = start(SimConfig {
        faults: Faults {
            error_rate: 0.25,
            drop_rate: 0.05,
            create_timeout_after_success: 0.3,
            action_error_rate: 0.0,
        },
        rate_limit: RateLimit {
            capacity: 30,
            refill_per_second: 10.0,
        },
        seed: 20240611,
        ..SimConfig::default()
    })
    .await;
    let server = Arc::new(server);

    // Bursts from elsewhere on the same token (another tool, another
    // machine): raw requests that no limiter in this process sees, draining
    // the server's bucket so that 429s reach the client layer.
    let stop = Arc::new(AtomicBool::new(false));
    let noise = {
        let url = format!("{}/servers", server.endpoint());
        let stop = stop.clone();
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let burst = (0..10).map(|_| http.get(&url).bearer_auth(DEFAULT_TOKEN).send());
                sent += futures_len(burst).await;
                tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
            }
            sent
        })
    };

    let clients: Vec<Hetzner> = (0..3).map(|i| client(&server, i)).collect();
    let mut tasks = Vec::new();
    for (i, h) in clients.iter().enumerate() {
        let h = h.clone();
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            lifecycle(h, &server, format!("faulty-{i}")).await
        }));
    }
    for t in tasks {
        t.await.expect("a stack's lifecycle failed");
    }
    stop.store(true, Ordering::Relaxed);
    let noise_sent = noise.await.expect("noise task");

    let counts: Vec<RequestCounts> = clients.iter().map(|h| h.requests()).collect();
    let log = server.request_log();
    // Every attempt was counted: the clients' counters and the simulator's
    // log agree exactly.
    let sent: u64 = counts.iter().map(|c| c.reads + c.mutations).sum::<u64>() + noise_sent;
    assert_eq!(sent, log.len() as u64, "client counters vs simulator log");

    // Faults and 429s really happened and were absorbed.
    let faulted = log
        .iter()
        .filter(|r| r.status == 0 || r.status >= 500 || r.status == 409)
        .count();
    assert!(
        faulted > 20,
        "too few injected faults to prove anything: {faulted}"
    );
    let limited: u64 = counts.iter().map(|c| c.rate_limited).sum();
    assert!(limited > 0, "no 429 burst was seen");
    let adopted: u64 = counts.iter().map(|c| c.adopted).sum();
    assert!(adopted > 0, "no create was adopted: {counts:?}");

    // Bounded: no request needed more than the policy allows.
    for c in &counts {
        assert!(
            c.max_attempts_per_request <= u64::from(MAX_ATTEMPTS + MAX_RATE_LIMITED),
            "{c:?}"
        );
        assert!(c.retries > 0, "{c:?}");
    }
    eprintln!(
        "counts: {counts:?}, noise: {noise_sent}, log: {} requests, {faulted} faulted",
        log.len()
    );
}

/// Send a burst concurrently; returns how many were sent (answered or not).
async fn futures_len<F>(burst: impl Iterator<Item = F>) -> u64
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let handles: Vec<_> = burst.map(tokio::spawn).collect();
    let n = handles.len() as u64;
    for h in handles {
        let _ = h.await;
    }
    n
}
