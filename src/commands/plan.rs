//! `clawprov plan`: the steps `up` would take for each stack, with reasons
//! and the monthly cost. Changes nothing. Also where `up` gets its plans,
//! so both commands compute them the same way.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use super::target::{stack_paths, Endpoint, Loaded};
use crate::cli::{GlobalArgs, PlanArgs};
use crate::error::{Error, Result};
use crate::hetzner::Hetzner;
use crate::plan::{observe, Observed, Plan};
use crate::render::UserData;
use crate::ui::{Report, Ui};

/// One stack's plan, with what `up` needs to execute it.
pub(super) struct Planned {
    pub client: Hetzner,
    pub plan: Plan,
    pub observed: Observed,
    pub user_data: UserData,
    /// The stack and its vault, for the host phase after the Hetzner phase.
    pub loaded: Loaded,
}

/// Load every stack (sequentially: a vault may prompt for a passphrase),
/// then observe and plan them concurrently, at most `parallel` at a time.
pub(super) async fn plan_all(
    global: &GlobalArgs,
    endpoint: &Endpoint,
    sim: bool,
    parallel: usize,
    ui: &Ui,
) -> Result<Vec<Planned>> {
    let mut prepared = Vec::new();
    for path in stack_paths(global)? {
        let loaded = Loaded::load(path, global, sim, ui)?;
        let (desired, user_data) = loaded.desired(global, sim)?;
        let client = endpoint.client(Some(&loaded.vault))?;
        prepared.push((client, desired, user_data, loaded));
    }
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::new();
    for (client, desired, user_data, loaded) in prepared {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await;
            let observed = observe(&client, &desired.stack).await?;
            let h = &desired.server;
            let cost = client
                .monthly_cost(&h.server_type, &h.location, h.backups, h.public_ipv4)
                .await?;
            let plan = Plan::converge(&desired, &observed).with_cost(&cost);
            Ok::<_, Error>(Planned {
                client,
                plan,
                observed,
                user_data,
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
    Ok(out)
}

pub(super) struct Plans(pub Vec<Plan>);

impl Report for Plans {
    fn human(&self) -> String {
        let mut out = String::new();
        for p in &self.0 {
            out.push_str(&p.table());
        }
        out.push_str("legend: + create  ~ update  ! replace  - delete  . wait\n");
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({ "plans": self.0 })
    }
}

pub async fn run(args: PlanArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let endpoint = Endpoint::resolve(global, args.sim, ui).await?;
    let planned = plan_all(global, &endpoint, args.sim, 4, ui).await?;
    ui.emit(&Plans(planned.into_iter().map(|p| p.plan).collect()));
    Ok(())
}
