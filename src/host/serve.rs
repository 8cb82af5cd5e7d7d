//! Tailscale Serve: the only way in to the gateway (invariant 2).
//!
//! Without HTTPS certificates enabled for the tailnet, `tailscale serve`
//! either waits for interactive consent or exits 0 having applied nothing.
//! So the node's `https` capability is checked first (and a missing one is
//! reported with what to enable), the command is bounded with `timeout`,
//! and the applied config is read back from `tailscale serve status
//! --json`: HTTPS on 443 proxying `/` to http://127.0.0.1:PORT, and Funnel
//! (exposure to the internet) off.

use std::time::Duration;

use super::command::RemoteCommand;
use super::serve_config;
use super::session::Session;
use super::HostError;

const TIMEOUT: Duration = Duration::from_secs(60);
/// `timeout`'s bound on `tailscale serve --bg` (it may wait for consent).
const SERVE_TIMEOUT: &str = "30";

/// The node as `tailscale status --json` describes it.
struct Node {
    dns_name: String,
    /// The tailnet issues HTTPS certificates to it (`Self.CapMap` has
    /// `https`, or `CertDomains` is not empty).
    https: bool,
}

/// What the serve step found and did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServeOutcome {
    /// `https://<node's MagicDNS name>/`.
    pub url: String,
    /// True when clawprov had to (re-)apply the serve config.
    pub configured: bool,
}

/// Check the node is on the tailnet and Serve is right; apply Serve when
/// its background config is not exactly clawprov's (keyed to another name
/// after a rename or a `-1` suffix, another target, extra handlers): reset,
/// then `serve --bg`. Funnel, foreground sessions and Tailscale Services
/// are never made by clawprov: they are errors it does not fix silently.
pub async fn ensure(session: &Session, port: u16) -> Result<ServeOutcome, HostError> {
    let node = node(session).await?;
    let dns_name = node.dns_name;
    let mut configured = false;
    loop {
        let status_cmd = RemoteCommand::root("tailscale").args(["serve", "status", "--json"]);
        // stdout only: around a package upgrade the CLI warns of a
        // client/daemon version mismatch on stderr.
        let out = session.check(&status_cmd, None, TIMEOUT).await?;
        let text = out.stdout.trim();
        let status: serde_json::Value =
            serde_json::from_str(if text.is_empty() { "null" } else { text }).map_err(|e| {
                HostError::Unexpected {
                    command: status_cmd.to_string(),
                    detail: format!("not JSON: {e}"),
                }
            })?;
        let found = serve_config::judge(&status, &dns_name, port);
        if !found.funnel.is_empty() {
            return Err(HostError::Serve(format!(
                "Funnel is on for {}: the gateway would be reachable from the internet. \
                 Turn it off on the server (`sudo tailscale funnel --https=443 off`, or \
                 `sudo tailscale serve reset`) and run again",
                found.funnel.join(", ")
            )));
        }
        if !found.foreign.is_empty() {
            return Err(HostError::Serve(format!(
                "{}: clawprov serves only the gateway, through its own background config. \
                 Stop it on the server (`sudo tailscale serve reset` removes every serve \
                 config) and run again",
                found.foreign.join("; ")
            )));
        }
        if found.background.is_empty() {
            return Ok(ServeOutcome {
                url: format!("https://{dns_name}/"),
                configured,
            });
        }
        let why = found.background.join("; ");
        if configured {
            // Something served but not the gateway is not a certificate
            // question (the real-boot run with a broken target said so).
            let hint = if status["Web"].as_object().is_some_and(|w| !w.is_empty()) {
                "See `sudo tailscale serve status` on the server"
            } else {
                "Are HTTPS certificates enabled for the tailnet (admin console, DNS page)?"
            };
            return Err(HostError::Serve(format!(
                "after `tailscale serve --bg`, {why}. {hint}"
            )));
        }
        if !node.https {
            return Err(HostError::Serve(format!(
                "the tailnet has no HTTPS certificates for {dns_name}, so Tailscale Serve \
                 cannot put HTTPS in front of the gateway. Enable them in the Tailscale \
                 admin console (DNS page, \"HTTPS Certificates\"), then run `clawprov up` \
                 again; serve was not attempted (it would wait for interactive consent)"
            )));
        }
        if !status.is_null() && status.as_object().is_none_or(|o| !o.is_empty()) {
            // What is there is stale (another name) or more than the
            // gateway: `serve --bg` would only add to it.
            let reset =
                RemoteCommand::root("timeout").args([SERVE_TIMEOUT, "tailscale", "serve", "reset"]);
            session.check(&reset, None, TIMEOUT).await?;
        }
        let target = format!("http://127.0.0.1:{port}");
        let apply = RemoteCommand::root("timeout").args([
            SERVE_TIMEOUT,
            "tailscale",
            "serve",
            "--bg",
            "--https=443",
            target.as_str(),
        ]);
        session.check(&apply, None, TIMEOUT).await?;
        configured = true;
    }
}

/// The node's MagicDNS name (no trailing dot), once it is Running, and
/// whether it can have HTTPS certificates.
async fn node(session: &Session) -> Result<Node, HostError> {
    let cmd = RemoteCommand::root("tailscale").args(["status", "--json", "--peers=false"]);
    let out = session.check(&cmd, None, TIMEOUT).await?;
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| HostError::Unexpected {
            command: cmd.to_string(),
            detail: format!("not JSON: {e}"),
        })?;
    let state = v["BackendState"].as_str().unwrap_or("");
    if state != "Running" {
        return Err(HostError::Serve(format!(
            "tailscaled on the node is {state:?}, not \"Running\""
        )));
    }
    let name = v["Self"]["DNSName"]
        .as_str()
        .unwrap_or("")
        .trim_end_matches('.');
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid {
        return Err(HostError::Unexpected {
            command: cmd.to_string(),
            detail: "Self.DNSName is missing or not a host name".into(),
        });
    }
    let https = v["Self"]["CapMap"].get("https").is_some()
        || v["CertDomains"].as_array().is_some_and(|d| !d.is_empty());
    Ok(Node {
        dns_name: name.to_string(),
        https,
    })
}
