//! `clawprov plan`: the steps `up` would take for each stack, with reasons
//! and the monthly cost. Changes nothing. Also where `up` gets its plans,
//! so both commands compute them the same way, preflight included.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use super::target::{stack_paths, Endpoint, Loaded};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::error::{Error, Result};
use crate::hetzner::Hetzner;
use crate::plan::{observe, tailnet, Desired, Observed, Plan};
use crate::preflight::{Outcome, Preflight, Sources};
use crate::render::UserData;
use crate::stack::{Stack, TailscaleAuth};
use crate::tailscale::Tailscale;
use crate::ui::{Report, Ui};

/// One stack's plan, with what `up` needs to execute it.
pub(super) struct Planned {
    pub client: Hetzner,
    /// The Tailscale client, when the vault has API credentials (or `--sim`).
    pub tailscale: Option<Tailscale>,
    pub plan: Plan,
    pub observed: Observed,
    pub user_data: UserData,
    /// What the stack wants (verify compares the result against it).
    pub desired: Desired,
    /// The stack and its vault, for the host phase after the Hetzner phase.
    pub loaded: Loaded,
}

/// Load every stack (sequentially: a vault may prompt for a passphrase),
/// run the preflight on them (unless `offline` or `sim`), then observe and
/// plan them concurrently, at most `parallel` at a time.
pub(super) async fn plan_all(
    global: &GlobalArgs,
    endpoint: &Endpoint,
    sim: bool,
    offline: bool,
    parallel: usize,
    ui: &Ui,
) -> Result<(Vec<Planned>, Outcome)> {
    let mut prepared = Vec::new();
    for path in stack_paths(global)? {
        let loaded = Loaded::load(path, global, sim, ui)?;
        let now = crate::secrets::record::now();
        for a in crate::rotation::ages::ages(&loaded.stack, &loaded.vault, now) {
            if a.due {
                ui.warn(&format!(
                    "stack {}: {} is past its maximum age ({}): {}",
                    loaded.stack.name,
                    a.key,
                    a.summary(),
                    a.how
                ));
            }
        }
        let (desired, user_data) = loaded.desired(global, sim)?;
        let client = endpoint.client(Some(&loaded.vault))?;
        let tailscale = endpoint.tailscale(&loaded.vault)?;
        endpoint.sim_knows_auth_key(&loaded.stack, loaded.vault.get("tailscale_auth_key"));
        if loaded.stack.tailscale.auth == TailscaleAuth::Oauth && tailscale.is_none() {
            return Err(Error::bad_input(format!(
                "stack {}: tailscale.auth: oauth needs the OAuth client in the vault (tailscale_oauth_client_id and tailscale_oauth_client_secret)",
                loaded.stack.name
            )));
        }
        prepared.push((client, tailscale, desired, user_data, loaded));
    }
    let stacks: Vec<&Stack> = prepared.iter().map(|p| &p.4.stack).collect();
    let preflight = preflight(global, offline, sim, &stacks, ui).await?;
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::new();
    for (client, tailscale, desired, user_data, loaded) in prepared {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await;
            let observed = observe(&client, &desired.stack).await?;
            let h = &desired.server;
            let cost = client
                .monthly_cost(&h.server_type, &h.location, h.backups, h.public_ipv4)
                .await?;
            let plan = Plan::converge(&desired, &observed).with_cost(&cost);
            let seen = match &tailscale {
                // With --sim the embedded tailnet knows the vault's key
                // (Endpoint::sim_knows_auth_key), so it is judged as a real one.
                Some(ts) => Some(
                    tailnet::observe(ts, &loaded.stack, loaded.vault.get("tailscale_auth_key"))
                        .await?,
                ),
                None => None,
            };
            let tailnet =
                tailnet::plan(&loaded.stack, &plan.steps, &observed.servers, seen.as_ref());
            if let Some(why) = &tailnet.refusal {
                return Err(Error::bad_input(format!(
                    "stack {}: {why}",
                    loaded.stack.name
                )));
            }
            let plan = plan.with_tailnet(tailnet);
            Ok::<_, Error>(Planned {
                client,
                tailscale,
                plan,
                observed,
                user_data,
                desired,
                loaded,
            })
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(
            t.await
                .map_err(|e| Error::failed(format!("planning task failed: {e}")))??,
        );
    }
    Ok((out, preflight))
}

/// Check the stacks' pinned versions before the first Hetzner request.
/// `--offline` skips it with a warning; `--sim` skips it with a note (the
/// simulator has no node to install them on, and its quickstart must work
/// where only the npm registry is reachable).
async fn preflight(
    global: &GlobalArgs,
    offline: bool,
    sim: bool,
    stacks: &[&Stack],
    ui: &Ui,
) -> Result<Outcome> {
    if offline {
        ui.warn("--offline: preflight skipped; the pinned openclaw, Node and nvm versions were not checked");
        return Ok(Outcome::Skipped {
            reason: "--offline".into(),
        });
    }
    if sim {
        ui.info("--sim: preflight skipped (the simulator has no real node to install openclaw, Node and nvm on)");
        return Ok(Outcome::Skipped {
            reason: "--sim".into(),
        });
    }
    let sources = Sources::new(&global.npm_registry, &global.node_dist, &global.nvm_source)?;
    let passed = Preflight::new(sources).check_all(stacks).await?;
    for p in &passed {
        ui.info(&p.to_string());
    }
    Ok(Outcome::Passed { stacks: passed })
}

pub(super) struct Plans {
    pub plans: Vec<Plan>,
    pub preflight: Outcome,
}

impl Report for Plans {
    fn human(&self) -> String {
        let mut out = String::new();
        for p in &self.plans {
            out.push_str(&p.table());
        }
        out.push_str("legend: + create  ~ update  ! replace  - delete  . wait\n");
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({ "plans": self.plans, "preflight": self.preflight })
    }
}

pub async fn run(args: PlanArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let endpoint = Endpoint::resolve(global, args.sim, ui).await?;
    let (planned, preflight) = plan_all(global, &endpoint, args.sim, args.offline, 4, ui).await?;
    ui.emit(&Plans {
        plans: planned.into_iter().map(|p| p.plan).collect(),
        preflight,
    });
    Ok(())
}
