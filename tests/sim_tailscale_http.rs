//! The Tailscale simulator over HTTP, on the Hetzner simulator's port:
//! OAuth client credentials (HTTP Basic and form fields), the `{"message"}`
//! envelope with 400/401/403/404, keys created with 200 and shown once,
//! devices made by the control plane's join, 429/500 countdowns then
//! recovery, and requests kept out of Hetzner's rate-limit buckets.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};

use clawprov::sim::tailscale::ClientCredentialsIn;
use clawprov::sim::{
    self, Clock, RateLimit, SimConfig, SimServer, TailscaleFaults, DEFAULT_TOKEN,
    DEFAULT_TS_CLIENT_ID, DEFAULT_TS_CLIENT_SECRET,
};

async fn start(config: SimConfig) -> SimServer {
    sim::serve(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator binds")
}

/// What the other end says: status and JSON body (`Null` when empty).
async fn answer(r: RequestBuilder) -> (StatusCode, Value) {
    let r: Response = r.send().await.expect("answer");
    let status = r.status();
    let text = r.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
    };
    (status, body)
}

/// `(status, message)` of an error answer, insisting on the envelope.
async fn error(r: RequestBuilder) -> (StatusCode, String) {
    let (status, body) = answer(r).await;
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("{status}: {body}"));
    assert_eq!(obj.len(), 1, "only a message: {body}");
    (
        status,
        body["message"].as_str().expect("message").to_string(),
    )
}

struct Ts {
    base: String,
    http: Client,
}

impl Ts {
    fn new(server: &SimServer) -> Self {
        Ts {
            base: server.tailscale_endpoint(),
            http: Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn control(&self, call: &str, body: Value) -> RequestBuilder {
        let root = self.base.trim_end_matches("/api/v2");
        self.http
            .post(format!("{root}/sim/tailscale/{call}"))
            .json(&body)
    }

    /// A token of the default OAuth client, via HTTP Basic.
    async fn token(&self, scope: Option<&str>) -> String {
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(s) = scope {
            form.push(("scope", s));
        }
        let (status, body) = answer(
            self.http
                .post(self.url("/oauth/token"))
                .basic_auth(DEFAULT_TS_CLIENT_ID, Some(DEFAULT_TS_CLIENT_SECRET))
                .form(&form),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_string()
    }

    fn get(&self, token: &str, path: &str) -> RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(token)
    }

    fn post(&self, token: &str, path: &str, body: Value) -> RequestBuilder {
        self.http
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
    }

    fn delete(&self, token: &str, path: &str) -> RequestBuilder {
        self.http.delete(self.url(path)).bearer_auth(token)
    }
}

fn key_body(tags: &[&str], expiry: u64) -> Value {
    json!({
        "capabilities": {"devices": {"create": {
            "reusable": false, "ephemeral": false, "preauthorized": true, "tags": tags}}},
        "expirySeconds": expiry,
        "description": "clawprov gw",
    })
}

#[tokio::test]
async fn oauth_client_credentials_as_basic_or_form_fields() {
    let server = start(SimConfig::default()).await;
    let ts = Ts::new(&server);
    let (status, body) = answer(
        ts.http
            .post(ts.url("/oauth/token"))
            .basic_auth(DEFAULT_TS_CLIENT_ID, Some(DEFAULT_TS_CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["access_token"]
        .as_str()
        .unwrap()
        .starts_with("tskey-api-"));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "auth_keys devices:core");
    assert_eq!(body["tags"], "tag:openclaw");

    let (status, body) = answer(ts.http.post(ts.url("/oauth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", DEFAULT_TS_CLIENT_ID),
        ("client_secret", DEFAULT_TS_CLIENT_SECRET),
        ("scope", "devices:core:read"),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "devices:core:read");

    let (status, _) = error(ts.http.post(ts.url("/oauth/token")).form(&[
        ("client_id", DEFAULT_TS_CLIENT_ID),
        ("client_secret", "tskey-client-wrong"),
    ]))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = error(ts.http.post(ts.url("/oauth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", DEFAULT_TS_CLIENT_ID),
        ("client_secret", DEFAULT_TS_CLIENT_SECRET),
        ("scope", "all"),
    ]))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a scope the client lacks");

    // Form fields only: Basic alone is refused, the fields still work.
    server.sim.with(|w| {
        w.tailscale.config.client_credentials = ClientCredentialsIn::FormOnly;
    });
    let (status, _) = error(
        ts.http
            .post(ts.url("/oauth/token"))
            .basic_auth(DEFAULT_TS_CLIENT_ID, Some(DEFAULT_TS_CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "Basic alone");
    let (status, body) = answer(ts.http.post(ts.url("/oauth/token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", DEFAULT_TS_CLIENT_ID),
        ("client_secret", DEFAULT_TS_CLIENT_SECRET),
    ]))
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn keys_over_http() {
    let server = start(SimConfig::default()).await;
    let ts = Ts::new(&server);
    let token = ts.token(None).await;

    let (status, created) =
        answer(ts.post(&token, "/tailnet/-/keys", key_body(&["tag:openclaw"], 3600))).await;
    assert_eq!(status, StatusCode::OK, "create answers 200: {created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(created["key"]
        .as_str()
        .unwrap()
        .starts_with(&format!("tskey-auth-{id}-")));
    for field in ["created", "expires", "capabilities", "description"] {
        assert!(created.get(field).is_some(), "{field} in {created}");
    }
    let (status, got) = answer(ts.get(&token, &format!("/tailnet/example.com/keys/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(got.get("key").is_none(), "the secret only once: {got}");
    let (_, list) = answer(ts.get(&token, "/tailnet/-/keys")).await;
    assert_eq!(
        list,
        json!({"keys": [{"id": id}]}),
        "ids only, as tailscale-client-go v2 documents the list"
    );
    assert_eq!(got["description"], "clawprov gw", "details come by id");

    // 400s.
    let (status, msg) = error(ts.post(
        &token,
        "/tailnet/-/keys",
        key_body(&["tag:openclaw"], 7_776_001),
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{msg}");
    let (status, msg) =
        error(ts.post(&token, "/tailnet/-/keys", key_body(&["tag:other"], 60))).await;
    assert_eq!(
        (status, msg.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "requested tags [tag:other] are invalid or not permitted"
        )
    );
    let (status, _) = error(ts.post(&token, "/tailnet/-/keys", key_body(&[], 60))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an OAuth key needs tags");
    let (status, _) = error(
        ts.http
            .post(ts.url("/tailnet/-/keys"))
            .bearer_auth(&token)
            .body("{not json"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // 401s: none, unknown; Basic with the token as user works.
    let (status, msg) = error(ts.http.get(ts.url("/tailnet/-/keys"))).await;
    assert_eq!(
        (status, msg.as_str()),
        (StatusCode::UNAUTHORIZED, "API token invalid")
    );
    let (status, _) = error(ts.get("tskey-api-nope", "/tailnet/-/keys")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = answer(
        ts.http
            .get(ts.url("/tailnet/-/keys"))
            .basic_auth(&token, Some("")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // 403: a read-only devices token.
    let reader = ts.token(Some("devices:core:read")).await;
    let (status, msg) =
        error(ts.post(&reader, "/tailnet/-/keys", key_body(&["tag:openclaw"], 60))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(msg.contains("auth_keys"), "names the scope: {msg}");

    // 404s: unknown tailnet, unknown key, a second delete.
    let (status, _) = error(ts.get(&token, "/tailnet/other.org/keys")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = error(ts.get(&token, "/tailnet/-/keys/kNopeCNTRL")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = answer(ts.delete(&token, &format!("/tailnet/-/keys/{id}"))).await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, Value::Null),
        "200, empty body"
    );
    let (status, _) = error(ts.delete(&token, &format!("/tailnet/-/keys/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, got) = answer(ts.get(&token, &format!("/tailnet/-/keys/{id}"))).await;
    assert_eq!(got["invalid"], true);
    assert!(got["revoked"].is_string(), "{got}");
}

#[tokio::test]
async fn devices_come_from_joins_and_obey_the_api() {
    let server = start(SimConfig::default()).await;
    let ts = Ts::new(&server);
    let token = ts.token(None).await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        let (_, k) =
            answer(ts.post(&token, "/tailnet/-/keys", key_body(&["tag:openclaw"], 3600))).await;
        keys.push((
            k["id"].as_str().unwrap().to_string(),
            k["key"].as_str().unwrap().to_string(),
        ));
    }
    let join = |key: &str, machine: &str| json!({"auth_key": key, "hostname": "gw", "advertise_tags": ["tag:openclaw"], "machine": machine});

    let (status, joined) = answer(ts.control("join", join(&keys[0].1, "vm-1"))).await;
    assert_eq!(status, StatusCode::OK, "{joined}");
    let first = joined["device"].clone();
    assert_eq!(first["name"], "gw.tail1234.ts.net");
    assert_eq!(first["hostname"], "gw");
    assert_eq!(first["tags"], json!(["tag:openclaw"]));
    assert_eq!(first["authorized"], true);
    assert_eq!(first["connectedToControl"], true);
    assert_eq!(first["keyExpiryDisabled"], false);
    assert_eq!(first["os"], "linux");
    assert!(first["nodeId"].as_str().unwrap().ends_with("CNTRL"));
    assert!(first["id"]
        .as_str()
        .unwrap()
        .bytes()
        .all(|b| b.is_ascii_digit()));
    let (_, spent) = answer(ts.get(&token, &format!("/tailnet/-/keys/{}", keys[0].0))).await;
    assert_eq!(spent["invalid"], true, "a single-use key is spent: {spent}");
    assert!(
        spent.get("revoked").is_none(),
        "spent is not revoked: {spent}"
    );
    let (status, msg) = error(ts.control("join", join(&keys[0].1, "vm-2"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(msg.starts_with("invalid key: "), "{msg}");

    // A second machine while the first device exists: gw-1.
    let (_, second) = answer(ts.control("join", join(&keys[1].1, "vm-2"))).await;
    assert_eq!(second["device"]["name"], "gw-1.tail1234.ts.net");
    assert_ne!(second["device"]["addresses"], first["addresses"]);
    // The first machine re-auths with a new key: the same device.
    let (_, again) = answer(ts.control("join", join(&keys[2].1, "vm-1"))).await;
    for f in ["id", "nodeId", "name", "addresses"] {
        assert_eq!(again["device"][f], first[f], "{f}");
    }

    let (_, list) = answer(ts.get(&token, "/tailnet/-/devices?hostname=gw")).await;
    assert_eq!(list["devices"].as_array().unwrap().len(), 2);
    let (_, none) = answer(ts.get(&token, "/tailnet/example.com/devices?hostname=other")).await;
    assert_eq!(none, json!({"devices": []}));

    // Offline, then the changes devices:core allows.
    let (_, seen) = answer(ts.control("seen", json!({"machine": "vm-2", "online": false}))).await;
    assert_eq!(seen["device"]["connectedToControl"], false);
    let id = second["device"]["id"].as_str().unwrap();
    for (path, body) in [
        ("key", json!({"keyExpiryDisabled": true})),
        ("tags", json!({"tags": ["tag:openclaw"]})),
        ("authorized", json!({"authorized": true})),
    ] {
        let (status, reply) = answer(ts.post(&token, &format!("/device/{id}/{path}"), body)).await;
        assert_eq!((status, reply), (StatusCode::OK, Value::Null), "{path}");
    }
    let (_, got) = answer(ts.get(&token, &format!("/device/{id}?fields=all"))).await;
    assert_eq!(got["keyExpiryDisabled"], true);
    assert_eq!(got["connectedToControl"], false);
    assert!(got["clientConnectivity"].is_object());

    let reader = ts.token(Some("devices:core:read")).await;
    let (status, msg) = error(ts.delete(&reader, &format!("/device/{id}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(msg.contains("devices:core"), "{msg}");
    let (status, body) = answer(ts.delete(&token, &format!("/device/{id}"))).await;
    assert_eq!((status, body), (StatusCode::OK, Value::Null));
    let (status, _) = error(ts.get(&token, &format!("/device/{id}"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(server.sim.with(|w| w.tailscale.devices().len()), 1);
}

#[tokio::test]
async fn injected_429s_and_500s_then_recovery() {
    let server = start(SimConfig::default()).await;
    let ts = Ts::new(&server);
    let token = ts.token(None).await;
    server.sim.set_tailscale_faults(TailscaleFaults {
        too_many: 2,
        server_errors: 1,
        ..TailscaleFaults::default()
    });
    // The control plane is not the API: not counted.
    let (status, _) = error(ts.control("seen", json!({"machine": "nope", "online": true}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = ts
            .get(&token, "/tailnet/-/devices")
            .send()
            .await
            .expect("answer");
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.headers()["retry-after"], "1");
        }
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json");
        if status != 200 {
            assert!(body["message"].is_string(), "{body}");
        }
        seen.push(status);
    }
    assert_eq!(seen, [429, 429, 500, 200]);
    let log: Vec<(String, u16)> = server
        .request_log()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert!(
        log.contains(&("/api/v2/tailnet/-/devices".to_string(), 429)),
        "{log:?}"
    );
    assert!(
        log.contains(&("/sim/tailscale/seen".to_string(), 404)),
        "{log:?}"
    );
}

#[tokio::test]
async fn tokens_expire_by_the_sim_clock() {
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_119_200));
    let server = start(SimConfig {
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await;
    let ts = Ts::new(&server);
    let token = ts.token(None).await;
    let (_, created) =
        answer(ts.post(&token, "/tailnet/-/keys", key_body(&["tag:openclaw"], 60))).await;
    assert_eq!(created["created"], "2026-12-01T10:00:00Z");
    assert_eq!(created["expires"], "2026-12-01T10:01:00Z");
    clock.advance(Duration::from_secs(3600));
    let (status, msg) = error(ts.get(&token, "/tailnet/-/devices")).await;
    assert_eq!(
        (status, msg.as_str()),
        (StatusCode::UNAUTHORIZED, "API token invalid")
    );
    let (status, msg) = error(ts.control(
        "join",
        json!({"auth_key": created["key"], "hostname": "gw", "machine": "m"}),
    ))
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(msg.contains("expired"), "{msg}");
}

#[tokio::test]
async fn tailscale_requests_stay_out_of_hetzners_buckets() {
    let server = start(SimConfig {
        rate_limit: RateLimit {
            capacity: 2,
            refill_per_second: 0.0,
        },
        ..SimConfig::default()
    })
    .await;
    let ts = Ts::new(&server);
    let token = ts.token(None).await;
    for _ in 0..5 {
        let r = ts
            .get(&token, "/tailnet/-/devices")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!r.headers().contains_key("ratelimit-limit"));
    }
    let r = Client::new()
        .get(format!("{}/server_types", server.endpoint()))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), StatusCode::OK, "Hetzner's bucket still full");
    assert_eq!(r.headers()["ratelimit-remaining"], "1");
}
