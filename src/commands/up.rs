//! `clawprov up`: print each stack's plan, check it may run (replace needs
//! `--replace`; replace/delete need a yes), then execute exactly that plan.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use super::plan::{plan_all, Plans};
use super::target::{confirm, Endpoint};
use crate::cli::{GlobalArgs, UpArgs};
use crate::converge::{self, Converged};
use crate::error::{Error, Result};
use crate::hetzner::RequestCounts;
use crate::ui::{Report, Ui};

/// What comes after the Hetzner phase (the host phase is its own issue).
pub const NEXT: &str = "the host phase over SSH (wait for cloud-init, deliver secrets, start the gateway, verify) is not part of this release yet";

struct StackOutcome {
    result: std::result::Result<Converged, String>,
    requests: RequestCounts,
}

struct UpReport {
    outcomes: Vec<StackOutcome>,
}

impl Report for UpReport {
    fn human(&self) -> String {
        let mut out = String::new();
        for o in &self.outcomes {
            match &o.result {
                Ok(c) => {
                    out.push_str(&format!("stack {}: converged", c.stack));
                    if c.executed.is_empty() {
                        out.push_str(" (nothing to change)");
                    }
                    out.push('\n');
                    if let Some(s) = &c.server {
                        out.push_str(&format!(
                            "  server   {} #{} {} ipv4 {} ipv6 {}\n",
                            s.name,
                            s.id,
                            s.status,
                            s.ipv4.as_deref().unwrap_or("-"),
                            s.ipv6.as_deref().unwrap_or("-")
                        ));
                    }
                    if let Some(f) = &c.firewall {
                        out.push_str(&format!(
                            "  firewall {} #{} (no inbound rule)\n",
                            f.name, f.id
                        ));
                    }
                    if let Some(k) = &c.ssh_key {
                        out.push_str(&format!("  ssh key  {} #{}\n", k.name, k.id));
                    }
                    out.push_str(&format!(
                        "  tailnet  {} (after the host phase)\n",
                        c.tailnet_url
                    ));
                }
                Err(e) => out.push_str(&format!("FAILED: {e}\n")),
            }
        }
        out.push_str(&format!("next: {NEXT}\n"));
        out
    }

    fn json(&self) -> serde_json::Value {
        let stacks: Vec<_> = self
            .outcomes
            .iter()
            .map(|o| {
                let r = &o.requests;
                let requests = json!({"reads": r.reads, "mutations": r.mutations,
                    "retries": r.retries, "rate_limited": r.rate_limited});
                match &o.result {
                    Ok(c) => json!({"ok": true, "result": c, "requests": requests}),
                    Err(e) => json!({"ok": false, "error": e, "requests": requests}),
                }
            })
            .collect();
        json!({ "stacks": stacks, "next": NEXT })
    }
}

pub async fn run(args: UpArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let endpoint = Endpoint::resolve(global, args.sim, ui).await?;
    let planned = plan_all(global, &endpoint, args.sim, args.parallel, ui).await?;
    let plans = Plans(planned.iter().map(|p| p.plan.clone()).collect());
    if !ui.json() || ui.verbose() > 0 {
        for line in plans.human().lines() {
            ui.info(line);
        }
    }

    let replaces: Vec<String> = planned
        .iter()
        .flat_map(|p| {
            p.plan
                .replaces()
                .into_iter()
                .map(|s| format!("{}: {}", p.plan.stack, s.reason))
        })
        .collect();
    if !replaces.is_empty() && !args.replace {
        return Err(Error::bad_input(format!(
            "the plan replaces a server ({}); the old server and its disk are deleted. Run `clawprov up --replace` to allow it",
            replaces.join("; ")
        )));
    }
    let destructive: usize = planned.iter().map(|p| p.plan.destructive().len()).sum();
    if destructive > 0 && !args.yes {
        if !ui.interactive() {
            return Err(Error::bad_input(format!(
                "the plan deletes or replaces {destructive} resource(s) and this is not a terminal: pass --yes to proceed"
            )));
        }
        if !confirm(&format!(
            "Delete or replace {destructive} resource(s) as shown?"
        )) {
            return Err(Error::bad_input("not confirmed; nothing was changed"));
        }
    }

    let gate = Arc::new(Semaphore::new(args.parallel.max(1)));
    let mut tasks = Vec::new();
    for p in planned {
        let gate = gate.clone();
        let ui = ui.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await;
            let result = converge::apply(&p.client, &p.plan, &p.observed, &p.user_data, &ui)
                .await
                .map_err(|e| e.to_string());
            StackOutcome {
                result,
                requests: p.client.requests(),
            }
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(
            t.await
                .map_err(|e| Error::failed(format!("up task failed: {e}")))?,
        );
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let total = outcomes.len();
    ui.emit(&UpReport { outcomes });
    if failed > 0 {
        return Err(Error::failed(format!(
            "{failed} of {total} stack(s) did not converge; run `clawprov up` again to continue (resources are found by their labels)"
        )));
    }
    Ok(())
}
