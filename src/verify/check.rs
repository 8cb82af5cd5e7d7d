//! One check's result, and the catalog of every check id.

use std::borrow::Cow;
use std::fmt;

use serde::Serialize;

/// Where a check looks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vantage {
    /// The Hetzner API.
    Api,
    /// The operator's machine, over the public internet (not the tailnet).
    Outside,
    /// The tailnet: the node's MagicDNS name and tailnet address.
    Tailnet,
    /// The server itself, over SSH as the admin user.
    Host,
    /// The vault: how old each credential is, against `rotation:`.
    Secrets,
}

impl Vantage {
    pub const ALL: [Vantage; 5] = [
        Vantage::Api,
        Vantage::Outside,
        Vantage::Tailnet,
        Vantage::Host,
        Vantage::Secrets,
    ];

    /// What `up` verifies by default: the deployment's lock-down. A
    /// credential past its maximum age does not fail a deploy (`up` warns;
    /// `verify` fails it).
    pub const DEPLOYMENT: [Vantage; 4] = [
        Vantage::Api,
        Vantage::Outside,
        Vantage::Tailnet,
        Vantage::Host,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Vantage::Api => "api",
            Vantage::Outside => "outside",
            Vantage::Tailnet => "tailnet",
            Vantage::Host => "host",
            Vantage::Secrets => "secrets",
        }
    }

    pub fn parse(s: &str) -> Option<Vantage> {
        Vantage::ALL.into_iter().find(|v| v.name() == s)
    }
}

impl fmt::Display for Vantage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not run, on purpose (the reason says why).
    Skip,
    /// Could not be decided: the vantage point could not be reached, or
    /// what it answered made no sense. Never a pass.
    Error,
}

/// One check's outcome. `detail` is the evidence: what was observed (never
/// a secret), or why the check was skipped or could not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// A catalog id; per-credential checks add the vault key
    /// (`secrets.age.gateway_token`).
    pub id: Cow<'static, str>,
    pub vantage: Vantage,
    pub status: Status,
    pub detail: String,
}

impl CheckResult {
    pub fn new(
        id: impl Into<Cow<'static, str>>,
        status: Status,
        detail: impl Into<String>,
    ) -> CheckResult {
        let id = id.into();
        CheckResult {
            vantage: vantage_of(&id),
            id,
            status,
            detail: detail.into(),
        }
    }

    pub fn pass(id: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Pass, detail)
    }

    pub fn fail(id: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Fail, detail)
    }

    pub fn error(id: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Error, detail)
    }

    pub fn skip(id: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Skip, detail)
    }

    /// Pass with `ok`, fail with `bad`, decided by `passed`.
    pub fn decide(
        id: impl Into<Cow<'static, str>>,
        passed: bool,
        detail: impl Into<String>,
    ) -> CheckResult {
        CheckResult::new(id, if passed { Status::Pass } else { Status::Fail }, detail)
    }
}

/// A check: its id, what it proves, how to fix a failure. The README's
/// table is this list (a unit test keeps them in step).
pub struct Spec {
    pub id: &'static str,
    pub proves: &'static str,
    pub fix: &'static str,
}

fn vantage_of(id: &str) -> Vantage {
    Vantage::parse(id.split('.').next().unwrap_or("")).expect("check ids start with a vantage")
}

/// The catalog id of the per-credential age check; each result's id ends
/// with the vault key instead of `<key>`.
pub const SECRETS_AGE: &str = "secrets.age.<key>";

pub const CATALOG: &[Spec] = &[
    Spec {
        id: "api.resources",
        proves: "exactly one server, one SSH key and one firewall carry the stack's labels",
        fix: "`clawprov plan` shows what differs; `clawprov up` converges, `clawprov destroy` removes extras",
    },
    Spec {
        id: "api.server.spec",
        proves: "the server runs, with the image, type and location the stack declares",
        fix: "`clawprov plan` names the difference; a type or image change is a replace",
    },
    Spec {
        id: "api.server.labels",
        proves: "the managed/stack labels are present and the user-data label equals the local render's fingerprint",
        fix: "the server was made from another user-data: `clawprov plan` shows the replace",
    },
    Spec {
        id: "api.server.protection",
        proves: "delete and rebuild protection are as the stack says",
        fix: "`clawprov up` sets them",
    },
    Spec {
        id: "api.server.rescue",
        proves: "rescue mode is off and no ISO is attached (either boots something other than the disk)",
        fix: "disable rescue / detach the ISO in the console or with `hcloud server disable-rescue` / `detach-iso`",
    },
    Spec {
        id: "api.firewall.attached",
        proves: "the stack's firewall is attached to the server and its rules are applied, not pending",
        fix: "`clawprov up` attaches it; a pending firewall settles within a minute",
    },
    Spec {
        id: "api.firewall.inbound",
        proves: "every firewall attached to the server has zero inbound rules (rules add up across firewalls)",
        fix: "remove the inbound rules, or detach the foreign firewall named in the evidence",
    },
    Spec {
        id: "api.firewall.scope",
        proves: "the stack's firewall applies to this server only: no other server, no label selector",
        fix: "remove the extra targets from the firewall",
    },
    Spec {
        id: "api.tailnet.device",
        proves: "exactly one device of the stack (its hostname and tags) is on the tailnet: registered as exactly the hostname, created after the server, connected, key expiry off",
        fix: "`clawprov plan` shows stale devices and `clawprov up` deletes them; `clawprov rotate tailscale-key` re-joins a node that dropped off",
    },
    Spec {
        id: "api.tailnet.keys",
        proves: "no auth key clawprov minted for the stack is still valid (the copy in user-data and the metadata service is worthless)",
        fix: "`clawprov rotate tailscale-key` revokes leftovers first; or revoke the key named in the evidence in the admin console",
    },
    Spec {
        id: "outside.ipv4",
        proves: "TCP 22, 80, 443 and the gateway port on the public IPv4 time out from here (an RST means the cloud firewall is not in effect)",
        fix: "check api.firewall.*; run verify from a machine outside the server's network",
    },
    Spec {
        id: "outside.ipv6",
        proves: "the same ports on the public IPv6 address (the network's ::1) time out",
        fix: "as outside.ipv4",
    },
    Spec {
        id: "outside.dns",
        proves: "the tailnet name does not resolve to a public address from here",
        fix: "remove the public DNS record for the tailnet name",
    },
    Spec {
        id: "tailnet.https",
        proves: "https://HOSTNAME.TAILNET/ answers with a certificate valid for the name",
        fix: "enable HTTPS certificates for the tailnet (admin console: DNS), then `clawprov up`",
    },
    Spec {
        id: "tailnet.auth",
        proves: "through Serve, a request without the gateway token is refused (401)",
        fix: "the gateway runs without token auth: `clawprov up` redelivers its config",
    },
    Spec {
        id: "tailnet.gateway_port",
        proves: "the gateway port on the node's tailnet address is closed (only Serve's 443 is the way in)",
        fix: "the gateway listens beyond loopback: see host.listeners",
    },
    Spec {
        id: "host.cloud_init",
        proves: "cloud-init is done without errors and the bootstrap's completion marker is present",
        fix: "read the bootstrap log (`clawprov up` prints it); a failed bootstrap means a new server",
    },
    Spec {
        id: "host.sshd",
        proves: "`sshd -T`: password and keyboard-interactive auth off, root login no, publickey only, AllowUsers the admin, no forwarding",
        fix: "restore /etc/ssh/sshd_config.d/10-clawprov.conf (a new server has it) and reload ssh",
    },
    Spec {
        id: "host.users",
        proves: "the service user has no login shell, a locked password and no sudo; no `ubuntu` user; the admin's authorized_keys are exactly the declared keys",
        fix: "remove the extra user, key or sudo rule named in the evidence",
    },
    Spec {
        id: "host.ufw",
        proves: "UFW active, default deny incoming, routing off, only tailscale0 allowed (IPv4 and IPv6), IPV6=yes",
        fix: "`sudo ufw default deny incoming`, delete the extra rules, `sudo ufw enable`",
    },
    Spec {
        id: "host.metadata",
        proves: "the metadata REJECT rules are first in OUTPUT for IPv4 and IPv6, and the service user really is refused",
        fix: "`sudo systemctl restart clawprov-metadata-block.service`",
    },
    Spec {
        id: "host.listeners",
        proves: "every listener off loopback is root's sshd or tailscaled (judged by the socket's uid, not the process name its owner chose); the gateway listens on 127.0.0.1 only",
        fix: "stop the listener named in the evidence",
    },
    Spec {
        id: "host.gateway",
        proves: "the gateway's user unit is active and enabled, and linger is on (it survives a reboot)",
        fix: "`clawprov up` starts it; `sudo loginctl enable-linger SERVICE_USER`",
    },
    Spec {
        id: "host.state",
        proves: "the home is 0750, the state and config dirs 0700, the env file and config 0600, all owned by the service user, no symlink among them",
        fix: "`clawprov up` redelivers the files; remove the symlink named in the evidence",
    },
    Spec {
        id: "host.config",
        proves: "openclaw.json's sha256 is the one clawprov delivered and it holds no secret",
        fix: "`clawprov up` redelivers it (OpenClaw may have rewritten it)",
    },
    Spec {
        id: "host.serve",
        proves: "`tailscale serve status --json`: HTTPS 443 with exactly one handler, keyed to the node's own MagicDNS name, `/` to the loopback gateway port; no Funnel, no foreground session, no Tailscale Service",
        fix: "`clawprov up` re-applies Serve (reset, then `serve --bg`); `sudo tailscale serve reset` removes Funnel, foreground sessions and Services",
    },
    Spec {
        id: "host.tailscale",
        proves: "`tailscale get --json` (1.100 on; else `tailscale debug prefs`) and `status --json`: no Tailscale SSH, no subnet routes, not an exit node (used or offered), the node's tags exactly the declared ones",
        fix: "`sudo tailscale set --ssh=false --advertise-routes= --advertise-exit-node=false --exit-node=`; tags need a new key (`clawprov rotate tailscale-key`)",
    },
    Spec {
        id: "host.audit",
        proves: "`openclaw security audit --json`, run as the service user with the gateway's environment, has 0 critical findings (warnings are reported)",
        fix: "the finding ids in the evidence; `clawprov up` redelivers clawprov's config",
    },
    Spec {
        id: "host.ssh_login",
        proves: "the running sshd, as a client on the SSH route sees it: root refused even with the admin's key, no password or keyboard-interactive authentication offered",
        fix: "as host.sshd, then `sudo systemctl reload ssh`",
    },
    Spec {
        id: "host.traces",
        proves: "the bootstrap log, the auth-key file and cloud-init's user-data copies are gone",
        fix: "`clawprov up` shreds them",
    },
    Spec {
        id: "host.secrets",
        proves: "none of the gateway's secrets (the only vault values the host ever holds, and the only ones verify sends it) and no Tailscale auth-key prefix under /var/log, /var/lib/cloud (but the root-only obj.pkl), /run, /home (but the env file), /root, /tmp, nor in the journal",
        fix: "shred the file named in the evidence and rotate the secret",
    },
    Spec {
        id: "host.upgrades",
        proves: "unattended-upgrades is on, includes Tailscale's origin, and reboots at the stack's time (or never, with `off`)",
        fix: "a new server has it; restore /etc/apt/apt.conf.d/20auto-upgrades and 52clawprov-unattended-upgrades",
    },
    Spec {
        id: "host.versions",
        proves: "the pinned Node and OpenClaw (and Tailscale, when pinned) are what is installed",
        fix: "the server was built with other pins: `clawprov plan` shows the replace",
    },
    Spec {
        id: "host.tree",
        proves: "the OpenClaw tree installed on the host (`npm ls --all`, as the service user) is exactly the release's lock: no package added, removed or at another version",
        fix: "`clawprov up` installs the locked tree as a new release when the lock changed; a tree changed on the server is a compromise to investigate (`clawprov up --replace` rebuilds)",
    },
    Spec {
        id: SECRETS_AGE,
        proves: "one check per credential in the vault (and the node's tailnet key): not older than its maximum age in the stack's `rotation:` (gateway_token 90d and ssh_private_key 365d unless set; `off` for none). A secret from before dates were recorded counts from the first time clawprov opened the vault, and says so",
        fix: "the command in the evidence: `clawprov rotate gateway-token`, `ssh-key` or `tailscale-key` (or `clawprov rotate --due` for all of them); the others are made anew at their issuer, then `clawprov rotate hcloud-token` or `clawprov secrets set KEY` and `clawprov up`",
    },
];

/// The spec of `id` (every id a check reports is in the catalog; the
/// age checks under [`SECRETS_AGE`]).
pub fn spec(id: &str) -> Option<&'static Spec> {
    let id = if id.starts_with("secrets.age.") {
        SECRETS_AGE
    } else {
        id
    };
    CATALOG.iter().find(|s| s.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_start_with_their_vantage() {
        let mut seen = std::collections::HashSet::new();
        for s in CATALOG {
            assert!(seen.insert(s.id), "{} twice", s.id);
            let _ = vantage_of(s.id);
        }
    }

    #[test]
    fn the_readme_documents_every_check() {
        let readme = include_str!("../../README.md");
        for s in CATALOG {
            assert!(
                readme.contains(&format!("| `{}` |", s.id)),
                "README.md lacks a row for {}",
                s.id
            );
        }
    }
}
