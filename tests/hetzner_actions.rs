//! Action waits report progress and end at their deadline with a note of
//! what exists.

mod hetzner_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawprov::hetzner::{ActionProgress, ActionStatus, Hetzner, HetznerError};
use clawprov::secrets::Secret;
use clawprov::sim::{SimConfig, DEFAULT_TOKEN};
use hetzner_common::*;

#[tokio::test]
async fn progress_is_reported_until_success() {
    let server = start(SimConfig {
        action_duration: Duration::from_millis(400),
        ..SimConfig::default()
    })
    .await;
    let seen: Arc<Mutex<Vec<ActionProgress>>> = Arc::default();
    let sink = seen.clone();
    let h = client(&server, 8).with_progress(move |p| sink.lock().unwrap().push(p.clone()));
    h.create_server(&server_spec("progress", vec![], vec![], labels("p")))
        .await
        .expect("create");
    let seen = seen.lock().unwrap();
    let create: Vec<_> = seen
        .iter()
        .filter(|p| p.command == "create_server")
        .collect();
    assert!(
        create.len() >= 2,
        "several observations while running: {seen:?}"
    );
    assert_eq!(
        create.first().map(|p| p.status),
        Some(ActionStatus::Running)
    );
    assert_eq!(create.last().map(|p| p.status), Some(ActionStatus::Success));
    assert_eq!(create.last().map(|p| p.progress), Some(100));
}

#[tokio::test]
async fn a_wait_past_its_deadline_says_what_exists() {
    let server = start(SimConfig {
        action_duration: Duration::from_secs(30),
        ..SimConfig::default()
    })
    .await;
    let mut opts = fast_options(9);
    opts.action_deadline = Duration::from_millis(300);
    let h = Hetzner::with_options(Some(server.endpoint()), Secret::new(DEFAULT_TOKEN), opts)
        .expect("client");
    let err = h
        .create_server(&server_spec("slow", vec![], vec![], labels("slow")))
        .await
        .expect_err("deadline");
    assert!(matches!(err, HetznerError::Deadline { .. }), "{err}");
    let left = err.left_behind().expect("left behind");
    assert!(
        left.contains("(slow) exists with labels clawprov/managed=true,clawprov/stack=slow"),
        "{err}"
    );
}
