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

/// Check the node is on the tailnet and Serve is right; apply Serve once if
/// it is missing. Funnel on is an error clawprov does not fix silently.
pub async fn ensure(session: &Session, port: u16) -> Result<ServeOutcome, HostError> {
    let node = node(session).await?;
    let dns_name = node.dns_name;
    let mut configured = false;
    loop {
        let status_cmd = RemoteCommand::root("tailscale").args(["serve", "status", "--json"]);
        let out = session.check(&status_cmd, None, TIMEOUT).await?;
        let status: serde_json::Value = serde_json::from_str(if out.stdout.trim().is_empty() {
            "{}"
        } else {
            &out.stdout
        })
        .map_err(|e| HostError::Unexpected {
            command: status_cmd.to_string(),
            detail: format!("not JSON: {e}"),
        })?;
        if let Some(funnel) = funnel_on(&status) {
            return Err(HostError::Serve(format!(
                "Funnel is on for {funnel}: the gateway would be reachable from the internet. \
                 Turn it off on the server (`sudo tailscale funnel --https=443 off`) and run again"
            )));
        }
        match proxies_to(&status, port) {
            Ok(()) => {
                return Ok(ServeOutcome {
                    url: format!("https://{dns_name}/"),
                    configured,
                })
            }
            Err(why) if configured => {
                return Err(HostError::Serve(format!(
                    "after `tailscale serve --bg`, {why}. Are HTTPS certificates enabled for \
                     the tailnet (admin console, DNS page)?"
                )))
            }
            Err(_) if !node.https => {
                return Err(HostError::Serve(format!(
                    "the tailnet has no HTTPS certificates for {dns_name}, so Tailscale Serve \
                     cannot put HTTPS in front of the gateway. Enable them in the Tailscale \
                     admin console (DNS page, \"HTTPS Certificates\"), then run `clawprov up` \
                     again; serve was not attempted (it would wait for interactive consent)"
                )))
            }
            Err(_) => {
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
    }
}

/// The node's MagicDNS name (no trailing dot), once it is Running, and
/// whether it can have HTTPS certificates.
async fn node(session: &Session) -> Result<Node, HostError> {
    let cmd = RemoteCommand::root("tailscale").args(["status", "--json"]);
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

/// The first key with `AllowFunnel: true`, if any.
fn funnel_on(status: &serde_json::Value) -> Option<String> {
    status["AllowFunnel"]
        .as_object()?
        .iter()
        .find(|(_, on)| on.as_bool() == Some(true))
        .map(|(k, _)| k.clone())
}

/// `Ok` when TCP 443 is HTTPS and some web host proxies `/` to the gateway.
fn proxies_to(status: &serde_json::Value, port: u16) -> Result<(), String> {
    if status["TCP"]["443"]["HTTPS"].as_bool() != Some(true) {
        return Err("port 443 is not served over HTTPS".into());
    }
    let want = format!("http://127.0.0.1:{port}");
    let web = status["Web"].as_object().ok_or("no web handlers")?;
    let found = web.iter().any(|(host, cfg)| {
        host.ends_with(":443") && cfg["Handlers"]["/"]["Proxy"].as_str() == Some(want.as_str())
    });
    if found {
        Ok(())
    } else {
        Err(format!("nothing on :443 proxies / to {want}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> serde_json::Value {
        json!({"TCP":{"443":{"HTTPS":true}},
               "Web":{"gw.tail1.ts.net:443":{"Handlers":{"/":{"Proxy":"http://127.0.0.1:18789"}}}}})
    }

    #[test]
    fn accepts_the_documented_shape() {
        assert_eq!(proxies_to(&good(), 18789), Ok(()));
        assert!(funnel_on(&good()).is_none());
    }

    #[test]
    fn refuses_wrong_port_plain_http_and_funnel() {
        assert!(proxies_to(&good(), 18790).is_err());
        let mut plain = good();
        plain["TCP"]["443"]["HTTPS"] = json!(false);
        assert!(proxies_to(&plain, 18789).is_err());
        assert!(proxies_to(&json!({}), 18789).is_err());
        let mut funnel = good();
        funnel["AllowFunnel"] = json!({"gw.tail1.ts.net:443": true});
        assert_eq!(funnel_on(&funnel).as_deref(), Some("gw.tail1.ts.net:443"));
        funnel["AllowFunnel"] = json!({"gw.tail1.ts.net:443": false});
        assert!(funnel_on(&funnel).is_none());
    }
}
