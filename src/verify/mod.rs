//! `verify`: prove a deployment's lock-down from four vantage points, and
//! the age of its credentials from the vault, each
//! check with a stable id (the [`check::CATALOG`], documented in the
//! README), a result and its evidence:
//! - [`api`]: the Hetzner API (labels, firewalls, protection, rescue);
//! - [`outside`]: the public addresses from here (must time out);
//! - [`tailnet`]: Serve's HTTPS and auth over the tailnet;
//! - [`host`]: the server itself over SSH (one probe, read many ways);
//! - [`secrets`]: each credential's age against the stack's `rotation:`.
//!
//! A vantage point that cannot be reached makes its checks errors, never
//! passes. Results come in catalog order, with no timestamps, so two runs
//! can be diffed.

pub mod api;
pub mod check;
pub mod host;
pub mod outside;
pub mod secrets;
mod ssh_login;
pub mod tailnet;
pub mod tailnet_api;

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Serialize;

pub use check::{CheckResult, Spec, Status, Vantage, CATALOG};

use crate::hetzner::Hetzner;
use crate::host::{Account, HostInputs, Silent, CONFIG_FILE};
use crate::plan::Desired;
use crate::secrets::Vault;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub only: BTreeSet<Vantage>,
    /// For each outside and tailnet probe.
    pub timeout: Duration,
    /// How long the first HTTPS request over the tailnet may wait for the
    /// node's certificate ([`tailnet::CERT_WAIT`]).
    pub cert_wait: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            only: Vantage::ALL.into_iter().collect(),
            timeout: Duration::from_secs(3),
            cert_wait: tailnet::CERT_WAIT,
        }
    }
}

/// One stack's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub stack: String,
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// Every check that ran passed (skips are fine, errors are not).
    pub fn passed(&self) -> bool {
        self.checks
            .iter()
            .all(|c| matches!(c.status, Status::Pass | Status::Skip))
    }

    pub fn failing(&self) -> Vec<&CheckResult> {
        self.checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Error))
            .collect()
    }
}

pub struct Inputs<'a> {
    pub hetzner: &'a Hetzner,
    /// The Tailscale API (`None`: no credentials; its checks are skipped).
    pub tailscale: Option<&'a crate::tailscale::Tailscale>,
    pub desired: &'a Desired,
    pub vault: &'a Vault,
    /// How to reach the server over SSH (the host phase's own inputs).
    pub host: HostInputs<'a>,
}

pub async fn verify(mut inputs: Inputs<'_>, options: &Options) -> Report {
    let stack = inputs.host.stack;
    // The node's MagicDNS name: the one the API names when it knows the
    // node (a redeploy while an old device held the name is `<hostname>-1`).
    let mut name = format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet);
    let wants = |v: Vantage| options.only.contains(&v);
    let mut checks = vec![];
    let mut node_address = inputs.host.node_address;

    let api = if wants(Vantage::Api) || wants(Vantage::Outside) {
        Some(api::check(inputs.hetzner, inputs.desired).await)
    } else {
        None
    };
    let server = api.as_ref().and_then(|a| a.server.clone());
    if let Some(a) = api.filter(|_| wants(Vantage::Api)) {
        checks.extend(a.checks);
        let t = tailnet_api::check(inputs.tailscale, stack, server.as_ref()).await;
        checks.extend(t.checks);
        // The host vantage goes to the device the API names, not to
        // whatever the MagicDNS name resolves to.
        if inputs.host.node_address.is_none() {
            node_address = t.node.as_ref().and_then(|d| d.address());
        }
        if let Some(node) = t.node.as_ref().filter(|d| !d.name.is_empty()) {
            name = node.name.trim_end_matches('.').to_string();
        }
    }
    inputs.host.node_address = node_address;
    let inputs = inputs;
    let name = name;
    let outside = async {
        if wants(Vantage::Outside) {
            outside::check(server.as_ref(), &name, stack.openclaw.port, options.timeout).await
        } else {
            vec![]
        }
    };
    let tailnet = async {
        if wants(Vantage::Tailnet) {
            tailnet::check(
                &name,
                stack.openclaw.port,
                options.timeout,
                options.cert_wait,
            )
            .await
        } else {
            vec![]
        }
    };
    let host = async {
        if wants(Vantage::Host) {
            host_checks(&inputs).await
        } else {
            vec![]
        }
    };
    let (o, t, h) = tokio::join!(outside, tailnet, host);
    checks.extend(o);
    checks.extend(t);
    checks.extend(h);
    if wants(Vantage::Secrets) {
        checks.extend(secrets::check(
            stack,
            inputs.vault,
            crate::secrets::record::now(),
        ));
    }
    let order = |c: &CheckResult| {
        CATALOG
            .iter()
            .position(|s| Some(s.id) == check::spec(&c.id).map(|x| x.id))
            .unwrap_or(usize::MAX)
    };
    checks.sort_by_key(order);
    Report {
        stack: stack.name.clone(),
        checks,
    }
}

async fn host_checks(inputs: &Inputs<'_>) -> Vec<CheckResult> {
    let stack = inputs.host.stack;
    let Some(key) = inputs.vault.get("ssh_private_key") else {
        return host::unreachable("the vault has no ssh_private_key to log in with");
    };
    let session = match crate::host::login(&inputs.host, key, &Silent).await {
        Ok((_, session, _)) => session,
        Err(e) => return host::unreachable(&format!("could not log in: {e}")),
    };
    let account = match Account::lookup(&session, &stack.host.service_user).await {
        Ok(a) => a,
        Err(e) => return host::unreachable(&format!("the service user: {e}")),
    };
    let files = match crate::host::desired_files(stack, inputs.vault, &account) {
        Ok(f) => f,
        Err(e) => return host::unreachable(&format!("what clawprov delivers: {e}")),
    };
    let config_file = files.iter().find(|f| f.path.ends_with(CONFIG_FILE));
    let config_sha256 = config_file.map(|f| f.sha256_hex()).unwrap_or_default();
    let config = config_file
        .and_then(|f| serde_json::from_slice(f.expose_content()).ok())
        .unwrap_or_default();
    let mut authorized_keys = vec![inputs.desired.ssh_key.public_key.clone()];
    authorized_keys.extend(stack.host.authorized_keys.iter().cloned());
    let release = crate::host::Release::of(stack);
    let expected = host::Expected {
        stack,
        node_bin_dir: crate::host::node_bin_dir(&account.home, &stack.node.version),
        openclaw_dir: release.dir(&account.home),
        openclaw_bin_dir: release.bin_dir(&account.home),
        openclaw_package: release.package_dir(&account.home),
        lock: stack.openclaw.lock(),
        home: account.home.clone(),
        authorized_keys,
        config_sha256,
        config,
    };
    let (mut checks, login) = tokio::join!(
        host::check(&session, &expected, inputs.vault),
        ssh_login::check(&inputs.host, key)
    );
    checks.push(login);
    checks
}
