//! `clawprov up`: print each stack's plan, check it may run (replace needs
//! `--replace`; replace/delete need a yes), execute exactly that plan, then
//! run the host phase over SSH: up returns once the gateway runs behind
//! Tailscale Serve and the bootstrap traces are shredded, and then verify
//! (by default from every vantage point) passes. A server replace carries
//! the gateway's state over (`carry_over`): a backup of the old server
//! before anything is deleted, restored into the new one after its host
//! phase (asked on a terminal; `--yes` does both; `--no-backup` skips it).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::Semaphore;

use super::carry_over::{self, Carried};
use super::host_progress::UiProgress;
use super::plan::{plan_all, Planned, Plans};
use super::target::{confirm, stack_paths, Endpoint, Loaded};
use crate::cli::{GlobalArgs, UpArgs};
use crate::converge::tailnet::TailnetReport;
use crate::converge::{self, Converged};
use crate::error::{Error, Kind, Result};
use crate::hetzner::RequestCounts;
use crate::host::{self, HostInputs, HostPaths, HostReport, Target};
use crate::plan::tailnet::CLOCK_SKEW;
use crate::preflight::Outcome;
use crate::tailscale::{Device, NewKey, Tailscale, TailscaleCounts, TailscaleError};
use crate::ui::{Report, Ui};
use crate::verify::{self, Vantage};

/// How `up` runs the host phase, from its flags.
#[derive(Clone)]
struct HostOptions {
    skip: bool,
    sim: bool,
    ssh_host: Option<Target>,
    allow_non_tailnet: bool,
    reach: Duration,
    step: Duration,
    paths: HostPaths,
    /// What verify checks after the host phase (empty: not run).
    verify: BTreeSet<Vantage>,
    /// The node's tailnet address from the Tailscale API (set per stack).
    node_address: Option<std::net::IpAddr>,
    /// On a server replace, back up the old server's state first and
    /// restore it into the new one (see `carry_over`).
    carry: bool,
    /// `--templates`: the host phase renders the unit from them too.
    templates: crate::render::Templates,
}

impl HostOptions {
    fn from_args(args: &UpArgs, global: &GlobalArgs) -> Result<HostOptions> {
        let ssh_host = args.ssh_host.as_deref().map(Target::parse).transpose()?;
        let verify = match &args.verify {
            Some(list) => super::verify::vantages(list, "--verify")?,
            // --ssh-host: the tailnet is not the way in, so neither its
            // checks nor "outside" (this machine may be the server's LAN).
            None if ssh_host.is_some() => [Vantage::Api, Vantage::Host].into_iter().collect(),
            None => Vantage::DEPLOYMENT.into_iter().collect(),
        };
        Ok(HostOptions {
            verify,
            node_address: None,
            carry: false,
            skip: args.skip_host,
            sim: args.sim,
            ssh_host,
            allow_non_tailnet: args.allow_non_tailnet,
            reach: Duration::from_secs(args.reach_timeout),
            step: Duration::from_secs(args.host_timeout),
            paths: args
                .host_root
                .as_deref()
                .map(HostPaths::under)
                .unwrap_or_default(),
            templates: super::target::templates(global),
        })
    }
}

/// What happened on the host.
enum HostOutcome {
    Ran(Box<HostReport>),
    NotRun(String),
}

struct StackOutcome {
    result: std::result::Result<Converged, String>,
    host: Option<HostOutcome>,
    verify: Option<verify::Report>,
    requests: RequestCounts,
    /// Requests to the Tailscale API (`None`: not used).
    tailnet_requests: Option<TailscaleCounts>,
    tailnet: TailnetReport,
    /// Why it failed, as an exit code would say it.
    failure: Option<Kind>,
    /// The state carried across a replace.
    carried: Option<Carried>,
}

/// How to open the gateway once it runs (token auth): the token is shown
/// only on the user's terminal by `secrets get`, never typed as an argument
/// (shell history), and a browser the gateway holds for pairing is approved
/// with the day-two commands (README, "Day-two operations").
fn how_to_open(url: &str) -> String {
    format!(
        "  open     {url} from a device on the tailnet, signing in with the gateway token:\n\
         \x20          `clawprov secrets get gateway_token` prints it to this terminal only\n\
         \x20          (paste it; it never goes into a command line or shell history)\n\
         \x20 pairing  a browser left waiting for approval: `clawprov openclaw -- devices list`,\n\
         \x20          then `clawprov openclaw -- devices approve REQUEST_ID`\n"
    )
}

struct UpReport {
    outcomes: Vec<StackOutcome>,
    preflight: Outcome,
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
                        out.push_str(&format!("  server   {s}\n"));
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
                    if let Some(d) = &o.tailnet.device {
                        out.push_str(&format!(
                            "  device   {} #{} ({}; key expiry {})\n",
                            d.name,
                            d.id,
                            d.addresses.join(", "),
                            if o.tailnet.key_expiry_disabled {
                                "off"
                            } else {
                                "on"
                            }
                        ));
                    }
                    if let Some(k) = &o.tailnet.key {
                        out.push_str(&format!(
                            "  key      {} {}\n",
                            k.id,
                            match (k.consumed, k.revoked) {
                                (true, true) => "spent by the join, then revoked",
                                (true, false) => "spent by the join",
                                (false, true) => "revoked unused",
                                (false, false) => "already gone",
                            }
                        ));
                    }
                    match &o.host {
                        Some(HostOutcome::Ran(r)) => {
                            out.push_str(&format!(
                                "  gateway  {} (host key {}, {})\n",
                                r.url,
                                r.host_key.fingerprint,
                                if r.changed {
                                    "changed"
                                } else {
                                    "nothing to change"
                                }
                            ));
                            out.push_str(&format!("  release  {}", r.release.running));
                            if let Some(prev) = &r.release.previous {
                                out.push_str(&format!(
                                    " (upgraded in place from {prev}, which stays installed)"
                                ));
                            }
                            out.push('\n');
                            out.push_str(&how_to_open(&r.url));
                        }
                        Some(HostOutcome::NotRun(why)) => {
                            out.push_str(&format!(
                                "  tailnet  {} (host phase not run)\n",
                                c.tailnet_url
                            ));
                            out.push_str(&format!("  note     {why}\n"));
                        }
                        None => {}
                    }
                }
                Err(e) => out.push_str(&format!("FAILED: {e}\n")),
            }
            if let Some(c) = &o.carried {
                out.push_str(&format!(
                    "  state    {} files, {} bytes from the old server ({}), {}\n",
                    c.files,
                    c.bytes,
                    c.archive.display(),
                    if c.restored {
                        "restored into the new one"
                    } else {
                        "NOT restored"
                    }
                ));
            }
            if let Some(v) = &o.verify {
                out.push_str(&super::verify::human(v));
            }
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        let stacks: Vec<_> = self
            .outcomes
            .iter()
            .map(|o| {
                let r = &o.requests;
                let requests = json!({"reads": r.reads, "mutations": r.mutations,
                    "retries": r.retries, "rate_limited": r.rate_limited,
                    "tailscale": o.tailnet_requests});
                let tailnet = &o.tailnet;
                let host = match &o.host {
                    Some(HostOutcome::Ran(r)) => json!({"ran": true, "report": r}),
                    Some(HostOutcome::NotRun(why)) => json!({"ran": false, "reason": why}),
                    None => serde_json::Value::Null,
                };
                let verified = o.verify.as_ref().map(super::verify::json_of);
                let url = match &o.host {
                    Some(HostOutcome::Ran(r)) => Some(r.url.clone()),
                    _ => None,
                };
                let carried = &o.carried;
                match &o.result {
                    Ok(c) => json!({"ok": true, "result": c, "host": host, "url": url,
                        "tailnet": tailnet, "verify": verified, "requests": requests,
                        "carried": carried}),
                    Err(e) => json!({"ok": false, "error": e, "host": host,
                        "tailnet": tailnet, "verify": verified, "requests": requests,
                        "carried": carried}),
                }
            })
            .collect();
        json!({ "stacks": stacks, "preflight": self.preflight })
    }
}

pub async fn run(args: UpArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let mut host_options = HostOptions::from_args(&args, global)?;
    // Before any request: globs count too.
    if host_options.ssh_host.is_some() && stack_paths(global)?.len() > 1 {
        return Err(Error::bad_input(
            "--ssh-host names one node: use it with one stack",
        ));
    }
    let endpoint = Endpoint::resolve(global, args.sim, ui).await?;
    let (planned, preflight) =
        plan_all(global, &endpoint, args.sim, args.offline, args.parallel, ui).await?;
    let plans = Plans {
        plans: planned.iter().map(|p| p.plan.clone()).collect(),
        preflight: preflight.clone(),
    };
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
    // A replace carries the gateway's state over unless told not to
    // (`--sim` alone has no node to carry it from).
    let no_node = host_options.sim && host_options.ssh_host.is_none();
    let carry = !replaces.is_empty() && !args.no_backup && !no_node;
    let carry = if carry && host_options.skip {
        ui.warn(
            "--skip-host: the gateway's state is not carried across the replace (the restore \
             needs the host phase); if it matters, stop and take one with `clawprov backup` first",
        );
        false
    } else {
        carry
    };
    let destructive: usize = planned.iter().map(|p| p.plan.destructive().len()).sum();
    if destructive > 0 && !args.yes {
        if !ui.interactive() {
            let how = if carry {
                " (with a replace, --yes also takes a backup of the old server's state and \
                 restores it into the new one; or take one first with `clawprov backup` and \
                 pass --yes --no-backup)"
            } else {
                ""
            };
            return Err(Error::bad_input(format!(
                "the plan deletes or replaces {destructive} resource(s) and this is not a terminal: pass --yes to proceed{how}"
            )));
        }
        if !confirm(&format!(
            "Delete or replace {destructive} resource(s) as shown?"
        )) {
            return Err(Error::bad_input("not confirmed; nothing was changed"));
        }
    }
    host_options.carry = carry
        && (args.yes
            || confirm(
                "Back up the old server's gateway state (~/.openclaw) first, and restore it into the new server?",
            ));

    let gate = Arc::new(Semaphore::new(args.parallel.max(1)));
    let mut tasks = Vec::new();
    for p in planned {
        let gate = gate.clone();
        let ui = ui.clone();
        let options = host_options.clone();
        let global = global.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = gate.acquire_owned().await;
            converge_stack(p, &options, &global, &ui).await
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
    let all_bad_input = outcomes
        .iter()
        .all(|o| o.failure.is_none_or(|k| k == Kind::BadInput));
    ui.emit(&UpReport {
        outcomes,
        preflight,
    });
    if failed > 0 {
        let kind = if all_bad_input {
            Kind::BadInput
        } else {
            Kind::Failed
        };
        return Err(Error::new(kind, format!(
            "{failed} of {total} stack(s) did not converge; run `clawprov up` again to continue (resources are found by their labels)"
        )));
    }
    Ok(())
}

/// The tailnet's stale devices and the new server's key, the Hetzner
/// phase, the node's join, then the host phase, for one stack.
async fn converge_stack(
    p: Planned,
    options: &HostOptions,
    global: &GlobalArgs,
    ui: &Ui,
) -> StackOutcome {
    let stack = &p.loaded.stack;
    let mut tailnet = TailnetReport::default();
    let fail = |msg: String, kind: Kind, tailnet: TailnetReport| StackOutcome {
        result: Err(msg),
        host: None,
        verify: None,
        requests: p.client.requests(),
        tailnet_requests: p.tailscale.as_ref().map(|t| t.requests()),
        tailnet,
        failure: Some(kind),
        carried: None,
    };
    // Before anything is deleted (the old node's device included).
    let mut carried = None;
    if let (true, Some(old)) = (
        options.carry && !p.plan.replaces().is_empty(),
        p.observed.servers.first(),
    ) {
        let taken = async {
            let node_address = match (&p.tailscale, &options.ssh_host) {
                (Some(ts), None) => super::node::tailnet_address(ts, stack, &old.created).await?,
                _ => None,
            };
            let old_options = HostOptions {
                node_address,
                ..options.clone()
            };
            let inputs = host_inputs(&p.loaded, Some(old.id), &old_options);
            carry_over::take(&inputs, &p.loaded, global, ui).await
        }
        .await;
        match taken {
            Ok(c) => carried = Some(c),
            Err(e) => {
                return fail(
                    format!(
                    "{}: backup of the old server before the replace: {e}. Nothing was deleted; \
                         fix that and run up again, or replace without the state: \
                         `clawprov up --replace --no-backup`",
                    stack.name
                ),
                    e.kind(),
                    tailnet,
                )
            }
        }
    }
    // Before the server exists: the key must be in its user-data.
    let before_create = time::OffsetDateTime::now_utc() - CLOCK_SKEW;
    let mut minted = None;
    if let Some(ts) = &p.tailscale {
        match converge::tailnet::prepare(ts, stack, &p.plan.tailnet, ui, &mut tailnet).await {
            Ok(k) => minted = k,
            Err(e) => {
                let e = Error::from(e);
                return fail(format!("{}: tailnet: {e}", stack.name), e.kind(), tailnet);
            }
        }
    }
    let fresh_user_data = match &minted {
        Some(k) => match p.loaded.user_data(global, &k.key) {
            Ok(u) => Some(u),
            Err(e) => return fail(e.to_string(), e.kind(), tailnet),
        },
        None => None,
    };
    let user_data = fresh_user_data.as_ref().unwrap_or(&p.user_data);
    let converged = converge::apply(&p.client, &p.plan, &p.observed, user_data, ui).await;
    drop(fresh_user_data);
    let converged = match converged {
        Ok(c) => c,
        Err(e) => {
            let e = Error::from(e);
            let mut msg = e.to_string();
            if let (Some(ts), Some(k)) = (&p.tailscale, &minted) {
                msg.push_str(&revoke_after_failure(ts, k, &mut tailnet).await);
            }
            return fail(msg, e.kind(), tailnet);
        }
    };
    let node = match tailnet_after_create(
        &p,
        options,
        ui,
        minted.as_ref(),
        before_create,
        &mut tailnet,
    )
    .await
    {
        Ok(n) => n,
        Err(e) => {
            let e = Error::from(e);
            let mut msg = format!("{}: tailnet: {e}", stack.name);
            if let (Some(ts), Some(k)) = (&p.tailscale, &minted) {
                msg.push_str(&revoke_after_failure(ts, k, &mut tailnet).await);
            }
            return fail(msg, e.kind(), tailnet);
        }
    };
    let node_address = node.as_ref().and_then(|d| d.address());
    let options = &HostOptions {
        node_address,
        ..options.clone()
    };
    let requests = p.client.requests();
    let server_id = converged.server.as_ref().map(|s| s.id);
    match host_phase(&p.loaded, server_id, options, ui).await {
        Ok(outcome) => {
            if let (Some(c), HostOutcome::Ran(_)) = (carried.as_mut(), &outcome) {
                let inputs = host_inputs(&p.loaded, server_id, options);
                match carry_over::restore(inputs, &p.loaded, c, global, ui).await {
                    Ok(()) => {}
                    Err(e) => {
                        let archive = c.archive.display().to_string();
                        return StackOutcome {
                            result: Err(format!(
                                "{}: the new server runs, but restoring the old server's state into it failed: {e}. \
                                 The backup is kept: `clawprov restore {archive}` puts it back",
                                p.loaded.stack.name
                            )),
                            host: Some(outcome),
                            verify: None,
                            requests: p.client.requests(),
                            tailnet_requests: p.tailscale.as_ref().map(|t| t.requests()),
                            tailnet,
                            failure: Some(e.kind()),
                            carried,
                        };
                    }
                }
            }
            let ran = matches!(outcome, HostOutcome::Ran(_));
            if ran {
                record_in_vault(&p, ui);
                if let Some(c) = &p.desired.config {
                    let path = crate::gateway::record::beside(&p.loaded.path, &stack.name);
                    let text = format!(
                        "{}\n",
                        serde_json::to_string_pretty(&c.json).unwrap_or_default()
                    );
                    if let Err(e) = crate::gateway::record::write(&path, &text) {
                        ui.warn(&format!(
                            "{}: could not write {} (the record plan compares openclaw.json with): {e}",
                            stack.name,
                            path.display()
                        ));
                    }
                }
                if let Some(lock) = &p.desired.server.lock_tree {
                    let path = crate::lock::record::beside(&p.loaded.path, &stack.name);
                    if let Err(e) =
                        crate::gateway::record::write(&path, &crate::lock::record::text(lock))
                    {
                        ui.warn(&format!(
                            "{}: could not write {} (the record plan counts a tree's change with): {e}",
                            stack.name,
                            path.display()
                        ));
                    }
                }
                if let Err(e) = record_release(&p, server_id).await {
                    let e = Error::from(e);
                    return fail(
                        format!(
                            "{}: the host phase succeeded, but recording the release in the \
                             server's labels failed: {e}; `clawprov up` again records it",
                            stack.name
                        ),
                        e.kind(),
                        tailnet,
                    );
                }
            }
            let report = if ran && !options.verify.is_empty() {
                let cert_note = if options.verify.contains(&verify::Vantage::Tailnet) {
                    format!(
                        "; the first HTTPS request waits up to {} s while the node fetches its certificate",
                        verify::tailnet::CERT_WAIT.as_secs()
                    )
                } else {
                    String::new()
                };
                let step = ui.step(&format!(
                    "{}: verify ({}{cert_note})",
                    p.loaded.stack.name,
                    options
                        .verify
                        .iter()
                        .map(|v| v.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
                let report = verify::verify(
                    verify::Inputs {
                        hetzner: &p.client,
                        tailscale: p.tailscale.as_ref(),
                        desired: &p.desired,
                        vault: &p.loaded.vault,
                        host: host_inputs(&p.loaded, server_id, options),
                    },
                    &verify::Options {
                        only: options.verify.clone(),
                        ..verify::Options::default()
                    },
                )
                .await;
                if report.passed() {
                    step.done(&format!("{} checks passed", report.checks.len()));
                } else {
                    step.fail(&format!("{} check(s) failed", report.failing().len()));
                }
                Some(report)
            } else {
                None
            };
            let requests = p.client.requests();
            let failed: Vec<String> = report
                .as_ref()
                .map(|r| r.failing().iter().map(|c| c.id.to_string()).collect())
                .unwrap_or_default();
            StackOutcome {
                result: if failed.is_empty() {
                    Ok(converged)
                } else {
                    Err(format!(
                        "{}: deployed, but verify failed: {} (see the checks)",
                        p.loaded.stack.name,
                        failed.join(", ")
                    ))
                },
                host: Some(outcome),
                verify: report,
                requests,
                tailnet_requests: p.tailscale.as_ref().map(|t| t.requests()),
                tailnet,
                failure: (!failed.is_empty()).then_some(Kind::Failed),
                carried,
            }
        }
        Err(e) => {
            let e = Error::from(e);
            StackOutcome {
                result: Err(format!("{}: host phase: {e}", p.loaded.stack.name)),
                host: None,
                verify: None,
                requests,
                tailnet_requests: p.tailscale.as_ref().map(|t| t.requests()),
                tailnet,
                failure: Some(e.kind()),
                carried,
            }
        }
    }
}

/// After a host phase that ran: the vault records which of its secrets the
/// server now has (what the next `plan` compares the env file with) and,
/// for a new server, when its node joined the tailnet (the age of its
/// tailnet key). Written only when that changed; a failed write is a
/// warning (the deployment stands, and the next `up` records it).
fn record_in_vault(p: &Planned, ui: &Ui) {
    let Some(file) = &p.loaded.vault_file else {
        return;
    };
    let stack = &p.loaded.stack;
    let mut vault = p.loaded.vault.clone();
    let mut changed = false;
    if !crate::plan::env::is_marked(&vault, stack) {
        crate::plan::env::mark(&mut vault, stack);
        changed = true;
    }
    let created = p.plan.steps.iter().any(|s| {
        s.resource == crate::plan::Resource::Server
            && matches!(s.op, crate::plan::Op::Create | crate::plan::Op::Replace)
    });
    if created && p.tailscale.is_some() {
        vault.record_mut().tailscale_node_key = Some(crate::secrets::SetAt::now());
        changed = true;
    }
    if changed {
        if let Err(e) = file.save(&vault) {
            ui.warn(&format!(
                "{}: could not record the delivery in the vault ({e}); the next `clawprov up` \
                 records it",
                stack.name
            ));
        }
    }
}

/// After a host phase that upgraded in place: the server's labels say
/// which release runs now (what the next `plan` compares against). Only
/// clawprov's labels change; any other label on the server stays.
async fn record_release(
    p: &Planned,
    server_id: Option<i64>,
) -> std::result::Result<(), crate::hetzner::HetznerError> {
    if p.plan.host.is_empty() {
        return Ok(());
    }
    let Some(id) = server_id else {
        return Ok(());
    };
    let mut labels = p
        .observed
        .servers
        .iter()
        .find(|s| s.id == id)
        .map(|s| s.labels.clone())
        .unwrap_or_default();
    labels.extend(p.desired.server_labels());
    p.client.set_server_labels(id, &labels).await
}

async fn host_phase(
    loaded: &Loaded,
    server_id: Option<i64>,
    options: &HostOptions,
    ui: &Ui,
) -> std::result::Result<HostOutcome, host::HostError> {
    let stack = &loaded.stack;
    if options.skip {
        return Ok(HostOutcome::NotRun(
            "--skip-host: stopped after the Hetzner phase; run `clawprov up` again to finish"
                .into(),
        ));
    }
    if options.sim && options.ssh_host.is_none() {
        return Ok(HostOutcome::NotRun(format!(
            "--sim has no real node, so the host phase was not run. It would reach {}.{} over SSH as {} \
             (pinning its host key in {}), wait for cloud-init, deliver the gateway's env file and \
             openclaw.json (0600, owned by {}), start clawprov-gateway.service on 127.0.0.1:{}, check \
             that Tailscale Serve proxies to it with Funnel off, and shred the bootstrap log and \
             cloud-init's copies of the user-data",
            stack.tailscale.hostname,
            stack.tailscale.tailnet,
            stack.host.admin_user,
            HostInputs::known_hosts_beside(&loaded.path, stack).display(),
            stack.host.service_user,
            stack.openclaw.port,
        )));
    }
    let inputs = host_inputs(loaded, server_id, options);
    let progress = UiProgress::new(ui, &stack.name);
    let report = host::run(inputs, &progress).await?;
    Ok(HostOutcome::Ran(Box::new(report)))
}

fn host_inputs<'a>(
    loaded: &'a Loaded,
    server_id: Option<i64>,
    options: &HostOptions,
) -> HostInputs<'a> {
    HostInputs {
        stack: &loaded.stack,
        vault: &loaded.vault,
        ssh_host: options.ssh_host.clone(),
        allow_non_tailnet: options.allow_non_tailnet,
        node_address: options.node_address,
        known_hosts: HostInputs::known_hosts_beside(&loaded.path, &loaded.stack),
        server_id,
        reach_deadline: options.reach,
        step_deadline: options.step,
        paths: options.paths.clone(),
        templates: options.templates.clone(),
    }
}

/// After the Hetzner phase: wait for a new server's node and keep it
/// (key expiry off, minted key revoked), or take the existing node the
/// plan found. `None`: no Tailscale API, or no node to wait for (`--sim`).
async fn tailnet_after_create(
    p: &Planned,
    options: &HostOptions,
    ui: &Ui,
    minted: Option<&NewKey>,
    before_create: time::OffsetDateTime,
    report: &mut TailnetReport,
) -> std::result::Result<Option<Device>, TailscaleError> {
    let Some(ts) = &p.tailscale else {
        return Ok(None);
    };
    let plan = &p.plan.tailnet;
    let stack = &p.loaded.stack;
    let name = &stack.name;
    if !plan.awaits_join() {
        if let Some(node) = &plan.node {
            converge::tailnet::keep_node(ts, node, report).await?;
            converge::tailnet::revoke_leftovers(ts, name, plan, ui, report).await?;
            report.device = Some(node.clone());
        }
        return Ok(plan.node.clone());
    }
    if options.sim && options.ssh_host.is_none() {
        // No node will join the simulator; the key must not outlive up.
        if let Some(k) = minted {
            report.key = Some(converge::tailnet::retire_key(ts, k).await?);
        }
        ui.info(&format!(
            "{}: --sim has no real node to join the tailnet{}; a real up waits here for the device",
            stack.name,
            if minted.is_some() {
                " (the minted key was revoked unused)"
            } else {
                ""
            }
        ));
        return Ok(None);
    }
    if options.skip {
        // The server boots and joins by itself; revoking the key would stop
        // it, so it is left to its expiry and the next `up` waits.
        let said = match minted {
            Some(k) => format!(
                "--skip-host: not waiting for the node to join; the tailnet key {} minted for the \
                 server stays valid until {} (its bootstrap joins with it, once); the next \
                 `clawprov up` waits for the device, then revokes the key",
                k.id, k.expires
            ),
            None => "--skip-host: not waiting for the node to join; the next `clawprov up` waits \
                     for the device"
                .to_string(),
        };
        ui.info(&format!("{}: {said}", stack.name));
        report.join_not_awaited = Some(said);
        return Ok(None);
    }
    // The node of the server this run created joins after the key was
    // minted; one an earlier run created, after that server.
    let standing = p
        .observed
        .servers
        .first()
        .and_then(|s| crate::tailscale::node::timestamp(&s.created));
    let since = match (minted, standing) {
        (Some(k), _) => converge::tailnet::minted_at(k),
        (None, Some(created)) if !plan.mints() => created,
        _ => before_create,
    };
    let node = converge::tailnet::await_node(ts, stack, since, options.reach, ui).await?;
    converge::tailnet::keep_node(ts, &node, report).await?;
    if !plan.mints() {
        converge::tailnet::revoke_leftovers(ts, name, plan, ui, report).await?;
    }
    if let Some(k) = minted {
        report.key = Some(converge::tailnet::retire_key(ts, k).await?);
    }
    report.device = Some(node.clone());
    Ok(Some(node))
}

/// After a failure: revoke the minted key (best effort), and say so.
async fn revoke_after_failure(ts: &Tailscale, key: &NewKey, report: &mut TailnetReport) -> String {
    match converge::tailnet::retire_key(ts, key).await {
        Ok(o) => {
            report.key = Some(o);
            format!("; the tailnet key {} minted for the new server was revoked, so a re-run mints a fresh one (`clawprov up --replace` if the server exists but never joined)", key.id)
        }
        Err(e) => format!(
            "; the tailnet key {} minted for the new server could not be revoked ({e}): it expires on its own within the hour, or revoke it in the admin console",
            key.id
        ),
    }
}
