//! Finding the node and waiting until its SSH port answers.
//!
//! [`node_target`] is the one place that decides where the node is: today
//! its MagicDNS name `<hostname>.<tailnet>`; a Tailscale API lookup (device
//! by hostname -> tailnet IP) replaces its body later without touching the
//! callers. `--ssh-host HOST[:PORT]` overrides it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::address::PeerPolicy;
use super::progress::{HostStep, Progress};
use super::HostError;
use crate::stack::Stack;

/// How long one resolve or connect attempt may take.
const ATTEMPT: Duration = Duration::from_secs(5);
/// Backoff between attempts: doubling from the first to the last.
const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// Where to connect: a name or address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parse `--ssh-host`: `HOST`, `HOST:PORT`, `[IPV6]:PORT` or a bare IPv6
    /// address. The port defaults to 22.
    pub fn parse(given: &str) -> Result<Target, HostError> {
        let bad = |reason: &str| HostError::BadTarget {
            given: given.to_string(),
            reason: reason.to_string(),
        };
        let port = |p: &str| -> Result<u16, HostError> {
            match p.parse::<u16>() {
                Ok(0) | Err(_) => Err(bad("the port must be a number from 1 to 65535")),
                Ok(n) => Ok(n),
            }
        };
        let (host, port) = if let Some(rest) = given.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| bad("missing `]`"))?;
            match after {
                "" => (h.to_string(), 22),
                _ => match after.strip_prefix(':') {
                    Some(p) => (h.to_string(), port(p)?),
                    None => return Err(bad("expected `:PORT` after `]`")),
                },
            }
        } else if given.parse::<IpAddr>().is_ok() {
            (given.to_string(), 22)
        } else {
            match given.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), port(p)?),
                None => (given.to_string(), 22),
            }
        };
        let valid_host = !host.is_empty()
            && host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_'));
        if !valid_host {
            return Err(bad("not a host name or IP address"));
        }
        Ok(Target { host, port })
    }

    /// The name this target is pinned under in known_hosts (OpenSSH's
    /// form: `host`, or `[host]:port` for ports other than 22).
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Where the stack's node is, without an override: its MagicDNS name.
/// The one lookup function (see the module docs).
pub fn node_target(stack: &Stack) -> Target {
    Target {
        host: format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet),
        port: 22,
    }
}

/// Resolve `target` and connect to its SSH port, retrying with backoff until
/// `deadline`. An address the `policy` refuses fails at once (no retry: a
/// wrong address is not a matter of waiting). On timeout the error says
/// what the last attempt saw.
pub async fn reach(
    target: &Target,
    policy: PeerPolicy,
    deadline: Duration,
    progress: &dyn Progress,
) -> Result<(SocketAddr, std::net::TcpStream), HostError> {
    let start = Instant::now();
    let mut pause = BACKOFF_FIRST;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let seen = match try_once(target, policy).await? {
            Ok(found) => return Ok(found),
            Err(seen) => seen,
        };
        progress.detail(HostStep::Reach, &format!("attempt {attempt}: {seen}"));
        let elapsed = start.elapsed();
        if elapsed + pause > deadline {
            return Err(HostError::Unreachable {
                target: target.to_string(),
                waited_s: elapsed.as_secs(),
                seen,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(BACKOFF_MAX);
    }
}

/// One attempt: `Ok(Ok(..))` connected, `Ok(Err(seen))` worth retrying,
/// `Err` refused for good.
async fn try_once(
    target: &Target,
    policy: PeerPolicy,
) -> Result<Result<(SocketAddr, std::net::TcpStream), String>, HostError> {
    let lookup = tokio::time::timeout(
        ATTEMPT,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await;
    let addrs: Vec<SocketAddr> = match lookup {
        Err(_) => return Ok(Err(format!("resolving {} timed out", target.host))),
        Ok(Err(e)) => {
            return Ok(Err(format!(
                "the name {} does not resolve ({e})",
                target.host
            )))
        }
        Ok(Ok(addrs)) => addrs.collect(),
    };
    if addrs.is_empty() {
        return Ok(Err(format!("the name {} has no addresses", target.host)));
    }
    if let Some(refused) = addrs.iter().find(|a| !policy.allows(a.ip())) {
        return Err(HostError::OutsideTailnet {
            target: target.to_string(),
            addr: refused.ip(),
        });
    }
    let mut seen = Vec::new();
    for addr in &addrs {
        match tokio::time::timeout(ATTEMPT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let stream = stream
                    .into_std()
                    .and_then(|s| s.set_nonblocking(false).map(|()| s))
                    .map_err(|e| HostError::Ssh {
                        target: target.to_string(),
                        stage: "socket",
                        detail: e.to_string(),
                    })?;
                return Ok(Ok((*addr, stream)));
            }
            Ok(Err(e)) => seen.push(format!(
                "{addr} resolves but port {} answers: {e}",
                addr.port()
            )),
            Err(_) => seen.push(format!(
                "{addr} resolves but port {} does not answer within {} s",
                addr.port(),
                ATTEMPT.as_secs()
            )),
        }
    }
    Ok(Err(seen.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_target_form() {
        let t = |s: &str| Target::parse(s).unwrap();
        assert_eq!(
            t("node.tail1.ts.net"),
            Target {
                host: "node.tail1.ts.net".into(),
                port: 22
            }
        );
        assert_eq!(
            t("127.0.0.1:2222"),
            Target {
                host: "127.0.0.1".into(),
                port: 2222
            }
        );
        assert_eq!(
            t("[::1]:2222"),
            Target {
                host: "::1".into(),
                port: 2222
            }
        );
        assert_eq!(
            t("[fd7a:115c:a1e0::1]"),
            Target {
                host: "fd7a:115c:a1e0::1".into(),
                port: 22
            }
        );
        assert_eq!(
            t("fd7a:115c:a1e0::1"),
            Target {
                host: "fd7a:115c:a1e0::1".into(),
                port: 22
            }
        );
        for bad in [
            "",
            ":22",
            "host:0",
            "host:99999",
            "host:x",
            "[::1",
            "[::1]x",
            "a b",
            "h;id",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn known_hosts_names_follow_openssh() {
        assert_eq!(
            Target::parse("n.ts.net").unwrap().known_hosts_name(),
            "n.ts.net"
        );
        assert_eq!(
            Target::parse("127.0.0.1:2222").unwrap().known_hosts_name(),
            "[127.0.0.1]:2222"
        );
        assert_eq!(
            Target::parse("[::1]:2222").unwrap().to_string(),
            "[::1]:2222"
        );
    }
}
