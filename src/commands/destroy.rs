//! `clawprov destroy`: delete every resource carrying the stack's labels,
//! servers first, then firewalls, then SSH keys. Nothing without the labels
//! is ever touched (invariant 7).

use serde_json::json;

use super::target::{answer, stack_paths, Endpoint, Loaded};
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::converge::tailnet::TailnetReport;
use crate::converge::{self, TornDown};
use crate::error::{Error, Result};
use crate::plan::{observe, tailnet, Plan};
use crate::ui::{Report, Ui};

struct Destroyed(Vec<TornDown>);

impl Report for Destroyed {
    fn human(&self) -> String {
        let mut out = String::new();
        for t in &self.0 {
            if t.deleted.is_empty() {
                out.push_str(&format!(
                    "stack {}: nothing carries its labels; nothing to destroy\n",
                    t.stack
                ));
            } else {
                out.push_str(&format!(
                    "stack {}: deleted {}\n",
                    t.stack,
                    t.deleted.join(", ")
                ));
            }
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({ "destroyed": self.0 })
    }
}

pub async fn run(args: DestroyArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let endpoint = Endpoint::resolve(global, args.sim, ui).await?;
    if endpoint.is_sim() {
        ui.info("--sim: the simulator in this process starts empty, so there is nothing to destroy; to try destroy, run `clawprov sim serve` and pass --hcloud-endpoint");
    }
    let mut planned = Vec::new();
    for path in stack_paths(global)? {
        let loaded = Loaded::load(path, global, args.sim, ui)?;
        let client = endpoint.client(Some(&loaded.vault))?;
        let observed = observe(&client, &loaded.stack.name).await?;
        let tailscale = endpoint.tailscale(&loaded.vault)?;
        let seen = match &tailscale {
            Some(ts) => Some(tailnet::observe(ts, &loaded.stack, None).await?),
            None => None,
        };
        let plan = Plan::teardown(&loaded.stack.name, &observed)
            .with_tailnet(tailnet::teardown(seen.as_ref()));
        planned.push((client, tailscale, plan));
    }
    for (_, _, plan) in &planned {
        for line in plan.table().lines() {
            ui.info(line);
        }
    }
    let protected: Vec<String> = planned
        .iter()
        .flat_map(|(_, _, p)| {
            p.unprotects()
                .into_iter()
                .map(|s| format!("{} ({})", s.name, p.stack))
        })
        .collect();
    if !protected.is_empty() && !args.unprotect {
        return Err(Error::bad_input(format!(
            "server {} is delete-protected; pass --unprotect to lift the protection and delete it",
            protected.join(", ")
        )));
    }
    let work: Vec<&Plan> = planned
        .iter()
        .map(|(_, _, p)| p)
        .filter(|p| !p.steps.is_empty() || !p.tailnet.steps.is_empty())
        .collect();
    if !work.is_empty() && !args.yes {
        if !ui.interactive() {
            return Err(Error::bad_input(
                "destroy deletes the resources listed above and this is not a terminal: pass --yes to proceed",
            ));
        }
        for p in &work {
            let typed = answer(&format!(
                "Type the stack name ({}) to delete its resources: ",
                p.stack
            ));
            if typed.as_deref().map(str::trim) != Some(p.stack.as_str()) {
                return Err(Error::bad_input(
                    "the stack name did not match; nothing was deleted",
                ));
            }
        }
    }
    let mut done = Vec::new();
    for (client, tailscale, plan) in &planned {
        let mut torn = converge::teardown(client, plan, ui).await?;
        // After the server: its node would otherwise re-appear as online
        // until the server is gone.
        if let Some(ts) = tailscale {
            let mut report = TailnetReport::default();
            converge::tailnet::delete_devices(ts, &plan.stack, &plan.tailnet, ui, &mut report)
                .await?;
            converge::tailnet::revoke_leftovers(ts, &plan.stack, &plan.tailnet, ui, &mut report)
                .await?;
            torn.deleted.extend(
                report
                    .leftover_keys_revoked
                    .iter()
                    .map(|id| format!("tailnet key {id}")),
            );
            torn.deleted.extend(
                report
                    .deleted
                    .iter()
                    .map(|id| format!("tailnet device #{id}")),
            );
        }
        done.push(torn);
    }
    ui.emit(&Destroyed(done));
    Ok(())
}
