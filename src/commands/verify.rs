//! `clawprov verify`: run the checks of [`crate::verify`] for each stack
//! (concurrently, sharing the Hetzner rate limiter), print one report per
//! stack grouped by vantage point, exit 1 if any check failed or errored.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use super::target::{stack_paths, Endpoint, Loaded};
use crate::cli::{GlobalArgs, VerifyArgs};
use crate::error::{Error, Kind, Result};
use crate::host::{HostInputs, HostPaths, Target};
use crate::ui::{Report, Ui};
use crate::verify::{self, Options, Status, Vantage};

/// `--only` / `up --verify` parsed; `none` is the empty set.
pub fn vantages(list: &[String], flag: &str) -> Result<BTreeSet<Vantage>> {
    let mut out = BTreeSet::new();
    for item in list.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if item == "none" {
            continue;
        }
        match Vantage::parse(item) {
            Some(v) => {
                out.insert(v);
            }
            None => {
                return Err(Error::bad_input(format!(
                    "{flag}: unknown vantage point {item:?} (api, outside, tailnet, host, or none)"
                )))
            }
        }
    }
    Ok(out)
}

/// The reports of one or more stacks.
pub struct Reports(pub Vec<verify::Report>);

/// One stack's checks, grouped by vantage point, for a terminal.
pub fn human(report: &verify::Report) -> String {
    let mut out = format!(
        "stack {}: {}\n",
        report.stack,
        if report.passed() {
            "verified".to_string()
        } else {
            format!(
                "{} check(s) failed or could not run",
                report.failing().len()
            )
        }
    );
    for v in Vantage::ALL {
        let checks: Vec<_> = report.checks.iter().filter(|c| c.vantage == v).collect();
        if checks.is_empty() {
            continue;
        }
        out.push_str(&format!("  {v}\n"));
        for c in checks {
            let mark = match c.status {
                Status::Pass => "ok  ",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
                Status::Error => "ERR ",
            };
            out.push_str(&format!("    {mark} {:<22} {}\n", c.id, c.detail));
        }
    }
    out
}

pub fn json_of(report: &verify::Report) -> serde_json::Value {
    json!({"stack": report.stack, "passed": report.passed(), "checks": report.checks})
}

impl Report for Reports {
    fn human(&self) -> String {
        self.0.iter().map(human).collect::<Vec<_>>().join("\n")
    }
    fn json(&self) -> serde_json::Value {
        json!({"stacks": self.0.iter().map(json_of).collect::<Vec<_>>()})
    }
}

pub async fn run(args: VerifyArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let only = vantages(&args.only, "--only")?;
    if only.is_empty() {
        return Err(Error::bad_input("--only: name at least one vantage point"));
    }
    let ssh_host = args.ssh_host.as_deref().map(Target::parse).transpose()?;
    let paths = stack_paths(global)?;
    if ssh_host.is_some() && paths.len() > 1 {
        return Err(Error::bad_input(
            "--ssh-host names one node: use it with one stack",
        ));
    }
    let endpoint = Endpoint::resolve(global, false, ui).await?;
    let mut loaded = vec![];
    for path in paths {
        let l = Loaded::load(path, global, false, ui)?;
        let (desired, _user_data) = l.desired(global, false)?;
        let client = endpoint.client(Some(&l.vault))?;
        let tailscale = endpoint.tailscale(&l.vault)?;
        loaded.push((l, desired, client, tailscale));
    }
    let options = Options {
        only,
        timeout: Duration::from_secs(args.timeout.max(1)),
        ..Options::default()
    };
    let runs = loaded.iter().map(|(l, desired, client, tailscale)| {
        let inputs = verify::Inputs {
            hetzner: client,
            tailscale: tailscale.as_ref(),
            desired,
            vault: &l.vault,
            host: HostInputs {
                stack: &l.stack,
                vault: &l.vault,
                ssh_host: ssh_host.clone(),
                allow_non_tailnet: args.allow_non_tailnet,
                node_address: None,
                known_hosts: HostInputs::known_hosts_beside(&l.path, &l.stack),
                server_id: None,
                reach_deadline: Duration::from_secs(args.reach_timeout),
                step_deadline: Duration::from_secs(args.reach_timeout),
                paths: HostPaths::default(),
                templates: super::target::templates(global),
            },
        };
        verify::verify(inputs, &options)
    });
    let reports = futures::future::join_all(runs).await;
    let failed = reports.iter().filter(|r| !r.passed()).count();
    let total = reports.len();
    ui.emit(&Reports(reports));
    if failed > 0 {
        return Err(Error::new(
            Kind::Failed,
            format!("{failed} of {total} stack(s) did not verify"),
        ));
    }
    Ok(())
}
