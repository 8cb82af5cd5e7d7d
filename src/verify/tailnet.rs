//! Checks over the tailnet, as a browser on another tailnet device would
//! see the gateway: Serve's HTTPS with a valid certificate, the token
//! required through it, and nothing else of the gateway reachable on the
//! node's tailnet address. This machine must be on the tailnet: if the
//! name does not resolve or answer, the checks are errors, never passes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::check::CheckResult;
use super::outside::{probe, Probe};

/// How long the first HTTPS request may wait for the node's certificate:
/// tailscaled fetches it from Let's Encrypt on the first TLS handshake for
/// the name (`ipn/ipnlocal/cert.go`, read at v1.102.3), which Tailscale says
/// can take up to a minute; until then the handshake stalls or the
/// connection fails.
pub const CERT_WAIT: Duration = Duration::from_secs(90);

/// The checks over the tailnet. The first HTTPS request is retried, for at
/// most `cert_wait`, while it gets no answer (never when a certificate is
/// refused: that is a verdict).
pub async fn check(
    name: &str,
    gateway_port: u16,
    timeout: Duration,
    cert_wait: Duration,
) -> Vec<CheckResult> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((name, 443)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            let why =
                format!("{name} does not resolve from here ({e}): is this machine on the tailnet?");
            return ["tailnet.https", "tailnet.auth", "tailnet.gateway_port"]
                .into_iter()
                .map(|id| CheckResult::error(id, why.clone()))
                .collect();
        }
    };
    let client = match reqwest::Client::builder()
        .timeout(timeout.max(Duration::from_secs(10)))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return vec![CheckResult::error(
                "tailnet.https",
                format!("no HTTP client: {e}"),
            )];
        }
    };
    let url = format!("https://{name}/");
    let mut out = vec![];
    let started = Instant::now();
    let https = first_answer(&client, &url, timeout, cert_wait).await;
    let waited = started.elapsed().as_secs();
    let waited = if waited >= 2 {
        format!(" (after {waited} s: the node fetched its certificate)")
    } else {
        String::new()
    };
    out.push(match &https {
        Ok(r) => CheckResult::pass(
            "tailnet.https",
            format!(
                "{url} answered {} with a valid certificate{waited}",
                r.status().as_u16()
            ),
        ),
        Err(e) => match certificate_problem(e) {
            Some(why) => CheckResult::fail(
                "tailnet.https",
                format!("{url}: the certificate is not valid for the name: {why}"),
            ),
            None => CheckResult::error(
                "tailnet.https",
                format!(
                    "{url} did not answer within {} s: {e}",
                    cert_wait.max(timeout).as_secs()
                ),
            ),
        },
    });
    let invoke = format!("https://{name}/tools/invoke");
    out.push(
        match client
            .post(&invoke)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
        {
            Ok(r) if r.status().as_u16() == 401 || r.status().as_u16() == 403 => CheckResult::pass(
                "tailnet.auth",
                format!("POST {invoke} without a token: {}", r.status().as_u16()),
            ),
            Ok(r) => CheckResult::fail(
                "tailnet.auth",
                format!(
                    "POST {invoke} without a token answered {}, not 401",
                    r.status().as_u16()
                ),
            ),
            Err(e) => CheckResult::error("tailnet.auth", format!("{invoke}: {e}")),
        },
    );
    let mut seen = vec![];
    for addr in &addrs {
        let a = SocketAddr::new(addr.ip(), gateway_port);
        seen.push((a, probe(a, timeout).await));
    }
    let open: Vec<String> = seen
        .iter()
        .filter(|(_, p)| *p == Probe::Open)
        .map(|(a, _)| a.to_string())
        .collect();
    out.push(if open.is_empty() {
        CheckResult::pass(
            "tailnet.gateway_port",
            format!(
                "port {gateway_port} closed on {}",
                addrs
                    .iter()
                    .map(|a| a.ip().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else {
        CheckResult::fail(
            "tailnet.gateway_port",
            format!("the gateway answers on {}", open.join(", ")),
        )
    });
    out
}

/// `GET url`, again while there is no answer at all, until `wait` has
/// passed; each try may take what is left of it (a handshake that stalls
/// while the node fetches its certificate is waited for, not cut).
async fn first_answer(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    wait: Duration,
) -> Result<reqwest::Response, reqwest::Error> {
    let deadline = Instant::now() + wait.max(timeout);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let attempt = client
            .get(url)
            .timeout(left.max(Duration::from_secs(1)))
            .send()
            .await;
        match attempt {
            Err(e) if certificate_problem(&e).is_none() && Instant::now() + RETRY < deadline => {
                tokio::time::sleep(RETRY).await;
            }
            other => return other,
        }
    }
}

const RETRY: Duration = Duration::from_secs(2);

/// The TLS verification failure somewhere in `e`'s chain of causes, if that
/// is why the request failed (as opposed to no answer at all).
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = source {
        let text = err.to_string();
        if text.contains("certificate") || text.contains("verify failed") {
            return Some(text);
        }
        source = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// A self-signed certificate for `localhost` (the real openssl CLI).
    fn localhost_cert(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "1"])
            .args([
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("the openssl CLI is needed for this test (apt-get install openssl)");
        assert!(out.status.success(), "{out:?}");
        (cert, key)
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// A node whose Serve starts answering only after a while (as while
    /// tailscaled fetches its certificate) is waited for, within the bound;
    /// a refused certificate is a verdict at once.
    #[tokio::test]
    async fn the_first_https_request_waits_for_the_certificate_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = localhost_cert(dir.path());
        let port = free_port();
        let url = format!("https://localhost:{port}/");
        let pem = std::fs::read(&cert).unwrap();
        let trusting = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .build()
            .unwrap();
        // Nothing answers yet: without a wait, no answer.
        let quick = first_answer(&trusting, &url, Duration::from_secs(1), Duration::ZERO).await;
        assert!(quick.is_err());
        // The server comes up 3 s from now.
        let mut server = Command::new("sh")
            .arg("-c")
            .arg("sleep 3; exec openssl s_server -quiet -www -accept \"127.0.0.1:$1\" -cert \"$2\" -key \"$3\"")
            .arg("sh")
            .arg(port.to_string())
            .arg(&cert)
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let waited = first_answer(
            &trusting,
            &url,
            Duration::from_secs(1),
            Duration::from_secs(30),
        )
        .await;
        let elapsed = started.elapsed();
        assert!(
            waited.as_ref().is_ok_and(|r| r.status().is_success()),
            "{waited:?}"
        );
        assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
        // s_server answers one connection at a time: let go of this one.
        drop(waited);
        drop(trusting);
        // A certificate nobody trusts: refused at once, not retried.
        let doubting = reqwest::Client::new();
        let started = Instant::now();
        let refused = first_answer(
            &doubting,
            &url,
            Duration::from_secs(1),
            Duration::from_secs(30),
        )
        .await;
        let _ = server.kill();
        let _ = server.wait();
        let e = refused.expect_err("an untrusted certificate");
        assert!(certificate_problem(&e).is_some(), "{e:?}");
        assert!(started.elapsed() < RETRY, "{:?}", started.elapsed());
    }
}
