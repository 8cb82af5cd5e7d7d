//! `clawprov sim serve` as a user runs it: it prints where it listens (the
//! Hetzner API and, on the same port, the Tailscale API with its tailnet and
//! OAuth client), serves them with the flags' settings, and refuses
//! nonsense flags with exit 2.

use clawprov::sim::{DEFAULT_TAILNET, DEFAULT_TS_CLIENT_ID, DEFAULT_TS_CLIENT_SECRET};

mod sim_common;
mod support;

#[tokio::test]
async fn serve_prints_its_endpoint_and_answers() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = support::clawprov(home.path());
    cmd.args([
        "--json",
        "sim",
        "serve",
        "--port",
        "0",
        "--readonly-token",
        "ro-token",
        "--rate-limit",
        "5",
    ]);
    let (_served, hello) = sim_common::serve_hello(cmd);
    let endpoint = hello["endpoint"].as_str().expect("endpoint").to_string();
    let token = hello["token"]
        .as_str()
        .expect("built-in token shown")
        .to_string();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/v1"),
        "{endpoint}"
    );

    let client = reqwest::Client::new();
    let r = client
        .get(format!("{endpoint}/server_types"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["ratelimit-limit"],
        "5",
        "--rate-limit reached the simulator"
    );
    let r = client
        .post(format!("{endpoint}/ssh_keys"))
        .bearer_auth("ro-token")
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 403, "--readonly-token reached the simulator");

    // The Tailscale API on the same port, with the OAuth client it printed.
    let ts = &hello["tailscale"];
    let ts_endpoint = ts["endpoint"].as_str().expect("tailscale endpoint");
    assert_eq!(
        ts_endpoint,
        format!("{}/api/v2", endpoint.trim_end_matches("/v1"))
    );
    assert_eq!(ts["tailnet"], DEFAULT_TAILNET);
    assert_eq!(ts["oauth_client_id"], DEFAULT_TS_CLIENT_ID);
    assert_eq!(ts["oauth_client_secret"], DEFAULT_TS_CLIENT_SECRET);
    let r = client
        .post(format!("{ts_endpoint}/oauth/token"))
        .basic_auth(
            ts["oauth_client_id"].as_str().unwrap(),
            ts["oauth_client_secret"].as_str(),
        )
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    let access: serde_json::Value = r.json().await.expect("token json");
    let access = access["access_token"].as_str().expect("access token");
    let r = client
        .get(format!("{ts_endpoint}/tailnet/{DEFAULT_TAILNET}/devices"))
        .bearer_auth(access)
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"devices":[]}"#,
        "a fresh tailnet"
    );
}

#[test]
fn serve_prints_both_apis_for_people() {
    use std::io::{BufRead, BufReader};
    let home = tempfile::tempdir().expect("tempdir");
    let child = support::clawprov(home.path())
        .args(["sim", "serve", "--port", "0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("clawprov starts");
    let mut served = sim_common::Served(child);
    let stdout = served.0.stdout.take().expect("stdout");
    let mut text = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let port = text
        .split("http://127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("an address");
    for want in [
        format!("Hetzner Cloud API simulator listening on http://127.0.0.1:{port}/v1"),
        format!(
            "Tailscale API simulator listening on http://127.0.0.1:{port}/api/v2 (tailnet {DEFAULT_TAILNET})"
        ),
        format!("OAuth client id:     {DEFAULT_TS_CLIENT_ID}"),
        format!("OAuth client secret: {DEFAULT_TS_CLIENT_SECRET}"),
    ] {
        assert!(text.contains(&want), "{want:?} missing in:\n{text}");
    }
}

#[test]
fn bad_fault_rates_are_bad_input() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = support::clawprov(home.path())
        .args(["sim", "serve", "--port", "0", "--error-rate", "1.5"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--error-rate must be between 0 and 1"));
}
