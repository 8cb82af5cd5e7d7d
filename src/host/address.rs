//! Which peers may receive secrets: only tailnet addresses.
//!
//! The node is reached by its MagicDNS name. If that name resolves outside
//! the tailnet (a stale DNS entry, a hijacked resolver, a public address), the
//! SSH session would carry the gateway's secrets over the internet to
//! whoever answers; the host-key pin catches a stranger only after the
//! first connection. So the address is checked before connecting.
//!
//! Overrides (decided here, documented in `clawprov up --help` by the CLI):
//! - `--ssh-host HOST[:PORT]` alone allows loopback addresses, for tests and
//!   SSH port-forwards (`ssh -L 2222:node:22 jump`);
//! - `--allow-non-tailnet` allows any address, for odd networks.

use std::net::IpAddr;

/// Which addresses a connection may go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerPolicy {
    /// Tailnet addresses only (the default).
    TailnetOnly,
    /// Tailnet or loopback (`--ssh-host` given).
    TailnetOrLoopback,
    /// Anything (`--allow-non-tailnet`).
    Any,
}

impl PeerPolicy {
    pub fn allows(self, addr: IpAddr) -> bool {
        match self {
            PeerPolicy::TailnetOnly => is_tailnet(addr),
            PeerPolicy::TailnetOrLoopback => is_tailnet(addr) || addr.is_loopback(),
            PeerPolicy::Any => true,
        }
    }
}

/// 100.64.0.0/10 (Tailscale's CGNAT range) or fd7a:115c:a1e0::/48.
/// An IPv4-mapped IPv6 address is judged by its IPv4 part.
pub fn is_tailnet(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 100 && (o[1] & 0b1100_0000) == 64
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_tailnet(IpAddr::V4(v4));
            }
            let s = v6.segments();
            s[0] == 0xfd7a && s[1] == 0x115c && s[2] == 0xa1e0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn tailnet_ranges_and_their_edges() {
        for inside in [
            "100.64.0.0",
            "100.64.0.1",
            "100.100.100.100",
            "100.127.255.255",
            "fd7a:115c:a1e0::1",
            "fd7a:115c:a1e0:ffff:ffff:ffff:ffff:ffff",
            "::ffff:100.101.102.103",
        ] {
            assert!(is_tailnet(ip(inside)), "{inside}");
        }
        for outside in [
            "100.63.255.255",
            "100.128.0.0",
            "10.0.0.1",
            "127.0.0.1",
            "192.0.2.1",
            "0.0.0.0",
            "fd7a:115c:a1e1::1",
            "fd7a:115d:a1e0::1",
            "::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!is_tailnet(ip(outside)), "{outside}");
        }
    }

    #[test]
    fn policies() {
        let lo = ip("127.0.0.1");
        let public = ip("192.0.2.1");
        let ts = ip("100.100.1.2");
        assert!(PeerPolicy::TailnetOnly.allows(ts));
        assert!(!PeerPolicy::TailnetOnly.allows(lo));
        assert!(PeerPolicy::TailnetOrLoopback.allows(lo));
        assert!(PeerPolicy::TailnetOrLoopback.allows(ip("::1")));
        assert!(!PeerPolicy::TailnetOrLoopback.allows(public));
        assert!(PeerPolicy::Any.allows(public));
    }
}
