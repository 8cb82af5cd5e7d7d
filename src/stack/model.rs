//! The typed stack. Every field here has passed validation by the time any
//! other layer sees it (invariant 6): layers may trust these values, but must
//! still quote them for their own context.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One deployment: a server, its firewall and SSH key, and what runs on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    /// Label-safe name (`[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`); names every resource.
    pub name: String,
    #[serde(default)]
    pub hetzner: Hetzner,
    pub tailscale: Tailscale,
    #[serde(default)]
    pub openclaw: OpenClaw,
    #[serde(default)]
    pub node: Node,
    #[serde(default)]
    pub host: Host,
    #[serde(default)]
    pub secrets: SecretsConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hetzner {
    pub location: String,
    pub server_type: String,
    pub image: String,
    pub backups: bool,
    pub protection: Protection,
    pub public_ipv4: bool,
    pub public_ipv6: bool,
}

impl Default for Hetzner {
    fn default() -> Self {
        Hetzner {
            location: "fsn1".into(),
            server_type: "cax21".into(),
            image: "ubuntu-24.04".into(),
            backups: true,
            protection: Protection::default(),
            public_ipv4: true,
            public_ipv6: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protection {
    pub delete: bool,
    pub rebuild: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tailscale {
    /// MagicDNS suffix of the tailnet, e.g. `tail1234.ts.net`.
    pub tailnet: String,
    /// RFC 1123 label the node registers as.
    pub hostname: String,
    /// ACL tags (`tag:name`) the node advertises.
    #[serde(default = "default_tags")]
    pub tags: Vec<String>,
    #[serde(default)]
    pub auth: TailscaleAuth,
    /// The Tailscale package version the first boot installs from
    /// pkgs.tailscale.com (`apt-get install tailscale=VERSION`); none: the
    /// repository's current stable. Either way unattended-upgrades keeps it
    /// patched afterwards (Tailscale's origin is allowed).
    #[serde(default)]
    pub version: Option<String>,
}

fn default_tags() -> Vec<String> {
    vec!["tag:openclaw".into()]
}

/// Where the node's auth key comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TailscaleAuth {
    /// A pre-made auth key stored in the vault as `tailscale_auth_key`.
    #[default]
    AuthKey,
    /// An OAuth client in the vault mints a one-off key per deployment.
    Oauth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenClaw {
    /// Exact npm version of `openclaw` (no ranges, no `latest`).
    pub version: String,
    /// Loopback port the gateway listens on.
    pub port: u16,
}

/// The OpenClaw release clawprov defaults to: the newest stable release the
/// contract test (tests/openclaw_contract.rs) runs in CI.
pub const DEFAULT_OPENCLAW_VERSION: &str = "2026.9.6";
/// The Node release clawprov defaults to: a Node 24 LTS release that
/// 2026.9.6's `engines.node` (`>=24.16.0 <25 || >=26.1.0`) accepts.
pub const DEFAULT_NODE_VERSION: &str = "24.22.3";

impl Default for OpenClaw {
    fn default() -> Self {
        OpenClaw {
            version: DEFAULT_OPENCLAW_VERSION.into(),
            port: 18789,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Node {
    /// Exact Node.js version, `MAJOR.MINOR.PATCH`.
    pub version: String,
    /// Exact nvm release, `MAJOR.MINOR.PATCH`.
    pub nvm_version: String,
    /// sha256 (hex) of that release's `install.sh`.
    pub nvm_sha256: String,
}

impl Default for Node {
    fn default() -> Self {
        Node {
            version: DEFAULT_NODE_VERSION.into(),
            nvm_version: "0.40.3".into(),
            nvm_sha256: "2d8359a64a3cb07c02389ad88ceecd43f2fa469c06104f92f98df5b6f315275f".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Host {
    /// Login user with sudo; clawprov connects as this user.
    pub admin_user: String,
    /// Unprivileged user that runs the gateway; no sudo, no SSH keys.
    pub service_user: String,
    /// Extra operator public keys (ssh-ed25519) allowed to log in as admin_user.
    pub authorized_keys: Vec<String>,
    /// When unattended-upgrades may reboot the server if an upgrade needs it
    /// (a kernel, libc): `HH:MM` in the server's time (UTC), or `off`.
    pub reboot_time: String,
}

impl Default for Host {
    fn default() -> Self {
        Host {
            admin_user: "clawadmin".into(),
            service_user: "openclaw".into(),
            authorized_keys: vec![],
            reboot_time: "04:00".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecretsConfig {
    /// Vault path, relative to the stack file's directory. Default `<name>.secrets.age`.
    pub file: Option<PathBuf>,
    /// age recipients (`age1...`, `ssh-ed25519 ...`). Empty with `passphrase: true`
    /// means a passphrase vault.
    pub recipients: Vec<String>,
    /// Encrypt the vault to a passphrase instead of recipients.
    pub passphrase: bool,
}
