//! The host half of a plan: what the host phase will change in place on a
//! server that stays, with reasons. Today that is the release (OpenClaw
//! and Node versions): the user-data fingerprint leaves it out, so a new
//! version is an upgrade on the running server, not a replace.
//!
//! Computed from the server's labels alone (`clawprov/openclaw`,
//! `clawprov/node`: the release the last successful host phase left
//! running), so `plan` needs no SSH. `up` writes the labels only after the
//! host phase succeeded; an upgrade that rolled back leaves them, and the
//! next plan shows the same upgrade again.

use serde::Serialize;

use super::desired::{
    Desired, BOOTSTRAP_LABEL, CONFIG_LABEL, LOCK_LABEL, NODE_LABEL, OPENCLAW_LABEL, USER_DATA_LABEL,
};
use super::observed::Observed;
use super::step::{Op, Resource, Step};
use crate::gateway::diff::{diff, KeyChange};
use crate::lock::Lock;
use crate::render::BOOTSTRAP_GENERATION;

/// One change the host phase makes on the running server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostChange {
    /// `openclaw.version`, `node.version`, `openclaw.lock` or `bootstrap`.
    pub field: &'static str,
    /// What runs now (`None`: the server carries no label for it).
    pub from: Option<String>,
    pub to: String,
    pub reason: String,
}

/// A new openclaw.json for the running server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigChange {
    /// The label the server carries (`None`: none yet).
    pub from: Option<String>,
    pub to: String,
    /// Key by key, against clawprov's record of what it last delivered;
    /// empty when there is no record matching the server's label.
    pub keys: Vec<KeyChange>,
    pub reason: String,
}

/// The host phase's changes on one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostPlan {
    /// The server they apply to, in place.
    pub server: Option<i64>,
    pub changes: Vec<HostChange>,
    /// The gateway's configuration, when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigChange>,
    /// The env file's secrets, when the vault's differ from the ones it
    /// records delivering (which keys; never values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<EnvPlan>,
    /// The configuration's warnings (weaker than the hardened baseline, a
    /// model not in the catalog), whether or not it changes.
    pub warnings: Vec<String>,
}

/// A new env file for the running server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvPlan {
    #[serde(flatten)]
    pub keys: super::env::EnvChange,
    pub reason: String,
}

/// How an env file change goes, for the plan's reader.
pub const ENV_HOW: &str = "deliver the new env file (0600, as the service user), restart the \
    gateway, probe it with the vault's token as up does, and put the previous file back if it \
    does not come up";

/// How a config change goes, for the plan's reader.
pub const CONFIG_HOW: &str = "deliver the new openclaw.json and env file, restart the gateway, \
    probe as up does, and put the previous files back if the gateway refuses them; server and \
    state directory kept";

/// The locked tree, when the server runs another (or an unlocked one):
/// how many packages the supply-chain change adds, removes and changes.
fn lock_change(
    desired: &Desired,
    labels: &std::collections::BTreeMap<String, String>,
) -> Option<HostChange> {
    let want = &desired.server;
    let to = want.lock.clone()?;
    let from = labels.get(LOCK_LABEL);
    if from == Some(&to) {
        return None;
    }
    let size = want
        .lock_tree
        .as_ref()
        .map(|l| l.packages().len())
        .unwrap_or(0);
    let reason = match from {
        None => format!(
            "the server runs an unlocked OpenClaw tree (no {LOCK_LABEL} label: set up by an earlier \
             clawprov, which resolved the tree anew at install): the locked tree ({size} packages, \
             lifecycle scripts off) is installed as a new release; {HOW}"
        ),
        Some(had) => {
            let running = Lock::vendored_by_hash(had)
                .or_else(|| want.last_lock.clone().filter(|l| l.hash() == had));
            match (running, &want.lock_tree) {
                (Some(old), Some(new)) => format!(
                    "lock {had} -> {to}: {} packages ({}); {HOW}",
                    size,
                    old.changes_to(new).counts()
                ),
                _ => format!(
                    "lock {had} -> {to} ({size} packages; the running lock is neither one this \
                     clawprov vendors nor the one it recorded installing, so the change cannot be \
                     counted); {HOW}"
                ),
            }
        }
    };
    Some(HostChange {
        field: "openclaw.lock",
        from: from.cloned(),
        to,
        reason,
    })
}

/// A server the previous bootstrap generation set up (kept by
/// `compute`): the host phase brings it into line, then `up` labels it
/// with the current generation.
fn bootstrap_change(labels: &std::collections::BTreeMap<String, String>) -> Option<HostChange> {
    let to = BOOTSTRAP_GENERATION.to_string();
    if labels.get(BOOTSTRAP_LABEL) == Some(&to) {
        return None;
    }
    Some(HostChange {
        field: "bootstrap",
        from: labels.get(BOOTSTRAP_LABEL).cloned(),
        to,
        reason: "set up by an earlier clawprov (bootstrap generation 1, which installed OpenClaw \
                 unlocked at first boot); kept, not replaced: the host phase brings it into line \
                 (the locked tree as a new release), then the server is labelled with this \
                 generation and its user-data fingerprint"
            .into(),
    })
}

/// A server this generation labelled when the fingerprint still covered
/// the operator keys: relabelled with the fingerprint that does not (only
/// the label changes), so a later key rotation is not a replace.
fn keyed_label_change(
    desired: &Desired,
    labels: &std::collections::BTreeMap<String, String>,
) -> Option<HostChange> {
    let want = &desired.server;
    let have = labels.get(USER_DATA_LABEL)?;
    if labels.get(BOOTSTRAP_LABEL) != Some(&BOOTSTRAP_GENERATION.to_string())
        || *have == want.user_data_fingerprint
        || Some(have) != want.keyed_user_data_fingerprint.as_ref()
    {
        return None;
    }
    Some(HostChange {
        field: "user-data",
        from: Some(have.clone()),
        to: want.user_data_fingerprint.clone(),
        reason: "labelled by an earlier clawprov whose user-data fingerprint covered the \
                 operator keys (now the host phase keeps the admin's authorized_keys, so a \
                 rotated key is not a new server): the same user-data, relabelled; nothing \
                 changes on the server"
            .into(),
    })
}

/// How an upgrade goes, for the plan's reader.
pub const HOW: &str = "install the new release beside the running one, switch the gateway's \
    unit to it, restart, probe as up does, and roll back to the running release if it does \
    not come up; the state directory (~/.openclaw) is not touched";

impl HostPlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.config.is_none() && self.env.is_none()
    }
}

/// The changes on the server `steps` keep (no create, no replace: a new
/// server boots with the release its user-data pins).
pub fn plan(desired: &Desired, observed: &Observed, steps: &[Step]) -> HostPlan {
    let kept = steps.iter().find(|s| {
        s.resource == Resource::Server && matches!(s.op, Op::NoOp | Op::Update | Op::Wait)
    });
    let warnings = desired
        .config
        .as_ref()
        .map(|c| c.warnings.clone())
        .unwrap_or_default();
    let Some(server) = kept
        .and_then(|s| s.id)
        .and_then(|id| observed.servers.iter().find(|s| s.id == id))
    else {
        return HostPlan {
            warnings,
            ..HostPlan::default()
        };
    };
    let want = &desired.server;
    let mut changes: Vec<HostChange> = [
        ("openclaw.version", OPENCLAW_LABEL, &want.openclaw_version),
        ("node.version", NODE_LABEL, &want.node_version),
    ]
    .into_iter()
    .filter_map(|(field, label, to)| {
        let from = server.labels.get(label);
        if from == Some(to) {
            return None;
        }
        let reason = match from {
            Some(had) => format!("{field} {had} -> {to} (label {label}={had}); {HOW}"),
            None => format!(
                "the server carries no {label} label, so which release runs is not known from \
                 the API; the host phase installs {to} if it is missing and switches to it"
            ),
        };
        Some(HostChange {
            field,
            from: from.cloned(),
            to: to.clone(),
            reason,
        })
    })
    .collect();
    changes.extend(lock_change(desired, &server.labels));
    changes.extend(bootstrap_change(&server.labels));
    changes.extend(keyed_label_change(desired, &server.labels));
    let config = desired.config.as_ref().and_then(|c| {
        let from = server.labels.get(CONFIG_LABEL);
        if from == Some(&c.label) {
            return None;
        }
        let record = c.last_delivered.as_ref().filter(|r| {
            let text = format!("{}\n", serde_json::to_string_pretty(r).unwrap_or_default());
            from == Some(&super::desired::DesiredConfig::label_of(&text))
        });
        let keys = record.map(|r| diff(r, &c.json, true)).unwrap_or_default();
        let reason = match (from, record) {
            (None, _) => format!(
                "the server carries no {CONFIG_LABEL} label, so which openclaw.json it runs is not \
                 known from the API; {CONFIG_HOW}"
            ),
            (Some(had), None) => format!(
                "openclaw.json {had} -> {} (no local record of {had} to compare key by key; \
                 `clawprov verify` shows the keys that differ on the server); {CONFIG_HOW}",
                c.label
            ),
            (Some(had), Some(_)) => format!("openclaw.json {had} -> {}; {CONFIG_HOW}", c.label),
        };
        Some(ConfigChange {
            from: from.cloned(),
            to: c.label.clone(),
            keys,
            reason,
        })
    });
    let env = desired
        .env
        .clone()
        .filter(|e| !e.is_empty())
        .map(|keys| EnvPlan {
            reason: format!("the vault's secrets changed: {}; {ENV_HOW}", keys.summary()),
            keys,
        });
    HostPlan {
        server: Some(server.id),
        changes,
        config,
        env,
        warnings,
    }
}
