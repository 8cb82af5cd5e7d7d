//! The typed stack. Every field here has passed validation by the time any
//! other layer sees it (invariant 6): layers may trust these values, but must
//! still quote them for their own context.

use std::collections::BTreeMap;
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
    /// Vault key -> maximum age (`90d`, or `off`): how old a credential may
    /// get before `verify` fails it and `rotate --due` replaces it. Over
    /// [`DEFAULT_ROTATION`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rotation: BTreeMap<String, String>,
}

/// The maximum ages a stack has without saying: the shared gateway token
/// every 90 days (seed 000: "on team changes or every 90 days, whichever
/// comes first"), the admin's SSH key yearly. Others are the user's to set.
pub const DEFAULT_ROTATION: &[(&str, u32)] = &[("gateway_token", 90), ("ssh_private_key", 365)];

/// The credential with no vault value whose age the vault records: the
/// node's tailnet key (`rotate tailscale-key`).
pub const TAILSCALE_NODE_KEY: &str = "tailscale_node_key";

impl Stack {
    /// The maximum age in days of `key` (`None`: not limited).
    pub fn max_age_days(&self, key: &str) -> Option<u32> {
        match self.rotation.get(key) {
            Some(v) => v.strip_suffix('d').and_then(|d| d.parse().ok()),
            None => DEFAULT_ROTATION
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, d)| *d),
        }
    }
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
    /// A directory holding the release's lock (`package.json`,
    /// `package-lock.json`, made by scripts/openclaw-lock.sh), relative to
    /// the stack file; none: the lock clawprov vendors for `version`.
    pub lock: Option<String>,
    /// The lock itself, read and checked by `stack::load` (src/lock).
    #[serde(skip)]
    pub locked: Option<std::sync::Arc<crate::lock::Lock>>,
    /// Loopback port the gateway listens on.
    pub port: u16,
    /// The agents' model and its fallbacks (`provider/model`).
    pub model: Model,
    /// Custom OpenAI-compatible endpoints, by provider id.
    #[serde(deserialize_with = "names::map")]
    pub providers: BTreeMap<String, CustomProvider>,
    /// The chat channels the gateway serves, with who may talk to it.
    pub channels: Channels,
    /// Which tools the agent gets.
    pub tools: Tools,
    /// Any other `openclaw.json` keys, merged last (src/gateway/settings.rs).
    pub settings: serde_yaml::Mapping,
}

/// The model OpenClaw's agents use unless the stack says otherwise: the
/// newest Opus in the pinned release's own Anthropic catalog
/// (vendor/openclaw/2026.9.6/models.txt). 2026.9.6 itself defaults to a
/// non-Anthropic model.
pub const DEFAULT_MODEL: &str = "anthropic/claude-opus-5-5";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Model {
    pub primary: String,
    #[serde(deserialize_with = "names::list")]
    pub fallbacks: Vec<String>,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            primary: DEFAULT_MODEL.into(),
            fallbacks: vec![],
        }
    }
}

/// A vault key named where a secret is needed: `{secret: KEY}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub secret: String,
}

/// An OpenAI-compatible endpoint (vLLM, Ollama, LiteLLM, a hosted one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomProvider {
    /// `https://host/v1` (or `http://127.0.0.1:PORT/v1` on the server).
    pub base_url: String,
    /// OpenClaw's API adapter; `openai-completions` unless given.
    #[serde(default = "default_api")]
    pub api: String,
    /// The key's vault entry; default `<id>_api_key`.
    #[serde(default)]
    pub api_key: Option<SecretRef>,
    /// The model ids it serves (`<id>/<model>` in `model.primary`).
    #[serde(deserialize_with = "names::list")]
    pub models: Vec<String>,
}

fn default_api() -> String {
    "openai-completions".into()
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Channels {
    pub telegram: Option<Channel>,
    pub discord: Option<Channel>,
    pub slack: Option<Channel>,
}

impl Channels {
    /// The declared channels, by name, in a fixed order.
    pub fn declared(&self) -> Vec<(&'static str, &Channel)> {
        [
            ("telegram", &self.telegram),
            ("discord", &self.discord),
            ("slack", &self.slack),
        ]
        .into_iter()
        .filter_map(|(name, c)| c.as_ref().map(|c| (name, c)))
        .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Channel {
    /// The bot token's vault key; default `<channel>_bot_token`.
    pub token: Option<SecretRef>,
    /// Slack's app-level token (Socket Mode); default `slack_app_token`.
    pub app_token: Option<SecretRef>,
    /// Who may message the bot directly.
    pub dm: DmPolicy,
    /// Sender ids allowed to DM (required with `dm: allowlist`).
    #[serde(deserialize_with = "names::list")]
    pub allow_from: Vec<String>,
    /// The group chats the bot answers in, by the channel's own ids; none:
    /// no group chat.
    #[serde(deserialize_with = "names::map")]
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DmPolicy {
    /// Unknown senders get a pairing code the owner approves.
    #[default]
    Pairing,
    Allowlist,
    Open,
    Disabled,
}

impl DmPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DmPolicy::Pairing => "pairing",
            DmPolicy::Allowlist => "allowlist",
            DmPolicy::Open => "open",
            DmPolicy::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Group {
    /// Answer only when mentioned.
    pub require_mention: bool,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            require_mention: true,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tools {
    pub baseline: Baseline,
    /// Tools added (OpenClaw's `tools.alsoAllow`); one the baseline denies
    /// is taken off its deny list.
    #[serde(deserialize_with = "names::list")]
    pub allow: Vec<String>,
    /// Tools denied on top of the baseline.
    #[serde(deserialize_with = "names::list")]
    pub deny: Vec<String>,
    /// The gateway's OpenResponses file and image inputs (off unless declared).
    pub http: Http,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    /// OpenClaw's "Hardened baseline in 60 seconds".
    #[default]
    Hardened,
    /// OpenClaw's own defaults.
    Standard,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    pub files: Option<Endpoint>,
    pub images: Option<Endpoint>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Endpoint {
    /// Hosts (`example.com`, `*.example.com`) URLs may be fetched from.
    #[serde(deserialize_with = "names::list")]
    pub url_allowlist: Vec<String>,
}

/// Ids written as YAML numbers (Telegram's `-1001234`, Discord's
/// snowflakes) read as the text they are.
mod names {
    use std::collections::BTreeMap;

    use serde::de::{Deserialize, Deserializer, Error};
    use serde_yaml::Value;

    fn text<E: Error>(v: Value) -> Result<String, E> {
        match v {
            Value::String(s) => Ok(s),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(n.to_string()),
            other => Err(E::custom(format!(
                "expected a name or an id, found {}",
                match other {
                    Value::Null => "nothing",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a fraction",
                    _ => "a structure",
                }
            ))),
        }
    }

    pub fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Vec::<Value>::deserialize(d)?
            .into_iter()
            .map(text)
            .collect()
    }

    pub fn map<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
    where
        D: Deserializer<'de>,
        T: serde::de::DeserializeOwned,
    {
        let raw = serde_yaml::Mapping::deserialize(d)?;
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let v = match v {
                Value::Null => serde_yaml::from_value(Value::Mapping(Default::default())),
                v => serde_yaml::from_value(v),
            }
            .map_err(D::Error::custom)?;
            out.insert(text(k)?, v);
        }
        Ok(out)
    }
}

/// The OpenClaw release clawprov defaults to: the newest stable release the
/// contract test (tests/openclaw_contract.rs) runs in CI.
pub const DEFAULT_OPENCLAW_VERSION: &str = "2026.9.6";
/// The Node release clawprov defaults to: a Node 24 LTS release that
/// 2026.9.6's `engines.node` (`>=24.16.0 <25 || >=26.1.0`) accepts.
pub const DEFAULT_NODE_VERSION: &str = "24.22.3";

impl OpenClaw {
    /// The release's lock: the one `stack::load` read, else the one
    /// clawprov vendors for the version.
    pub fn lock(&self) -> Option<std::sync::Arc<crate::lock::Lock>> {
        self.locked
            .clone()
            .or_else(|| crate::lock::Lock::vendored(&self.version))
    }
}

impl Default for OpenClaw {
    fn default() -> Self {
        OpenClaw {
            version: DEFAULT_OPENCLAW_VERSION.into(),
            lock: None,
            locked: None,
            port: 18789,
            model: Model::default(),
            providers: BTreeMap::new(),
            channels: Channels::default(),
            tools: Tools::default(),
            settings: serde_yaml::Mapping::new(),
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
