//! How the host phase tells its caller what it is doing.
//!
//! A trait rather than a progress-bar dependency: `up` maps it onto
//! [`crate::ui::Ui`] steps; tests record it. Messages passed here never
//! contain secret values (the canary tests check what a recorder saw).

use std::fmt;

/// The steps of the host phase, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStep {
    /// Find the node and wait until its SSH port answers.
    Reach,
    /// SSH handshake, host-key pin, login.
    Connect,
    /// Wait for cloud-init and the bootstrap to finish.
    CloudInit,
    /// Make sure the stack's release (Node and OpenClaw) is installed,
    /// beside the running one when it is an upgrade.
    Release,
    /// Deliver the gateway's env file, openclaw.json and unit.
    Deliver,
    /// Start the gateway and wait until it listens on loopback.
    Service,
    /// Prove the gateway takes the vault's token (and only it), also with
    /// Tailscale Serve's forwarding headers.
    Probe,
    /// Check Tailscale Serve proxies to it, with Funnel off.
    Serve,
    /// Shred the bootstrap log and cloud-init's copies of the user-data.
    Shred,
}

impl fmt::Display for HostStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostStep::Reach => "reach the node",
            HostStep::Connect => "connect over SSH",
            HostStep::CloudInit => "wait for cloud-init",
            HostStep::Release => "install the release",
            HostStep::Deliver => "deliver secrets",
            HostStep::Service => "start the gateway",
            HostStep::Probe => "prove the gateway's auth",
            HostStep::Serve => "check Tailscale Serve",
            HostStep::Shred => "shred bootstrap traces",
        })
    }
}

/// Receives progress. Implementations must be cheap and must not block.
pub trait Progress: Send + Sync {
    /// `step` began.
    fn started(&self, step: HostStep);
    /// Something worth showing while `step` runs (an attempt, a wait).
    fn detail(&self, step: HostStep, detail: &str);
    /// `step` finished with `outcome` ("delivered 2 files", "unchanged").
    fn finished(&self, step: HostStep, outcome: &str);
}

/// Progress that goes nowhere.
pub struct Silent;

impl Progress for Silent {
    fn started(&self, _: HostStep) {}
    fn detail(&self, _: HostStep, _: &str) {}
    fn finished(&self, _: HostStep, _: &str) {}
}
