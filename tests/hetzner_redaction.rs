//! The API token never appears in errors or Debug output, whether the API
//! refuses it, fails, or cannot be reached.

mod hetzner_common;

use clawprov::error::Kind;
use clawprov::hetzner::Hetzner;
use clawprov::secrets::Secret;
use clawprov::sim::{Faults, SimConfig};
use hetzner_common::*;

const CANARY: &str =
    "canary-hcloud-token-7d3f9a1be0c24e5f8a6b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} leaks the token: {text}");
    assert!(
        !text.contains("7d3f9a1be0c2"),
        "{what} leaks part of the token: {text}"
    );
}

#[tokio::test]
async fn refused_token_is_bad_input_and_never_printed() {
    let server = start(SimConfig::default()).await;
    let h = Hetzner::with_options(
        Some(server.endpoint()),
        Secret::new(CANARY),
        fast_options(1),
    )
    .expect("client");
    assert_clean("client Debug", &format!("{h:?}"));
    let err = h.list_servers("").await.expect_err("unknown token");
    assert_eq!(err.api_code(), Some("unauthorized"), "{err}");
    assert_eq!(err.attempts(), 1, "a refused token is not retried");
    assert_clean("error Display", &err.to_string());
    assert_clean("error Debug", &format!("{err:?}"));
    let e: clawprov::error::Error = err.into();
    assert_eq!(e.kind(), Kind::BadInput);
    assert_clean("top-level error", &format!("{e} {e:?}"));

    let err = h
        .create_ssh_key("k", &public_key(), &labels("canary"))
        .await
        .expect_err("unknown token");
    assert_clean("create error", &format!("{err} {err:?}"));
}

#[tokio::test]
async fn failures_with_an_accepted_token_never_print_it() {
    let server = start(SimConfig {
        tokens: vec![CANARY.to_string()],
        faults: Faults {
            // Every request fails: some dropped, the rest with an API error.
            error_rate: 1.0,
            drop_rate: 0.3,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let mut failures = 0;
    let mut opts = fast_options(2);
    opts.retry.max_attempts = 3;
    let h =
        Hetzner::with_options(Some(server.endpoint()), Secret::new(CANARY), opts).expect("client");
    for i in 0..5 {
        if let Err(err) = h
            .create_ssh_key(&format!("k{i}"), &public_key(), &labels("canary"))
            .await
        {
            failures += 1;
            assert_clean("create error", &format!("{err} {err:?}"));
        }
        if let Err(err) = h.delete_server(7).await {
            failures += 1;
            assert_clean("delete error", &format!("{err} {err:?}"));
        }
    }
    assert!(
        failures > 0,
        "the faults should have produced at least one error"
    );
}

#[tokio::test]
async fn unreachable_endpoint_errors_never_print_it() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let mut opts = fast_options(3);
    opts.retry.max_attempts = 2;
    let h = Hetzner::with_options(
        Some(format!("http://127.0.0.1:{port}/v1")),
        Secret::new(CANARY),
        opts,
    )
    .expect("client");
    let err = h.list_ssh_keys("").await.expect_err("nothing listens");
    assert_eq!(err.attempts(), 2);
    assert_clean("transport error", &format!("{err} {err:?}"));
}
