//! Checks from outside: the server's public addresses as anyone on the
//! internet sees them. Hetzner's cloud firewall drops what it does not
//! allow, so a probe must time out: a refusal (RST) means a packet reached
//! the server's kernel, i.e. the firewall is not in effect; an accepted
//! connection means a port is open. A network error from here (no route,
//! no IPv6 on this machine) decides nothing: it is an error, not a pass.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;

use super::check::CheckResult;
use crate::hetzner::Server;

/// What one TCP connect attempt saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    TimedOut,
    Refused,
    Open,
    /// No route, unreachable network, ...: nothing can be concluded.
    Unreachable,
}

pub async fn probe(addr: SocketAddr, timeout: Duration) -> Probe {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Err(_) => Probe::TimedOut,
        Ok(Ok(_)) => Probe::Open,
        Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => Probe::Refused,
        Ok(Err(_)) => Probe::Unreachable,
    }
}

/// The IPv6 address Hetzner's images configure: `::1` of the server's /64.
pub fn ipv6_host(network: &str) -> Option<IpAddr> {
    let prefix = network.split('/').next()?;
    let net: std::net::Ipv6Addr = prefix.parse().ok()?;
    let mut octets = net.octets();
    octets[15] |= 1;
    Some(IpAddr::V6(octets.into()))
}

async fn ports_closed(
    id: &'static str,
    ip: Option<IpAddr>,
    what: &str,
    ports: &[u16],
    timeout: Duration,
) -> CheckResult {
    let Some(ip) = ip else {
        return CheckResult::skip(id, format!("the server has no public {what}"));
    };
    let probes = ports
        .iter()
        .map(|p| probe(SocketAddr::new(ip, *p), timeout));
    let seen = futures_join(probes).await;
    let mut bad = vec![];
    let mut unreachable = vec![];
    for (port, probe) in ports.iter().zip(seen) {
        match probe {
            Probe::TimedOut => {}
            Probe::Refused => bad.push(format!(
                "{port} refused (an RST: the cloud firewall is not in effect)"
            )),
            Probe::Open => bad.push(format!("{port} open")),
            Probe::Unreachable => unreachable.push(port.to_string()),
        }
    }
    if !bad.is_empty() {
        CheckResult::fail(id, format!("{ip}: {}", bad.join(", ")))
    } else if !unreachable.is_empty() {
        CheckResult::error(
            id,
            format!(
                "{ip}: no route from here to port(s) {}; run verify from a machine with {what} connectivity",
                unreachable.join(", ")
            ),
        )
    } else {
        CheckResult::pass(
            id,
            format!(
                "{ip}: TCP {} time out after {} s",
                ports
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                timeout.as_secs_f32()
            ),
        )
    }
}

async fn futures_join<F: std::future::Future<Output = Probe> + Send + 'static>(
    probes: impl Iterator<Item = F>,
) -> Vec<Probe> {
    let handles: Vec<_> = probes.map(tokio::spawn).collect();
    let mut out = vec![];
    for h in handles {
        out.push(h.await.unwrap_or(Probe::Unreachable));
    }
    out
}

/// Tailscale's address ranges (100.64.0.0/10, fd7a:115c:a1e0::/48) and
/// other non-public ones.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let cgnat = o[0] == 100 && (64..128).contains(&o[1]);
            !(cgnat || v4.is_private() || v4.is_loopback() || v4.is_link_local())
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let tailscale = s[0] == 0xfd7a && s[1] == 0x115c && s[2] == 0xa1e0;
            let ula = (s[0] & 0xfe00) == 0xfc00;
            let link = (s[0] & 0xffc0) == 0xfe80;
            !(tailscale || ula || link || v6.is_loopback())
        }
    }
}

/// `name` resolved from here: none, or only tailnet/private addresses.
pub async fn dns(name: &str) -> CheckResult {
    let id = "outside.dns";
    match tokio::net::lookup_host((name, 443)).await {
        Err(_) => CheckResult::pass(id, format!("{name} does not resolve from here")),
        Ok(addrs) => {
            let addrs: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
            let public: Vec<String> = addrs
                .iter()
                .filter(|ip| is_public(**ip))
                .map(IpAddr::to_string)
                .collect();
            if public.is_empty() {
                CheckResult::pass(
                    id,
                    format!(
                        "{name} resolves to tailnet/private addresses only ({})",
                        addrs
                            .iter()
                            .map(IpAddr::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            } else {
                CheckResult::fail(
                    id,
                    format!("{name} resolves to public {}", public.join(", ")),
                )
            }
        }
    }
}

pub async fn check(
    server: Option<&Server>,
    name: &str,
    gateway_port: u16,
    timeout: Duration,
) -> Vec<CheckResult> {
    let ports = [22, 80, 443, gateway_port];
    let mut out = vec![];
    match server {
        None => {
            for id in ["outside.ipv4", "outside.ipv6"] {
                out.push(CheckResult::error(
                    id,
                    "the server's addresses are unknown (see the api checks)",
                ));
            }
        }
        Some(s) => {
            let v4 = s.ipv4.as_deref().and_then(|a| a.parse().ok());
            let v6 = s.ipv6.as_deref().and_then(ipv6_host);
            let (a, b) = tokio::join!(
                ports_closed("outside.ipv4", v4, "IPv4", &ports, timeout),
                ports_closed("outside.ipv6", v6, "IPv6", &ports, timeout)
            );
            out.push(a);
            out.push(b);
        }
    }
    out.push(dns(name).await);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ipv6_host_is_the_networks_first_address() {
        assert_eq!(
            ipv6_host("2001:db8:1:2::/64").unwrap().to_string(),
            "2001:db8:1:2::1"
        );
        assert!(ipv6_host("nonsense").is_none());
    }

    #[test]
    fn tailnet_and_private_addresses_are_not_public() {
        for ip in [
            "100.101.102.103",
            "fd7a:115c:a1e0::1",
            "10.1.2.3",
            "fe80::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["203.0.113.7", "2a01:4f8::1"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn a_listener_is_open_and_a_closed_port_refuses() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let open = l.local_addr().unwrap();
        assert_eq!(probe(open, Duration::from_secs(2)).await, Probe::Open);
        drop(l);
        assert_eq!(probe(open, Duration::from_secs(2)).await, Probe::Refused);
    }
}
