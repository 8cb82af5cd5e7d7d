//! The host phase as one call: reach, connect, wait for cloud-init, deliver,
//! start, check Serve, shred.
//!
//! Idempotent: on a finished host it only reads (cloud-init status, file
//! hashes, `is-active`, `ss`, serve status, a search for traces) and writes
//! nothing; secrets are re-delivered only when they changed, and the
//! gateway is restarted only then.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::account::Account;
use super::address::PeerPolicy;
use super::connect::{self, Login};
use super::deliver::{self, FileOutcome};
use super::known_hosts::Pin;
use super::paths::HostPaths;
use super::progress::{HostStep, Progress};
use super::service::{self, ServiceAction};
use super::session::{Opened, Session};
use super::target::{self, Target};
use super::{cloud_init, plugins, probe, serve, shred, write_back, HostError};
use crate::secrets::{Secret, Vault};
use crate::stack::Stack;

/// Everything the host phase needs.
pub struct HostInputs<'a> {
    pub stack: &'a Stack,
    pub vault: &'a Vault,
    /// `--ssh-host`: connect here instead of the node's MagicDNS name.
    /// Allows loopback peers too (tests, SSH port-forwards).
    pub ssh_host: Option<Target>,
    /// `--allow-non-tailnet`: allow a peer outside the tailnet ranges.
    pub allow_non_tailnet: bool,
    /// The node's tailnet address, as the Tailscale API gives it for the
    /// device of this server: connect there rather than to the MagicDNS
    /// name, which may still point at an older node.
    pub node_address: Option<std::net::IpAddr>,
    /// `stacks/<name>.known_hosts`.
    pub known_hosts: PathBuf,
    /// The Hetzner server's id (from the Hetzner phase), when known: its
    /// host key is pinned for that server, so a replace re-pins
    /// deliberately and a changed key on the same server stays an error.
    pub server_id: Option<i64>,
    /// How long to wait for the node's SSH port to answer.
    pub reach_deadline: Duration,
    /// How long to wait for cloud-init, and for the gateway to listen.
    pub step_deadline: Duration,
    /// Server paths (real ones by default).
    pub paths: HostPaths,
}

impl HostInputs<'_> {
    /// The known_hosts file beside a stack file: `stacks/<name>.known_hosts`.
    pub fn known_hosts_beside(stack_file: &std::path::Path, stack: &Stack) -> PathBuf {
        let dir = stack_file.parent().unwrap_or(std::path::Path::new("."));
        dir.join(format!("{}.known_hosts", stack.name))
    }
}

/// What the host phase did; `--json` prints it. Holds no secret.
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    /// `https://<node>/`: the gateway through Tailscale Serve.
    pub url: String,
    /// Where clawprov connected (`host:port`) and the address it reached.
    pub target: String,
    pub address: String,
    pub host_key: HostKeyReport,
    pub cloud_init: String,
    pub files: Vec<FileOutcome>,
    pub service: ServiceAction,
    pub serve_configured: bool,
    /// OpenClaw rewrote openclaw.json after the start (it holds no secret:
    /// that would have been an error).
    pub config_rewritten: bool,
    /// OpenClaw plugins installed by this run (the vault called for them).
    pub plugins_installed: Vec<&'static str>,
    pub shredded: Vec<String>,
    /// True when anything on the server was written or started.
    pub changed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostKeyReport {
    pub fingerprint: String,
    pub pin: Pin,
    pub known_hosts: PathBuf,
}

/// The vault's `key`, or an error saying what it is for.
fn required<'a>(
    vault: &'a Vault,
    key: &'static str,
    why: &'static str,
) -> Result<&'a crate::secrets::Secret, HostError> {
    vault.get(key).ok_or(HostError::MissingSecret { key, why })
}

/// Run the host phase. `progress` hears each step start and finish.
pub async fn run(inputs: HostInputs<'_>, progress: &dyn Progress) -> Result<HostReport, HostError> {
    let stack = inputs.stack;
    let key = required(
        inputs.vault,
        "ssh_private_key",
        "clawprov's login to the server",
    )?
    .clone();
    let target = route(&inputs).0;
    let (addr, session, opened) = login(&inputs, &key, progress).await?;
    let fingerprint = opened.host_key.fingerprint();
    progress.finished(
        HostStep::Connect,
        &match opened.pin {
            Pin::Matched => format!("host key {fingerprint} matches the pin"),
            Pin::PinnedNow => format!(
                "host key {fingerprint} pinned in {}",
                inputs.known_hosts.display()
            ),
            Pin::Repinned { replaced_server } => format!(
                "host key {fingerprint} pinned in {} for this server, replacing the pin of \
                 server #{replaced_server}, which it replaced",
                inputs.known_hosts.display()
            ),
        },
    );

    progress.started(HostStep::CloudInit);
    let cloud = cloud_init::wait(&session, &inputs.paths, inputs.step_deadline).await?;
    progress.finished(
        HostStep::CloudInit,
        &format!("cloud-init {cloud}, bootstrap complete"),
    );

    progress.started(HostStep::Deliver);
    let account = Account::lookup(&session, &stack.host.service_user).await?;
    let home_fixed = account.ensure_home_mode(&session).await?;
    if home_fixed {
        progress.detail(HostStep::Deliver, &format!("{} made 0750", account.home));
    }
    let plugins_installed = plugins::ensure(&session, stack, &account, inputs.vault).await?;
    for id in &plugins_installed {
        progress.detail(
            HostStep::Deliver,
            &format!(
                "installed OpenClaw's {id} plugin at {}",
                stack.openclaw.version
            ),
        );
    }
    let desired = deliver::desired_files(stack, inputs.vault, &account)?;
    let config = desired
        .iter()
        .find(|f| f.path.ends_with(deliver::CONFIG_FILE))
        .map(|f| (f.path.clone(), f.sha256_hex()));
    let files = deliver::deliver(&session, &account, desired).await?;
    let delivered = files.iter().filter(|f| f.delivered).count();
    progress.finished(
        HostStep::Deliver,
        &if delivered == 0 {
            "unchanged".to_string()
        } else {
            format!("delivered {delivered} of {} files", files.len())
        },
    );

    progress.started(HostStep::Service);
    let service = service::ensure_running(
        &session,
        &account,
        stack.openclaw.port,
        delivered > 0,
        inputs.step_deadline,
        inputs.vault,
        progress,
    )
    .await?;
    progress.finished(
        HostStep::Service,
        &format!(
            "{} on 127.0.0.1:{}",
            match service {
                ServiceAction::AlreadyRunning => "running",
                ServiceAction::Started => "started",
                ServiceAction::Restarted => "restarted",
            },
            stack.openclaw.port
        ),
    );

    progress.started(HostStep::Probe);
    let token = required(inputs.vault, "gateway_token", "the gateway's shared token")?;
    let fqdn = format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet);
    let probes = probe::check(&session, stack.openclaw.port, &fqdn, token).await?;
    // Now that it is fully up: whatever else it opened is on loopback too,
    // and its config is still the one delivered (or at least secret-free).
    service::loopback_only(&session, &account, stack.openclaw.port).await?;
    let mut config_rewritten = false;
    if let Some((path, sha)) = &config {
        config_rewritten = write_back::check(&session, &account, path, sha, inputs.vault).await?;
        if config_rewritten {
            progress.detail(
                HostStep::Probe,
                &format!(
                    "OpenClaw rewrote {path} after the start (no secret in it); the next up \
                     will deliver clawprov's version again and restart the gateway"
                ),
            );
        }
    }
    progress.finished(
        HostStep::Probe,
        &format!(
            "{probes} probes: the vault's token accepted (also through Serve's headers), \
             none or a wrong one refused"
        ),
    );

    progress.started(HostStep::Serve);
    let served = serve::ensure(&session, stack.openclaw.port).await?;
    progress.finished(HostStep::Serve, &format!("{} (funnel off)", served.url));

    progress.started(HostStep::Shred);
    let shredded = shred::shred(&session, &inputs.paths).await?;
    progress.finished(
        HostStep::Shred,
        &if shredded.is_empty() {
            "nothing left to shred".to_string()
        } else {
            format!("shredded {} files, confirmed gone", shredded.len())
        },
    );

    let changed = home_fixed
        || !plugins_installed.is_empty()
        || delivered > 0
        || service != ServiceAction::AlreadyRunning
        || served.configured
        || !shredded.is_empty()
        || opened.pin != Pin::Matched;
    Ok(HostReport {
        url: served.url,
        target: target.to_string(),
        address: addr.to_string(),
        host_key: HostKeyReport {
            fingerprint,
            pin: opened.pin,
            known_hosts: inputs.known_hosts.clone(),
        },
        cloud_init: cloud,
        files,
        service,
        serve_configured: served.configured,
        config_rewritten,
        plugins_installed: plugins_installed.clone(),
        shredded,
        changed,
    })
}

/// Reach the node (the `--ssh-host` override or its MagicDNS name, with the
/// peer policy that goes with it) and log in as the admin user, the host
/// key checked against its pin. Shared by the host phase and `verify`.
pub async fn login(
    inputs: &HostInputs<'_>,
    key: &Secret,
    progress: &dyn Progress,
) -> Result<(std::net::SocketAddr, Session, Opened), HostError> {
    let (target, policy) = route(inputs);
    progress.started(HostStep::Reach);
    connect::connect(
        Login {
            target: &target,
            policy,
            known_hosts: &inputs.known_hosts,
            server: inputs.server_id,
            user: &inputs.stack.host.admin_user,
            key,
            deadline: inputs.reach_deadline,
        },
        progress,
    )
    .await
}

/// Where to connect, and which peers to accept there.
pub fn route(inputs: &HostInputs<'_>) -> (Target, PeerPolicy) {
    match inputs.ssh_host.clone() {
        Some(t) if inputs.allow_non_tailnet => (t, PeerPolicy::Any),
        Some(t) => (t, PeerPolicy::TailnetOrLoopback),
        None => {
            let target = match inputs.node_address {
                Some(addr) => Target {
                    host: addr.to_string(),
                    port: 22,
                },
                None => target::node_target(inputs.stack),
            };
            let policy = if inputs.allow_non_tailnet {
                PeerPolicy::Any
            } else {
                PeerPolicy::TailnetOnly
            };
            (target, policy)
        }
    }
}
