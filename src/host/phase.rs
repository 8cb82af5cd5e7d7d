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
use super::deliver::{self, DesiredFile, FileOutcome};
use super::known_hosts::Pin;
use super::paths::{HostPaths, UNIT_FILE};
use super::progress::{HostStep, Progress};
use super::release::{self, Installed, Release};
use super::service::{self, ServiceAction};
use super::session::{Opened, Session};
use super::target::{self, Target};
use super::{authorized_keys, cloud_init, plugins, probe, serve, shred, write_back, HostError};
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
    /// The templates the user-data was rendered with: the host phase
    /// renders the gateway's unit from the same ones.
    pub templates: crate::render::Templates,
}

impl<'a> HostInputs<'a> {
    /// The same inputs with another vault (a rotation's new values).
    pub fn with_vault<'b>(&self, vault: &'b Vault) -> HostInputs<'b>
    where
        'a: 'b,
    {
        HostInputs {
            stack: self.stack,
            vault,
            ssh_host: self.ssh_host.clone(),
            allow_non_tailnet: self.allow_non_tailnet,
            node_address: self.node_address,
            known_hosts: self.known_hosts.clone(),
            server_id: self.server_id,
            reach_deadline: self.reach_deadline,
            step_deadline: self.step_deadline,
            paths: self.paths.clone(),
            templates: self.templates.clone(),
        }
    }

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
    /// The release the gateway runs now, and the one it replaced.
    pub release: ReleaseReport,
    pub files: Vec<FileOutcome>,
    pub service: ServiceAction,
    pub serve_configured: bool,
    /// OpenClaw rewrote openclaw.json after the start (it holds no secret:
    /// that would have been an error).
    pub config_rewritten: bool,
    /// OpenClaw plugins installed by this run (the vault called for them).
    pub plugins_installed: Vec<String>,
    pub shredded: Vec<String>,
    /// True when anything on the server was written or started.
    pub changed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseReport {
    pub running: Release,
    /// The release that ran before this run switched the unit (an upgrade
    /// in place); it stays installed, for going back by hand.
    pub previous: Option<Release>,
    pub installed: Installed,
    /// Older release directories removed after the switch.
    pub pruned: Vec<String>,
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
    vault.get(key).ok_or(HostError::MissingSecret {
        key: key.into(),
        why: why.into(),
    })
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

    // The operator keys are the host phase's once the server runs (they are
    // not in the user-data fingerprint): a key added to the stack, or a
    // rotated one, lands here rather than on a new server.
    let keys_written =
        authorized_keys::ensure(&session, &authorized_keys::declared(stack, inputs.vault)?).await?;
    if keys_written {
        progress.detail(
            HostStep::CloudInit,
            "the admin's authorized_keys brought to the declared keys",
        );
    }

    let account = Account::lookup(&session, &stack.host.service_user).await?;
    let home_fixed = account.ensure_home_mode(&session).await?;

    progress.started(HostStep::Release);
    let release = Release::of(stack);
    let unit_text = crate::render::gateway_unit(&inputs.templates, stack)
        .map_err(|e| HostError::Release(format!("rendering the gateway's unit: {e}")))?;
    let unit = DesiredFile::unit(&account, &unit_text);
    let running_unit = deliver::read(&session, &account, &unit.path).await?;
    let running = running_unit
        .as_deref()
        .and_then(|u| Release::from_unit(u, &account.home));
    let lock = stack.openclaw.lock();
    let installed =
        release::ensure_installed(&session, &account, &release, lock.as_deref(), progress)
            .await
            .map_err(|e| match e {
                HostError::Release(_) => e,
                other => {
                    HostError::Release(format!("{other} (the running gateway was not touched)"))
                }
            })?;
    progress.finished(
        HostStep::Release,
        &match (&installed, &running) {
            (Installed::Present, Some(r)) if *r == release => format!("{release}, running"),
            (Installed::Present, _) => format!("{release}, installed"),
            (Installed::Now { .. }, Some(r)) => {
                format!("{release} installed beside {r}, which still runs")
            }
            (Installed::Now { .. }, None) => format!("{release} installed"),
        },
    );

    progress.started(HostStep::Deliver);
    if home_fixed {
        progress.detail(HostStep::Deliver, &format!("{} made 0750", account.home));
    }
    let plugins_installed = plugins::ensure(&session, stack, &account).await?;
    for id in &plugins_installed {
        progress.detail(
            HostStep::Deliver,
            &format!(
                "installed OpenClaw's {id} plugin at {}",
                stack.openclaw.version
            ),
        );
    }
    let mut desired = deliver::desired_files(stack, inputs.vault, &account)?;
    let config = desired
        .iter()
        .find(|f| f.path.ends_with(deliver::CONFIG_FILE))
        .map(|f| (f.path.clone(), f.sha256_hex()));
    // What runs now, kept to be put back if the new files do not come up.
    let was_active = service::is_active(&session, &account).await?;
    let mut previous = Vec::new();
    if was_active {
        if let Some(text) = &running_unit {
            previous.push(unit.with_content(text.as_bytes()));
        }
        if let Some((path, _)) = &config {
            if let Some(text) = deliver::read(&session, &account, path).await? {
                let file = desired.iter().find(|f| &f.path == path);
                if let Some(f) = file {
                    previous.push(f.with_content(text.as_bytes()));
                }
            }
        }
    }
    // The env file's old version stays on the server (it holds secrets).
    let env_path = format!("{}/{}", account.home, deliver::ENV_FILE);
    let kept_env = if was_active {
        deliver::keep_copy(&session, &account, &env_path).await?
    } else {
        None
    };
    desired.push(unit);
    let files = deliver::deliver(&session, &account, desired).await?;
    let env_delivered = files.iter().any(|f| f.delivered && f.path == env_path);
    let delivered = files.iter().filter(|f| f.delivered).count();
    let unit_delivered = files
        .iter()
        .any(|f| f.delivered && f.path.ends_with(UNIT_FILE));
    let config_delivered = files
        .iter()
        .any(|f| f.delivered && f.path.ends_with(deliver::CONFIG_FILE));
    if unit_delivered {
        service::daemon_reload(&session, &account).await?;
    }
    progress.finished(
        HostStep::Deliver,
        &if delivered == 0 {
            "unchanged".to_string()
        } else {
            format!("delivered {delivered} of {} files", files.len())
        },
    );

    let token = required(inputs.vault, "gateway_token", "the gateway's shared token")?;
    let checked = start_and_probe(
        &session,
        &account,
        &inputs,
        token,
        delivered > 0,
        &config,
        progress,
    )
    .await;
    let (service, probes, config_rewritten) = match checked {
        Ok(done) => done,
        Err(cause) if was_active && (unit_delivered || config_delivered || env_delivered) => {
            let running = running
                .as_ref()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "the release that ran before".into());
            let (what, from, to) = if unit_delivered {
                ("upgrade", running, release.to_string())
            } else {
                let files = match (config_delivered, env_delivered) {
                    (true, true) => "openclaw.json and env file",
                    (false, true) => "env file",
                    _ => "openclaw.json",
                };
                (
                    "change",
                    format!("the running {files} (on {running})"),
                    format!("the new {files}"),
                )
            };
            if let Some(kept) = &kept_env {
                let put_back = if env_delivered {
                    kept.restore(&session, &account).await
                } else {
                    kept.discard(&session, &account).await
                };
                if let Err(e) = put_back {
                    return Err(HostError::RollbackFailed {
                        what,
                        from,
                        to,
                        cause: Box::new(cause),
                        rollback: Box::new(e),
                    });
                }
            }
            let back: Vec<_> = previous
                .into_iter()
                .filter(|f| files.iter().any(|o| o.delivered && o.path == f.path))
                .collect();
            progress.detail(
                HostStep::Probe,
                &format!("the new files did not come up; rolling back to {from}"),
            );
            let rolled = roll_back(&session, &account, &inputs, token, back, progress).await;
            return Err(match rolled {
                Ok(()) => HostError::RolledBack {
                    what,
                    from,
                    to,
                    cause: Box::new(cause),
                },
                Err(rollback) => HostError::RollbackFailed {
                    what,
                    from,
                    to,
                    cause: Box::new(cause),
                    rollback: Box::new(rollback),
                },
            });
        }
        Err(e) => {
            if let Some(kept) = &kept_env {
                // Best effort: the error that stopped us is the one to report.
                let _ = kept.discard(&session, &account).await;
            }
            return Err(e);
        }
    };
    if let Some(kept) = &kept_env {
        kept.discard(&session, &account).await?;
    }
    progress.finished(
        HostStep::Probe,
        &format!(
            "{probes} probes: the vault's token accepted (also through Serve's headers), \
             none or a wrong one refused"
        ),
    );
    // A switch that came up: keep it and the one it replaced, no more.
    let previous = running.clone().filter(|r| unit_delivered && *r != release);
    let mut pruned = vec![];
    if let Some(prev) = &previous {
        pruned = release::prune(&session, &account, &[&release, prev]).await?;
        for name in &pruned {
            progress.detail(HostStep::Probe, &format!("removed the old release {name}"));
        }
    }
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
        || keys_written
        || installed != Installed::Present
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
        release: ReleaseReport {
            previous,
            running: release,
            installed,
            pruned,
        },
        files,
        service,
        serve_configured: served.configured,
        config_rewritten,
        plugins_installed: plugins_installed.clone(),
        shredded,
        changed,
    })
}

/// Start (or restart) the gateway, wait until it listens on loopback only,
/// and prove its auth; then check it kept its config secret-free. The
/// number of probes passed, and whether OpenClaw rewrote openclaw.json.
async fn start_and_probe(
    session: &Session,
    account: &Account,
    inputs: &HostInputs<'_>,
    token: &Secret,
    reload: bool,
    config: &Option<(String, String)>,
    progress: &dyn Progress,
) -> Result<(ServiceAction, usize, bool), HostError> {
    let stack = inputs.stack;
    let service = start_service(session, account, inputs, reload, progress).await?;

    progress.started(HostStep::Probe);
    let fqdn = format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet);
    let (service, probes) = match probe::check(session, stack.openclaw.port, &fqdn, token).await {
        Ok(n) => (service, n),
        // The files are the vault's, but the gateway that runs does not
        // take its token: an earlier run (or a rotation) delivered them and
        // died before the restart. Restart it once, then judge.
        Err(_) if service == ServiceAction::AlreadyRunning => {
            progress.detail(
                HostStep::Probe,
                "the running gateway does not take the vault's token although its files are \
                 the vault's (an earlier run died before restarting it?); restarting it",
            );
            let service = start_service(session, account, inputs, true, progress).await?;
            let n = probe::check(session, stack.openclaw.port, &fqdn, token).await?;
            (service, n)
        }
        Err(e) => return Err(e),
    };
    // Now that it is fully up: whatever else it opened is on loopback too,
    // and its config is still the one delivered (or at least secret-free).
    service::loopback_only(session, account, stack.openclaw.port).await?;
    let mut config_rewritten = false;
    if let Some((path, sha)) = config {
        config_rewritten = write_back::check(
            session,
            account,
            path,
            sha,
            inputs.vault,
            &super::deliver::gateway_secrets(stack),
        )
        .await?;
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
    Ok((service, probes, config_rewritten))
}

/// The service step: (re)start the gateway (`reload`: its files changed)
/// and wait until it listens on loopback only, telling `progress`.
pub(super) async fn start_service(
    session: &Session,
    account: &Account,
    inputs: &HostInputs<'_>,
    reload: bool,
    progress: &dyn Progress,
) -> Result<ServiceAction, HostError> {
    let port = inputs.stack.openclaw.port;
    progress.started(HostStep::Service);
    let action = service::ensure_running(
        session,
        account,
        port,
        reload,
        inputs.step_deadline,
        inputs.vault,
        progress,
    )
    .await?;
    let done = match action {
        ServiceAction::AlreadyRunning => "running",
        ServiceAction::Started => "started",
        ServiceAction::Restarted => "restarted",
    };
    progress.finished(HostStep::Service, &format!("{done} on 127.0.0.1:{port}"));
    Ok(action)
}

/// Put `files` (what ran before) back, reload the user manager, restart
/// and probe again: the upgrade's way back.
async fn roll_back(
    session: &Session,
    account: &Account,
    inputs: &HostInputs<'_>,
    token: &Secret,
    files: Vec<DesiredFile>,
    progress: &dyn Progress,
) -> Result<(), HostError> {
    deliver::deliver(session, account, files).await?;
    service::daemon_reload(session, account).await?;
    start_and_probe(session, account, inputs, token, true, &None, progress).await?;
    Ok(())
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
