//! What a stack wants to exist on Hetzner, derived from the stack file, the
//! vault's operator key and the rendered user-data. Pure data: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::hetzner::FirewallRule;
use crate::stack::Stack;

/// Every resource of a stack carries this label with the stack's name; the
/// label (not a name, not a state file) is how clawprov finds its resources.
pub const STACK_LABEL: &str = "clawprov/stack";
/// Marks a resource as created (and so deletable) by clawprov.
pub const MANAGED_LABEL: &str = "clawprov/managed";
/// On the server: [`crate::render::UserData::fingerprint`] of what it booted
/// with. user-data cannot change after creation, so a different fingerprint
/// means the server must be replaced.
pub const USER_DATA_LABEL: &str = "clawprov/user-data";
/// On the server: the OpenClaw and Node versions its bootstrap installed, so
/// `plan` can say that a replace is an upgrade (and what it costs).
pub const OPENCLAW_LABEL: &str = "clawprov/openclaw";
pub const NODE_LABEL: &str = "clawprov/node";
/// The first 32 hex digits of the sha256 of the openclaw.json the last
/// successful host phase delivered.
pub const CONFIG_LABEL: &str = "clawprov/config";
/// The [`crate::lock::Lock::hash`] of the tree the last successful host
/// phase left running (none: an unlocked tree, set up before locks).
pub const LOCK_LABEL: &str = "clawprov/lock";
/// The bootstrap generation ([`crate::render::BOOTSTRAP_GENERATION`]) the
/// server's user-data fingerprint belongs to (none: generation 1).
pub const BOOTSTRAP_LABEL: &str = "clawprov/bootstrap";

/// The label selector that finds every resource of `stack` (and nothing of
/// another stack, even one whose name starts the same).
pub fn selector(stack: &str) -> String {
    format!("{STACK_LABEL}={stack},{MANAGED_LABEL}=true")
}

/// The labels shared by the SSH key and the firewall.
pub fn base_labels(stack: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (STACK_LABEL.to_string(), stack.to_string()),
        (MANAGED_LABEL.to_string(), "true".to_string()),
    ])
}

/// Name of the SSH key and the firewall: `clawprov-<stack>`. The stack name
/// is at most 63 characters, Hetzner names may be longer, so this always fits.
pub fn resource_name(stack: &str) -> String {
    format!("clawprov-{stack}")
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredSshKey {
    pub name: String,
    /// `ssh-ed25519 AAAA...` (the public half of the vault's `ssh_private_key`).
    pub public_key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredFirewall {
    pub name: String,
    /// Exactly these rules: none inbound. Hetzner allows all outbound traffic
    /// when a firewall has no outbound rule, so the empty list means
    /// "nothing in, everything out".
    #[serde(skip)]
    pub rules: Vec<FirewallRule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DesiredServer {
    /// The stack's Tailscale hostname: the server is known by one name both
    /// in the Hetzner console and on the tailnet.
    pub name: String,
    pub server_type: String,
    pub location: String,
    pub image: String,
    pub user_data_fingerprint: String,
    /// What the fingerprint was under the previous bootstrap generation.
    pub previous_user_data_fingerprint: Option<String>,
    /// This generation's fingerprint as it was taken before the operator
    /// keys were held fixed ([`crate::render::UserData::keyed_fingerprint`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyed_user_data_fingerprint: Option<String>,
    pub openclaw_version: String,
    pub node_version: String,
    /// The release's lock (its hash).
    pub lock: Option<String>,
    #[serde(skip)]
    pub lock_tree: Option<std::sync::Arc<crate::lock::Lock>>,
    /// clawprov's record of the lock it last installed (src/lock/record.rs).
    #[serde(skip)]
    pub last_lock: Option<std::sync::Arc<crate::lock::Lock>>,
    pub backups: bool,
    pub protect_delete: bool,
    pub protect_rebuild: bool,
    pub public_ipv4: bool,
    pub public_ipv6: bool,
}

/// Everything one stack wants.
/// The gateway's configuration as the stack declares it.
#[derive(Debug, Clone, Serialize)]
pub struct DesiredConfig {
    /// The label value: sha256 of openclaw.json, first 32 hex digits.
    pub label: String,
    /// The whole openclaw.json (SecretRefs only, no secret value).
    #[serde(skip)]
    pub json: serde_json::Value,
    /// Settings weaker than the hardened baseline, unknown models.
    pub warnings: Vec<String>,
    /// clawprov's local record of the openclaw.json it last delivered
    /// (`<stack>.openclaw.json` beside the stack file), when there is one.
    #[serde(skip)]
    pub last_delivered: Option<serde_json::Value>,
}

impl DesiredConfig {
    /// The label value for openclaw.json's text.
    pub fn label_of(text: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(text.as_bytes()))[..32].to_string()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Desired {
    pub stack: String,
    /// None for plans made without the gateway (tests of other steps).
    pub config: Option<DesiredConfig>,
    pub ssh_key: DesiredSshKey,
    pub firewall: DesiredFirewall,
    pub server: DesiredServer,
    /// `https://<hostname>.<tailnet>/`: where the gateway will answer.
    pub tailnet_url: String,
    /// How the env file the vault makes differs from the one the vault
    /// records delivering (`None`: no record).
    #[serde(skip)]
    pub env: Option<super::env::EnvChange>,
}

impl Desired {
    /// `operator_key` is the public key (`ssh-ed25519 ...`), `fingerprint`
    /// the rendered user-data's [`crate::render::UserData::fingerprint`].
    pub fn new(stack: &Stack, operator_key: &str, fingerprint: &str) -> Desired {
        let h = &stack.hetzner;
        Desired {
            stack: stack.name.clone(),
            config: None,
            ssh_key: DesiredSshKey {
                name: resource_name(&stack.name),
                public_key: operator_key.trim().to_string(),
            },
            firewall: DesiredFirewall {
                name: resource_name(&stack.name),
                rules: Vec::new(),
            },
            server: DesiredServer {
                name: stack.tailscale.hostname.clone(),
                server_type: h.server_type.clone(),
                location: h.location.clone(),
                image: h.image.clone(),
                user_data_fingerprint: fingerprint.to_string(),
                previous_user_data_fingerprint: None,
                keyed_user_data_fingerprint: None,
                openclaw_version: stack.openclaw.version.clone(),
                node_version: stack.node.version.clone(),
                lock: stack.openclaw.lock().map(|l| l.hash().to_string()),
                lock_tree: stack.openclaw.lock(),
                last_lock: None,
                backups: h.backups,
                protect_delete: h.protection.delete,
                protect_rebuild: h.protection.rebuild,
                public_ipv4: h.public_ipv4,
                public_ipv6: h.public_ipv6,
            },
            tailnet_url: format!(
                "https://{}.{}/",
                stack.tailscale.hostname, stack.tailscale.tailnet
            ),
            env: None,
        }
    }

    /// Labels of the SSH key and the firewall.
    /// The same, recognising servers the previous bootstrap generation set
    /// up for this stack by `fingerprint`
    /// ([`crate::render::UserData::previous_fingerprint`]).
    pub fn with_previous_fingerprint(mut self, fingerprint: &str) -> Desired {
        self.server.previous_user_data_fingerprint = Some(fingerprint.to_string());
        self
    }

    /// The same, recognising servers this generation labelled before the
    /// operator keys left the fingerprint.
    pub fn with_keyed_fingerprint(mut self, fingerprint: &str) -> Desired {
        self.server.keyed_user_data_fingerprint = Some(fingerprint.to_string());
        self
    }

    /// The same, with clawprov's record of the lock it last installed.
    pub fn with_last_lock(mut self, lock: Option<crate::lock::Lock>) -> Desired {
        self.server.last_lock = lock.map(std::sync::Arc::new);
        self
    }

    /// The same, with the env file's change since it was last delivered.
    pub fn with_env(mut self, env: Option<super::env::EnvChange>) -> Desired {
        self.env = env;
        self
    }

    /// The same, with the gateway's configuration.
    pub fn with_config(mut self, config: DesiredConfig) -> Desired {
        self.config = Some(config);
        self
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        base_labels(&self.stack)
    }

    /// Labels of the server: the base labels plus the user-data fingerprint
    /// and the installed versions (validated versions are valid label values).
    pub fn server_labels(&self) -> BTreeMap<String, String> {
        let mut labels = self.labels();
        labels.insert(
            USER_DATA_LABEL.to_string(),
            self.server.user_data_fingerprint.clone(),
        );
        labels.insert(
            OPENCLAW_LABEL.to_string(),
            self.server.openclaw_version.clone(),
        );
        labels.insert(NODE_LABEL.to_string(), self.server.node_version.clone());
        labels.insert(
            BOOTSTRAP_LABEL.to_string(),
            crate::render::BOOTSTRAP_GENERATION.to_string(),
        );
        if let Some(lock) = &self.server.lock {
            labels.insert(LOCK_LABEL.to_string(), lock.clone());
        }
        if let Some(c) = &self.config {
            labels.insert(CONFIG_LABEL.to_string(), c.label.clone());
        }
        labels
    }
}
