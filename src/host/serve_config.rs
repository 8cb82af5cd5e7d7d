//! Reading `tailscale serve status --json`: the node's whole `ServeConfig`
//! (`ipn/serve.go`), judged against the one thing clawprov serves.
//!
//! What the source says (read at v1.90.9 and v1.102.3):
//! - tailscaled finds a web handler by the exact key `<TLS server name>:<port>`
//!   (`ipn/ipnlocal/serve.go`, `webServerConfig`), and nothing rewrites the
//!   keys when the node's name changes (a `-1` suffix, a rename, a re-auth
//!   onto a new device): a handler keyed to another name is never reached.
//! - Besides the background `TCP`/`Web`/`AllowFunnel`, a config has
//!   `Foreground` (per-session configs of a `tailscale serve` without
//!   `--bg`, consulted first; `IsFunnelOn` counts Funnel there too) and
//!   `Services` (Tailscale Services, each with its own `TCP`/`Web`).
//! - An empty config prints `null`.
//!
//! Used by the host phase (which converges the background config) and by
//! `verify` (`host.serve`), so both read it the same way.

use serde_json::Value;

/// What is wrong with a node's serve config, sorted by who may fix it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServeFindings {
    /// Host:port pairs open to the internet (Funnel), background or foreground.
    pub funnel: Vec<String>,
    /// Things clawprov never makes and does not remove by itself: foreground
    /// sessions and Tailscale Services.
    pub foreign: Vec<String>,
    /// Differences in the background config from the one clawprov applies
    /// (wrong name, wrong target, extra handlers or ports): clawprov
    /// re-applies it.
    pub background: Vec<String>,
}

impl ServeFindings {
    pub fn is_clean(&self) -> bool {
        self.funnel.is_empty() && self.foreign.is_empty() && self.background.is_empty()
    }

    /// Every finding, one phrase each.
    pub fn all(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .funnel
            .iter()
            .map(|hp| format!("Funnel is on for {hp}"))
            .collect();
        out.extend(self.foreign.iter().cloned());
        out.extend(self.background.iter().cloned());
        out
    }
}

/// The host part of a MagicDNS name as `Web` keys use it: no trailing dot.
pub fn serve_host(dns_name: &str) -> &str {
    dns_name.trim_end_matches('.')
}

/// Judge `config` (the JSON of `tailscale serve status --json`; `null` or
/// empty is an empty config) against HTTPS on 443 at `dns_name` proxying
/// `/` to `http://127.0.0.1:PORT`, and nothing else.
pub fn judge(config: &Value, dns_name: &str, port: u16) -> ServeFindings {
    let mut f = ServeFindings::default();
    let want_key = format!("{}:443", serve_host(dns_name));
    let want_proxy = format!("http://127.0.0.1:{port}");
    funnel_in(config, "", &mut f.funnel);
    for (session, fg) in object(&config["Foreground"]) {
        funnel_in(
            fg,
            " (a foreground `tailscale serve` session)",
            &mut f.funnel,
        );
        let served = handlers(fg);
        let ports: Vec<&String> = object(&fg["TCP"]).map(|(p, _)| p).collect();
        if !served.is_empty() || !ports.is_empty() {
            f.foreign.push(format!(
                "a foreground `tailscale serve` session ({}) serves {}",
                short(session),
                describe(&served, &ports)
            ));
        }
    }
    for (name, svc) in object(&config["Services"]) {
        let served = handlers(svc);
        let ports: Vec<&String> = object(&svc["TCP"]).map(|(p, _)| p).collect();
        f.foreign.push(format!(
            "Tailscale Service {name} is served ({})",
            describe(&served, &ports)
        ));
    }
    let ports: Vec<&String> = object(&config["TCP"]).map(|(p, _)| p).collect();
    if config["TCP"]["443"]["HTTPS"].as_bool() != Some(true) {
        f.background
            .push("port 443 is not served over HTTPS".into());
    }
    let extra: Vec<&&String> = ports.iter().filter(|p| p.as_str() != "443").collect();
    if !extra.is_empty() {
        f.background
            .push(format!("other TCP ports are served: {}", join(&extra)));
    }
    let served = handlers(config);
    let right = served
        .iter()
        .any(|(k, path, proxy)| *k == want_key && path == "/" && *proxy == want_proxy);
    if !right {
        let at_other_name: Vec<&String> = served
            .iter()
            .filter(|(k, path, proxy)| *k != want_key && path == "/" && *proxy == want_proxy)
            .map(|(k, _, _)| k)
            .collect();
        if at_other_name.is_empty() {
            let what = if served.is_empty() {
                String::new()
            } else {
                format!(" (served: {})", describe(&served, &[]))
            };
            f.background.push(format!(
                "nothing at {want_key} proxies / to {want_proxy}{what}"
            ));
        } else {
            f.background.push(format!(
                "the gateway is served as {} but the node is {} (tailscaled answers only the \
                 exact name)",
                join(&at_other_name),
                want_key
            ));
        }
    }
    let others: Vec<String> = served
        .iter()
        .filter(|(k, path, proxy)| !(*k == want_key && path == "/" && *proxy == want_proxy))
        .map(|(k, path, proxy)| format!("https://{k}{path} -> {proxy}"))
        .collect();
    if !others.is_empty() && right {
        f.background
            .push(format!("other handlers are served: {}", others.join(", ")));
    }
    f
}

/// `(host:port, path, proxy target or "?")` of every web handler of a config.
fn handlers(config: &Value) -> Vec<(String, String, String)> {
    object(&config["Web"])
        .flat_map(|(hp, web)| {
            object(&web["Handlers"]).map(move |(path, h)| {
                let target = h["Proxy"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| "(not a proxy)".into());
                (hp.clone(), path.clone(), target)
            })
        })
        .collect()
}

fn funnel_in(config: &Value, whose: &str, out: &mut Vec<String>) {
    for (hp, on) in object(&config["AllowFunnel"]) {
        if on.as_bool() == Some(true) {
            out.push(format!("{hp}{whose}"));
        }
    }
}

fn object(v: &Value) -> impl Iterator<Item = (&String, &Value)> {
    v.as_object().into_iter().flatten()
}

fn describe(handlers: &[(String, String, String)], ports: &[&String]) -> String {
    if handlers.is_empty() {
        return format!("TCP port(s) {}", join(ports));
    }
    handlers
        .iter()
        .map(|(k, path, proxy)| format!("https://{k}{path} -> {proxy}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn join<T: AsRef<str>>(items: &[T]) -> String {
    items
        .iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Session ids are long; the first characters name one.
fn short(session: &str) -> String {
    session.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NODE: &str = "gw.tail1.ts.net.";

    fn good() -> Value {
        json!({"TCP":{"443":{"HTTPS":true}},
               "Web":{"gw.tail1.ts.net:443":{"Handlers":{"/":{"Proxy":"http://127.0.0.1:18789"}}}}})
    }

    #[test]
    fn the_documented_shape_is_clean() {
        let f = judge(&good(), NODE, 18789);
        assert!(f.is_clean(), "{f:?}");
    }

    #[test]
    fn a_handler_keyed_to_another_name_is_not_served() {
        // The node became gw-1 (a redeploy while the old device held the
        // name); the config still names gw.
        let f = judge(&good(), "gw-1.tail1.ts.net.", 18789);
        assert!(f.funnel.is_empty() && f.foreign.is_empty());
        assert_eq!(f.background.len(), 1, "{f:?}");
        assert!(
            f.background[0].contains("gw.tail1.ts.net:443")
                && f.background[0].contains("gw-1.tail1.ts.net:443"),
            "{f:?}"
        );
        // Any suffix match is not enough: another port, a longer name.
        let mut other = good();
        other["Web"] =
            json!({"xgw.tail1.ts.net:443":{"Handlers":{"/":{"Proxy":"http://127.0.0.1:18789"}}}});
        assert!(!judge(&other, NODE, 18789).is_clean());
    }

    #[test]
    fn wrong_target_port_plain_http_and_empty_configs_are_background_findings() {
        // The finding says what is served instead (a real-boot run with a
        // broken Serve step was told only "nothing ... proxies").
        let wrong = judge(&good(), NODE, 18790);
        assert_eq!(
            wrong.background,
            vec![
                "nothing at gw.tail1.ts.net:443 proxies / to http://127.0.0.1:18790 \
                  (served: https://gw.tail1.ts.net:443/ -> http://127.0.0.1:18789)"
                    .to_string()
            ]
        );
        let mut plain = good();
        plain["TCP"]["443"]["HTTPS"] = json!(false);
        assert!(!judge(&plain, NODE, 18789).background.is_empty());
        for empty in [json!(null), json!({})] {
            let f = judge(&empty, NODE, 18789);
            assert!(!f.background.is_empty() && f.funnel.is_empty() && f.foreign.is_empty());
        }
        let mut extra = good();
        extra["TCP"]["8443"] = json!({"HTTPS": true});
        extra["Web"]["gw.tail1.ts.net:443"]["Handlers"]["/admin"] =
            json!({"Proxy":"http://127.0.0.1:9000"});
        let f = judge(&extra, NODE, 18789);
        assert_eq!(f.background.len(), 2, "{f:?}");
    }

    #[test]
    fn funnel_counts_in_the_background_and_in_foreground_sessions() {
        let mut bg = good();
        bg["AllowFunnel"] = json!({"gw.tail1.ts.net:443": true});
        assert_eq!(judge(&bg, NODE, 18789).funnel, ["gw.tail1.ts.net:443"]);
        bg["AllowFunnel"] = json!({"gw.tail1.ts.net:443": false});
        assert!(judge(&bg, NODE, 18789).is_clean());
        let mut fg = good();
        fg["Foreground"] = json!({"6cd8a1f07e3b4c1f": {
            "TCP":{"8443":{"HTTPS":true}},
            "Web":{"gw.tail1.ts.net:8443":{"Handlers":{"/":{"Proxy":"http://127.0.0.1:18789"}}}},
            "AllowFunnel":{"gw.tail1.ts.net:8443":true}}});
        let f = judge(&fg, NODE, 18789);
        assert_eq!(f.funnel.len(), 1, "{f:?}");
        assert!(f.funnel[0].contains("foreground"), "{f:?}");
        assert_eq!(f.foreign.len(), 1, "{f:?}");
        assert!(f.background.is_empty(), "{f:?}");
    }

    #[test]
    fn services_are_foreign() {
        let mut s = good();
        s["Services"] = json!({"svc:gateway": {"TCP":{"443":{"HTTPS":true}},
            "Web":{"gateway.tail1.ts.net:443":{"Handlers":{"/":{"Proxy":"http://127.0.0.1:18789"}}}}}});
        let f = judge(&s, NODE, 18789);
        assert_eq!(f.foreign.len(), 1, "{f:?}");
        assert!(f.foreign[0].contains("svc:gateway"), "{f:?}");
    }
}
