//! Executing the tailnet half of a plan ([`crate::plan::TailnetPlan`]):
//! stale devices deleted before the server is created, the key minted for
//! it, the node found once it joins (by hostname, tags and creation time),
//! its key expiry turned off, the key revoked. Layer code: the commands
//! decide whether a plan may run; this runs exactly its steps.

use std::time::{Duration, Instant};

use serde::Serialize;
use time::OffsetDateTime;

use crate::plan::tailnet::{CLOCK_SKEW, MINTED_KEY_EXPIRY};
use crate::plan::{TailnetOp, TailnetPlan};
use crate::stack::Stack;
use crate::tailscale::{keys, node, Device, KeySpec, NewKey, Tailscale, TailscaleError};
use crate::ui::Ui;

/// How often the device list is read while waiting for the node.
pub const JOIN_POLL: Duration = Duration::from_secs(3);

/// What became of the key minted for a new server.
#[derive(Debug, Clone, Serialize)]
pub struct KeyOutcome {
    pub id: String,
    /// The node's join spent it (single use) before it was revoked.
    pub consumed: bool,
    /// This run revoked it (false: the API already had it gone).
    pub revoked: bool,
}

/// What the tailnet half did; holds no secret.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TailnetReport {
    /// Devices deleted (stale ones, or the stack's on destroy).
    pub deleted: Vec<String>,
    /// The node of the stack's server, when found.
    pub device: Option<Device>,
    pub key_expiry_disabled: bool,
    pub key: Option<KeyOutcome>,
    /// Keys earlier runs minted and left valid, revoked by this one.
    pub leftover_keys_revoked: Vec<String>,
    /// `up --skip-host` did not wait for the node to join: the key it
    /// minted for the server stays valid until it expires (the server's
    /// bootstrap joins with it); the next `up` waits, then revokes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_not_awaited: Option<String>,
}

/// Before the Hetzner phase: delete the plan's stale devices (so the new
/// node gets the exact hostname) and mint the new server's key.
pub async fn prepare(
    ts: &Tailscale,
    stack: &Stack,
    plan: &TailnetPlan,
    ui: &Ui,
    report: &mut TailnetReport,
) -> Result<Option<NewKey>, TailscaleError> {
    if plan.mints() {
        // A new server: earlier runs' keys go first.
        revoke_leftovers(ts, &stack.name, plan, ui, report).await?;
    }
    delete_devices(ts, &stack.name, plan, ui, report).await?;
    if !plan.mints() {
        return Ok(None);
    }
    let step = ui.step(&format!("{}: mint a single-use tailnet key", stack.name));
    let spec = KeySpec::single_use(
        &stack.tailscale.tags,
        MINTED_KEY_EXPIRY,
        keys::description(&["clawprov", &stack.name, &nonce()]),
    );
    match ts.create_key(&spec).await {
        Ok(k) => {
            step.done(&format!("key {} (expires {})", k.id, k.expires));
            Ok(Some(k))
        }
        Err(e) => {
            step.fail(&e.to_string());
            Err(e)
        }
    }
}

/// Delete every device the plan deletes (a device already gone is fine).
pub async fn delete_devices(
    ts: &Tailscale,
    stack: &str,
    plan: &TailnetPlan,
    ui: &Ui,
    report: &mut TailnetReport,
) -> Result<(), TailscaleError> {
    for s in plan
        .steps
        .iter()
        .filter(|s| s.op == TailnetOp::DeleteDevice)
    {
        let Some(id) = &s.id else { continue };
        let label = format!("{stack}: delete device {} #{id}", s.name);
        removal(ui, &label, "deleted", ts.delete_device(id)).await?;
        report.deleted.push(id.clone());
    }
    Ok(())
}

/// Revoke the earlier runs' keys the plan names (already gone is fine).
pub async fn revoke_leftovers(
    ts: &Tailscale,
    stack: &str,
    plan: &TailnetPlan,
    ui: &Ui,
    report: &mut TailnetReport,
) -> Result<(), TailscaleError> {
    for id in plan.leftover_revokes() {
        let label = format!("{stack}: revoke key {id} of an earlier run");
        removal(ui, &label, "revoked", ts.revoke_key(id)).await?;
        report.leftover_keys_revoked.push(id.to_string());
    }
    Ok(())
}

/// One delete or revoke shown as a step line: `done` if this call removed
/// it, "already gone" if the API no longer had it.
async fn removal(
    ui: &Ui,
    label: &str,
    done: &str,
    work: impl std::future::Future<Output = Result<bool, TailscaleError>>,
) -> Result<(), TailscaleError> {
    let step = ui.step(label);
    match work.await {
        Ok(now) => {
            step.done(if now { done } else { "already gone" });
            Ok(())
        }
        Err(e) => {
            step.fail(&e.to_string());
            Err(e)
        }
    }
}

/// A short random word for the key's description, so a create whose
/// answer was lost can be recognised (see [`Tailscale::create_key`]).
pub(crate) fn nonce() -> String {
    use rand::RngCore;
    let mut b = [0u8; 4];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Wait until the new server's node appears: the newest device of the
/// stack created at or after `since` (the key's creation, on Tailscale's
/// clock). Polls every [`JOIN_POLL`] until `deadline`.
pub async fn await_node(
    ts: &Tailscale,
    stack: &Stack,
    since: OffsetDateTime,
    deadline: Duration,
    ui: &Ui,
) -> Result<Device, TailscaleError> {
    let ts_cfg = &stack.tailscale;
    let step = ui.step(&format!(
        "{}: wait for {} to join the tailnet",
        stack.name, ts_cfg.hostname
    ));
    let start = Instant::now();
    loop {
        let all = match ts.list_devices().await {
            Ok(a) => a,
            Err(e) => {
                step.fail(&e.to_string());
                return Err(e);
            }
        };
        let mine = node::of_stack(&all, &ts_cfg.hostname, &ts_cfg.tags);
        if let Some(d) = node::node_since(&mine, since, CLOCK_SKEW) {
            step.done(&format!(
                "device #{} {} ({})",
                d.id,
                d.name,
                d.addresses.join(", ")
            ));
            return Ok(d.clone());
        }
        let waited = start.elapsed();
        if waited >= deadline {
            let why = format!(
                "no device with hostname {} and tags {} joined within {} s. The server may still be booting (see its console in the Hetzner panel), or it could not reach Tailscale; run `clawprov up` again to keep waiting",
                ts_cfg.hostname,
                ts_cfg.tags.join(","),
                deadline.as_secs()
            );
            step.fail(&why);
            return Err(TailscaleError::Decode {
                call: "wait for the node".into(),
                reason: why,
            });
        }
        step.set_detail(&format!("{} s", waited.as_secs()));
        tokio::time::sleep(JOIN_POLL.min(deadline - waited)).await;
    }
}

/// After the join: turn off the node's key expiry.
pub async fn keep_node(
    ts: &Tailscale,
    node: &Device,
    report: &mut TailnetReport,
) -> Result<(), TailscaleError> {
    if !node.key_expiry_disabled {
        ts.disable_key_expiry(&node.id).await?;
    }
    report.key_expiry_disabled = true;
    Ok(())
}

/// Revoke the minted key, noting whether the join had already spent it.
/// Safe to repeat.
pub async fn retire_key(ts: &Tailscale, key: &NewKey) -> Result<KeyOutcome, TailscaleError> {
    let consumed = ts.get_key(&key.id).await?.is_none_or(|k| k.invalid);
    let revoked = ts.revoke_key(&key.id).await?;
    Ok(KeyOutcome {
        id: key.id.clone(),
        consumed,
        revoked,
    })
}

/// When the key was minted, on Tailscale's clock (or now, less the skew,
/// if the answer had no usable timestamp).
pub fn minted_at(key: &NewKey) -> OffsetDateTime {
    node::timestamp(&key.created).unwrap_or_else(|| OffsetDateTime::now_utc() - CLOCK_SKEW)
}
