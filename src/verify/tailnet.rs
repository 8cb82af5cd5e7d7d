//! Checks over the tailnet, as a browser on another tailnet device would
//! see the gateway: Serve's HTTPS with a valid certificate, the token
//! required through it, and nothing else of the gateway reachable on the
//! node's tailnet address. This machine must be on the tailnet: if the
//! name does not resolve or answer, the checks are errors, never passes.

use std::net::SocketAddr;
use std::time::Duration;

use super::check::CheckResult;
use super::outside::{probe, Probe};

pub async fn check(name: &str, gateway_port: u16, timeout: Duration) -> Vec<CheckResult> {
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
    let https = client.get(&url).send().await;
    out.push(match &https {
        Ok(r) => CheckResult::pass(
            "tailnet.https",
            format!(
                "{url} answered {} with a valid certificate",
                r.status().as_u16()
            ),
        ),
        Err(e) => match certificate_problem(e) {
            Some(why) => CheckResult::fail(
                "tailnet.https",
                format!("{url}: the certificate is not valid for the name: {why}"),
            ),
            None => CheckResult::error("tailnet.https", format!("{url} did not answer: {e}")),
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
