//! When faults outlast the retry budget, the caller gets an error after a
//! bounded number of attempts that says what failed and what may be left.

mod hetzner_common;

use clawprov::error::Kind;
use clawprov::sim::{Faults, SimConfig};
use hetzner_common::*;

#[tokio::test]
async fn create_under_total_failure_says_what_may_exist() {
    let server = start(SimConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        seed: 3,
        ..SimConfig::default()
    })
    .await;
    let h = client(&server, 3);
    let err = h
        .create_ssh_key("doomed-key", &public_key(), &labels("doomed"))
        .await
        .expect_err("every request fails");
    let text = err.to_string();
    assert!(
        text.starts_with("create ssh key doomed-key failed after "),
        "{text}"
    );
    assert!(err.api_code().is_some(), "names the last API error: {text}");
    let left = err.left_behind().expect("says what may be left behind");
    assert!(left.contains("may have been created"), "{text}");
    assert!(left.contains("clawprov/stack=doomed"), "{text}");
    assert!(
        err.attempts() >= 1 && err.attempts() <= MAX_ATTEMPTS,
        "{text}"
    );
    // Bounded: the creates plus one lookup's retries, nothing more.
    let sent = server.request_log().len() as u32;
    assert!(sent <= 2 * MAX_ATTEMPTS, "{sent} requests");
    assert_eq!(u64::from(sent), h.requests().reads + h.requests().mutations);
    let e: clawprov::error::Error = err.into();
    assert_eq!(e.kind(), Kind::Failed);
}

#[tokio::test]
async fn reads_and_deletes_give_up_after_the_budget() {
    let server = start(SimConfig {
        faults: Faults {
            error_rate: 1.0,
            ..Faults::default()
        },
        seed: 4,
        ..SimConfig::default()
    })
    .await;
    let h = client(&server, 4);
    let err = h.list_servers("clawprov/stack=x").await.expect_err("fails");
    assert_eq!(err.attempts(), MAX_ATTEMPTS, "{err}");
    assert_eq!(server.request_log().len() as u32, MAX_ATTEMPTS);
    assert!(
        err.to_string()
            .contains("list servers (clawprov/stack=x) failed after 10 attempt(s)"),
        "{err}"
    );

    let err = h.delete_server(42).await.expect_err("fails");
    assert_eq!(
        err.left_behind(),
        Some("server 42 may still exist"),
        "{err}"
    );
    assert_eq!(server.request_log().len() as u32, 2 * MAX_ATTEMPTS);
}
