//! `clawprov sim serve` as a user runs it: it prints where it listens, serves
//! the API with the flags' settings, and refuses nonsense flags with exit 2.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use serde_json::Value;

mod support;

/// Kills the served process even when an assertion fails.
struct Served(std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_prints_its_endpoint_and_answers() {
    let home = tempfile::tempdir().expect("tempdir");
    let child = support::clawprov(home.path())
        .args([
            "--json",
            "sim",
            "serve",
            "--port",
            "0",
            "--readonly-token",
            "ro-token",
            "--rate-limit",
            "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("clawprov starts");
    let mut served = Served(child);
    let stdout = served.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let hello: Value = serde_json::from_str(&line).expect("one JSON object");
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
