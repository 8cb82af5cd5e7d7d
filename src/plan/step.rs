//! One step of a plan: what happens to which resource, and why.

use serde::Serialize;

/// The kind of Hetzner resource a step is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    SshKey,
    Firewall,
    Server,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::SshKey => "ssh key",
            Resource::Firewall => "firewall",
            Resource::Server => "server",
        }
    }
}

/// What a step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Nothing to do.
    NoOp,
    /// Create the resource (and apply `changes` right after).
    Create,
    /// Change the existing resource in place (`changes`).
    Update,
    /// Delete the existing resource and create it anew (destructive).
    Replace,
    /// Delete the resource (destructive).
    Delete,
    /// The server exists and is still booting: wait until it is running.
    Wait,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::NoOp => "no-op",
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Delete => "delete",
            Op::Wait => "wait",
        }
    }

    /// Sends at least one mutating request.
    pub fn mutates(self) -> bool {
        matches!(self, Op::Create | Op::Update | Op::Replace | Op::Delete)
    }

    /// Removes something that exists: `up` asks first (or needs `--yes`).
    pub fn destructive(self) -> bool {
        matches!(self, Op::Replace | Op::Delete)
    }
}

/// A change applied in place (after a create, or as an update).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    /// Replace the firewall's rules with the desired ones (none inbound).
    SetRules,
    EnableBackups,
    DisableBackups,
    /// Set delete/rebuild protection to these values.
    Protection {
        delete: bool,
        rebuild: bool,
    },
    /// Apply the stack's firewall to the server.
    AttachFirewall {
        firewall: String,
    },
}

impl Change {
    pub fn describe(&self) -> String {
        match self {
            Change::SetRules => "set rules to none inbound".into(),
            Change::EnableBackups => "enable backups".into(),
            Change::DisableBackups => "disable backups".into(),
            Change::Protection { delete, rebuild } => {
                format!("protection delete={delete} rebuild={rebuild}")
            }
            Change::AttachFirewall { firewall } => format!("attach firewall {firewall}"),
        }
    }
}

/// One step. `id` is the existing resource's id (none for a create).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub resource: Resource,
    pub name: String,
    pub id: Option<i64>,
    pub op: Op,
    pub changes: Vec<Change>,
    pub reason: String,
}

impl Step {
    pub(crate) fn new(resource: Resource, name: &str, id: Option<i64>, op: Op) -> Step {
        Step {
            resource,
            name: name.to_string(),
            id,
            op,
            changes: Vec::new(),
            reason: String::new(),
        }
    }

    pub(crate) fn because(mut self, reason: impl Into<String>) -> Step {
        self.reason = reason.into();
        self
    }

    pub(crate) fn with(mut self, changes: Vec<Change>) -> Step {
        self.changes = changes;
        self
    }
}
