//! The simulator's HTTP face: auth, read-only tokens, rate-limit headers and
//! 429s, the error envelope, Link headers, the request log, and the fault
//! knobs (dropped connections, create-then-timeout, seeded error mix).

use std::net::SocketAddr;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use clawprov::sim::{self, Faults, RateLimit, SimConfig, SimServer, DEFAULT_TOKEN};

mod sim_common;

async fn start(config: SimConfig) -> SimServer {
    sim::serve(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator binds")
}

async fn get(server: &SimServer, token: &str, path: &str) -> reqwest::Response {
    Client::new()
        .get(format!("{}{path}", server.endpoint()))
        .bearer_auth(token)
        .send()
        .await
        .expect("answer")
}

async fn post(
    server: &SimServer,
    token: &str,
    path: &str,
    body: Value,
) -> reqwest::Result<reqwest::Response> {
    Client::new()
        .post(format!("{}{path}", server.endpoint()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
}

async fn error_code(r: reqwest::Response) -> String {
    let v: Value = r.json().await.expect("json envelope");
    v["error"]["code"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn auth_and_read_only_tokens() {
    let server = start(SimConfig {
        readonly_tokens: vec!["ro".into()],
        ..SimConfig::default()
    })
    .await;
    let r = Client::new()
        .get(format!("{}/servers", server.endpoint()))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers().contains_key("ratelimit-limit"),
        "headers on every response"
    );
    assert_eq!(error_code(r).await, "unauthorized");
    assert_eq!(
        get(&server, "wrong", "/servers").await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(&server, "ro", "/servers").await.status(),
        StatusCode::OK
    );
    let r = post(
        &server,
        "ro",
        "/ssh_keys",
        json!({"name": "k", "public_key": sim_common::fake_ed25519(1)}),
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(r).await, "token_readonly");
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let server = start(SimConfig {
        rate_limit: RateLimit {
            capacity: 3,
            refill_per_second: 0.0,
        },
        ..SimConfig::default()
    })
    .await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let r = get(&server, DEFAULT_TOKEN, "/locations").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["ratelimit-limit"], "3");
        assert!(r.headers()["ratelimit-reset"]
            .to_str()
            .unwrap_or("")
            .parse::<u64>()
            .is_ok());
        remaining.push(
            r.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let r = get(&server, DEFAULT_TOKEN, "/locations").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["ratelimit-remaining"], "0");
    assert_eq!(error_code(r).await, "rate_limit_exceeded");
    server.sim.set_rate_limit(RateLimit {
        capacity: 10,
        refill_per_second: 1.0,
    });
    let r = get(&server, DEFAULT_TOKEN, "/locations").await;
    assert_eq!(r.status(), StatusCode::OK, "a new limit starts full");
    assert_eq!(r.headers()["ratelimit-remaining"], "9");
}

#[tokio::test]
async fn pages_have_meta_and_link_headers() {
    let server = start(SimConfig::default()).await;
    for i in 0..5 {
        let r = post(&server, DEFAULT_TOKEN, "/ssh_keys",
                     json!({"name": format!("k{i}"), "public_key": sim_common::fake_ed25519(i), "labels": {"a": "b"}}))
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = get(
        &server,
        DEFAULT_TOKEN,
        "/ssh_keys?label_selector=a%3Db&per_page=2&page=2",
    )
    .await;
    let link = r.headers()["link"].to_str().unwrap_or_default().to_string();
    let host = server.addr;
    assert_eq!(
        link,
        format!(
            "<http://{host}/v1/ssh_keys?label_selector=a%3Db&page=1&per_page=2>; rel=\"prev\", \
             <http://{host}/v1/ssh_keys?label_selector=a%3Db&page=3&per_page=2>; rel=\"next\", \
             <http://{host}/v1/ssh_keys?label_selector=a%3Db&page=3&per_page=2>; rel=\"last\""
        )
    );
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        v["meta"]["pagination"],
        json!({"page": 2, "per_page": 2, "previous_page": 1, "next_page": 3,
                                               "last_page": 3, "total_entries": 5})
    );
    assert_eq!(v["ssh_keys"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn envelope_for_bad_json_and_unknown_routes() {
    let server = start(SimConfig::default()).await;
    let r = Client::new()
        .post(format!("{}/ssh_keys", server.endpoint()))
        .bearer_auth(DEFAULT_TOKEN)
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(r).await, "json_error");
    let r = get(&server, DEFAULT_TOKEN, "/volcanoes").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["code"], "not_found");
    assert!(v["error"]["details"].is_object());
    let log = server.request_log();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str(), log[0].status),
        ("POST", "/v1/ssh_keys", 400)
    );
    assert_eq!(
        (log[1].path.as_str(), log[1].status),
        ("/v1/volcanoes", 404)
    );
}

#[tokio::test]
async fn dropped_connections_get_no_answer() {
    let server = start(SimConfig {
        faults: Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let r = Client::new()
        .get(format!("{}/servers", server.endpoint()))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await;
    let e = r.expect_err("no response on a dropped connection");
    assert!(!e.is_status() && e.status().is_none(), "{e:?}");
    assert_eq!(server.request_log()[0].status, 0);
    // The server survives and answers once faults are off.
    server.sim.set_faults(Faults::default());
    assert_eq!(
        get(&server, DEFAULT_TOKEN, "/servers").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_create_can_time_out_after_it_succeeded() {
    let server = start(SimConfig {
        faults: Faults {
            create_timeout_after_success: 1.0,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let r = post(
        &server,
        DEFAULT_TOKEN,
        "/ssh_keys",
        json!({"name": "k", "public_key": sim_common::fake_ed25519(1)}),
    )
    .await
    .expect("answer");
    assert_eq!(r.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(error_code(r).await, "timeout");
    let v: Value = get(&server, DEFAULT_TOKEN, "/ssh_keys?name=k")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        v["ssh_keys"].as_array().map(Vec::len),
        Some(1),
        "the key exists although the client saw a timeout"
    );
}

async fn statuses(seed: u64) -> Vec<u16> {
    let server = start(SimConfig {
        seed,
        faults: Faults {
            error_rate: 0.3,
            ..Faults::default()
        },
        ..SimConfig::default()
    })
    .await;
    let client = Client::new();
    let mut out = Vec::new();
    for _ in 0..60 {
        let r = client
            .get(format!("{}/locations", server.endpoint()))
            .bearer_auth(DEFAULT_TOKEN)
            .send()
            .await
            .expect("answer");
        out.push(r.status().as_u16());
    }
    out
}

#[tokio::test]
async fn seeded_faults_repeat_exactly() {
    let a = statuses(11).await;
    assert_eq!(a, statuses(11).await);
    assert_ne!(a, statuses(12).await);
    let failed: Vec<u16> = a.iter().copied().filter(|s| *s != 200).collect();
    assert!(!failed.is_empty() && failed.len() < 40, "{a:?}");
    assert!(
        failed.iter().all(|s| [409, 500, 502, 504].contains(s)),
        "{failed:?}"
    );
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let server = start(SimConfig {
        latency: std::time::Duration::from_millis(150),
        ..SimConfig::default()
    })
    .await;
    let t = std::time::Instant::now();
    assert_eq!(
        get(&server, DEFAULT_TOKEN, "/locations").await.status(),
        StatusCode::OK
    );
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(150),
        "answered before the configured latency"
    );
}
