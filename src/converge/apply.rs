//! Executing a converge plan: exactly its steps, in its order, with the
//! independent ones (SSH key and firewall) at the same time.
//!
//! Every create goes through the client's adopt-on-ambiguity path with the
//! stack's labels, and every step is safe to repeat, so a run killed at any
//! point leaves resources that the next plan finds by label and continues
//! from: no duplicates, nothing leaked.

use std::time::Instant;

use serde::Serialize;

use crate::hetzner::{
    Firewall, Hetzner, HetznerError, PendingActions, Server, ServerSpec, ServerStatus, SshKey,
};
use crate::plan::{Change, Desired, Observed, Op, Plan, Purpose, Resource, Step};
use crate::render::UserData;
use crate::ui::Ui;

use super::error::ConvergeError;
use super::progress::shown;

/// What the stack's resources are after `apply`.
#[derive(Debug, Clone, Serialize)]
pub struct Converged {
    pub stack: String,
    pub ssh_key: Option<ResourceRef>,
    pub firewall: Option<ResourceRef>,
    pub server: Option<ServerView>,
    /// `https://<hostname>.<tailnet>/`.
    pub tailnet_url: String,
    /// Steps that sent requests, e.g. "create server openclaw-example".
    pub executed: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceRef {
    pub id: i64,
    pub name: String,
}

/// The server as a report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerView {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
    pub firewall_ids: Vec<i64>,
    pub protect_delete: bool,
    pub backups: bool,
}

impl std::fmt::Display for ServerView {
    /// `name #id status ipv4 A ipv6 B`, as `up` and `status` print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} #{} {} ipv4 {} ipv6 {}",
            self.name,
            self.id,
            self.status,
            self.ipv4.as_deref().unwrap_or("-"),
            self.ipv6.as_deref().unwrap_or("-")
        )
    }
}

impl From<&Server> for ServerView {
    fn from(s: &Server) -> Self {
        ServerView {
            id: s.id,
            name: s.name.clone(),
            status: format!("{:?}", s.status).to_lowercase(),
            ipv4: s.ipv4.clone(),
            ipv6: s.ipv6.clone(),
            firewall_ids: s.firewall_ids.clone(),
            protect_delete: s.protection.delete,
            backups: s.backups_enabled,
        }
    }
}

struct Run<'a> {
    h: &'a Hetzner,
    ui: &'a Ui,
    plan: &'a Plan,
    desired: &'a Desired,
}

impl Run<'_> {
    fn fail(&self, source: HetznerError) -> ConvergeError {
        ConvergeError::Hetzner {
            stack: self.plan.stack.clone(),
            source,
        }
    }

    fn label(&self, step: &Step, what: &str) -> String {
        format!(
            "{}: {what} {} {}",
            self.plan.stack,
            step.resource.as_str(),
            step.name
        )
    }

    fn unsupported(&self, what: &str, hint: &str) -> ConvergeError {
        ConvergeError::Unsupported {
            stack: self.plan.stack.clone(),
            what: what.to_string(),
            hint: hint.to_string(),
        }
    }
}

/// Execute `plan` (made by [`Plan::converge`] from `observed`).
/// `user_data` goes into the create-server request only.
pub async fn apply(
    h: &Hetzner,
    plan: &Plan,
    observed: &Observed,
    user_data: &UserData,
    ui: &Ui,
) -> Result<Converged, ConvergeError> {
    let Some(desired) = plan
        .desired
        .as_ref()
        .filter(|_| plan.purpose == Purpose::Converge)
    else {
        return Err(ConvergeError::WrongPlan {
            stack: plan.stack.clone(),
            by: "up",
        });
    };
    let run = Run {
        h,
        ui,
        plan,
        desired,
    };
    let mut executed = Vec::new();

    // Duplicate servers go first (they may hold the name we need).
    for step in plan
        .steps
        .iter()
        .filter(|s| s.resource == Resource::Server && s.op == Op::Delete)
    {
        delete(&run, step).await?;
        executed.push(run.label(step, "delete"));
    }

    let key_step = main_step(plan, Resource::SshKey);
    let fw_step = main_step(plan, Resource::Firewall);
    let (key, (firewall, firewall_pending)) = tokio::try_join!(
        ssh_key(&run, key_step, observed),
        firewall(&run, fw_step, observed)
    )?;
    for s in [key_step, fw_step].into_iter().flatten() {
        if s.op.mutates() {
            executed.push(run.label(s, s.op.as_str()));
        }
    }

    let server_step = main_step(plan, Resource::Server);
    let creates_server = server_step.is_some_and(|s| matches!(s.op, Op::Create | Op::Replace));
    let firewall_pending = if creates_server {
        firewall_pending
    } else {
        // Nothing to overlap with: wait for the firewall's rules now.
        if let Some(f) = &firewall {
            let left = format!("firewall {} ({}) exists", f.id, f.name);
            run.h
                .wait_batch(
                    &format!("create firewall {}", f.name),
                    firewall_pending,
                    Some(&left),
                )
                .await
                .map_err(|e| run.fail(e))?;
        }
        vec![]
    };
    let server = match server_step {
        Some(step) => {
            let s = server(
                &run,
                step,
                observed,
                &key,
                &firewall,
                user_data,
                firewall_pending,
            )
            .await?;
            if step.op.mutates() {
                executed.push(run.label(step, step.op.as_str()));
            }
            s
        }
        None => None,
    };

    for step in plan
        .steps
        .iter()
        .filter(|s| s.resource != Resource::Server && s.op == Op::Delete)
    {
        delete(&run, step).await?;
        executed.push(run.label(step, "delete"));
    }

    Ok(Converged {
        stack: plan.stack.clone(),
        ssh_key: key.map(|k| ResourceRef {
            id: k.id,
            name: k.name,
        }),
        firewall: firewall.map(|f| ResourceRef {
            id: f.id,
            name: f.name,
        }),
        server: server.as_ref().map(ServerView::from),
        tailnet_url: desired.tailnet_url.clone(),
        executed,
    })
}

/// The step for the resource the stack keeps (not a duplicate's delete).
fn main_step(plan: &Plan, resource: Resource) -> Option<&Step> {
    plan.steps
        .iter()
        .find(|s| s.resource == resource && s.op != Op::Delete)
}

async fn delete(run: &Run<'_>, step: &Step) -> Result<(), ConvergeError> {
    let Some(id) = step.id else {
        return Ok(());
    };
    let label = run.label(step, "delete");
    let result = shown(run.h, run.ui, label, |h| async move {
        match step.resource {
            Resource::Server => {
                if step
                    .changes
                    .iter()
                    .any(|c| matches!(c, Change::Protection { delete: false, .. }))
                {
                    h.set_server_protection(id, false, false).await?;
                }
                h.delete_server(id).await
            }
            Resource::Firewall => h.delete_firewall(id).await,
            Resource::SshKey => h.delete_ssh_key(id).await,
        }
    })
    .await;
    result.map_err(|e| run.fail(e))
}

async fn ssh_key(
    run: &Run<'_>,
    step: Option<&Step>,
    observed: &Observed,
) -> Result<Option<SshKey>, ConvergeError> {
    let Some(step) = step else { return Ok(None) };
    let existing = || {
        observed
            .ssh_keys
            .iter()
            .find(|k| Some(k.id) == step.id)
            .cloned()
    };
    let want = &run.desired.ssh_key;
    let labels = run.desired.labels();
    match step.op {
        Op::Create | Op::Replace => {
            let label = run.label(step, step.op.as_str());
            let key = shown(run.h, run.ui, label, |h| async move {
                if let (Op::Replace, Some(id)) = (step.op, step.id) {
                    // Hetzner keys are unique by fingerprint: old one out first.
                    h.delete_ssh_key(id).await?;
                }
                h.create_ssh_key(&want.name, &want.public_key, &labels)
                    .await
            })
            .await
            .map_err(|e| run.fail(e))?;
            Ok(Some(key))
        }
        _ => Ok(existing()),
    }
}

/// The firewall, and what its creation left running (applying its rules):
/// the server step waits for that together with its own actions.
async fn firewall(
    run: &Run<'_>,
    step: Option<&Step>,
    observed: &Observed,
) -> Result<(Option<Firewall>, PendingActions), ConvergeError> {
    let Some(step) = step else {
        return Ok((None, vec![]));
    };
    let existing = observed
        .firewalls
        .iter()
        .find(|f| Some(f.id) == step.id)
        .cloned();
    let want = &run.desired.firewall;
    let labels = run.desired.labels();
    match (step.op, existing) {
        (Op::Create, _) => {
            let label = run.label(step, "create");
            let (f, pending) = shown(run.h, run.ui, label, |h| async move {
                h.create_firewall_started(&want.name, &want.rules, &labels)
                    .await
            })
            .await
            .map_err(|e| run.fail(e))?;
            Ok((Some(f), pending))
        }
        (Op::Update, Some(mut f)) => {
            let label = run.label(step, "update");
            shown(run.h, run.ui, label, |h| async move {
                h.set_firewall_rules(f.id, &want.rules).await
            })
            .await
            .map_err(|e| run.fail(e))?;
            f.rules = want.rules.clone();
            Ok((Some(f), vec![]))
        }
        (_, existing) => Ok((existing, vec![])),
    }
}

async fn server(
    run: &Run<'_>,
    step: &Step,
    observed: &Observed,
    key: &Option<SshKey>,
    firewall: &Option<Firewall>,
    user_data: &UserData,
    firewall_pending: PendingActions,
) -> Result<Option<Server>, ConvergeError> {
    let existing = observed
        .servers
        .iter()
        .find(|s| Some(s.id) == step.id)
        .cloned();
    let want = &run.desired.server;
    match step.op {
        Op::Create | Op::Replace => {
            let (Some(key), Some(firewall)) = (key, firewall) else {
                return Err(run.unsupported(
                    "create the server without its ssh key and firewall",
                    "the plan has no ssh key or firewall step",
                ));
            };
            let spec = ServerSpec {
                name: &want.name,
                server_type: &want.server_type,
                location: &want.location,
                image: &want.image,
                user_data: user_data.expose(),
                ssh_key_ids: vec![key.id],
                firewall_ids: vec![firewall.id],
                labels: run.desired.server_labels(),
                public_ipv4: want.public_ipv4,
                public_ipv6: want.public_ipv6,
            };
            let label = run.label(step, step.op.as_str());
            let mut server = shown(run.h, run.ui, label, |h| async move {
                if let (Op::Replace, Some(old)) = (step.op, &existing) {
                    if old.protection.delete {
                        h.set_server_protection(old.id, false, false).await?;
                    }
                    h.delete_server(old.id).await?;
                }
                h.create_server_after(&spec, firewall_pending).await
            })
            .await
            .map_err(|e| run.fail(e))?;
            settle(run, step, &mut server, Some(firewall.id)).await?;
            Ok(Some(server))
        }
        Op::Update => {
            let Some(mut server) = existing else {
                return Ok(None);
            };
            settle(run, step, &mut server, firewall.as_ref().map(|f| f.id)).await?;
            Ok(Some(server))
        }
        Op::Wait => {
            let Some(server) = existing else {
                return Ok(None);
            };
            let label = run.label(step, "wait for");
            let server = shown(run.h, run.ui, label, |h| async move {
                wait_running(&h, server.id).await
            })
            .await
            .map_err(|e| run.fail(e))?;
            Ok(Some(server))
        }
        Op::NoOp | Op::Delete => Ok(existing),
    }
}

/// Apply a step's in-place changes to `server` (after a create, or as the
/// update itself).
async fn settle(
    run: &Run<'_>,
    step: &Step,
    server: &mut Server,
    firewall_id: Option<i64>,
) -> Result<(), ConvergeError> {
    for change in &step.changes {
        let id = server.id;
        let label = format!(
            "{}: {} of server {}",
            run.plan.stack,
            change.describe(),
            server.name
        );
        match change {
            Change::Protection { delete, rebuild } => {
                let (d, r) = (*delete, *rebuild);
                shown(run.h, run.ui, label, |h| async move {
                    h.set_server_protection(id, d, r).await
                })
                .await
                .map_err(|e| run.fail(e))?;
                server.protection.delete = d;
                server.protection.rebuild = r;
            }
            Change::EnableBackups => {
                shown(run.h, run.ui, label, |h| async move {
                    h.enable_backups(id).await
                })
                .await
                .map_err(|e| run.fail(e))?;
                server.backups_enabled = true;
            }
            Change::DisableBackups => {
                shown(run.h, run.ui, label, |h| async move {
                    h.disable_backups(id).await
                })
                .await
                .map_err(|e| run.fail(e))?;
                server.backups_enabled = false;
            }
            Change::AttachFirewall { .. } => {
                let Some(fw) = firewall_id else {
                    return Err(run.unsupported(
                        &format!("attach a firewall to server {}", server.name),
                        "the plan has no firewall step",
                    ));
                };
                shown(run.h, run.ui, label, |h| async move {
                    h.apply_firewall_to_server(fw, id).await
                })
                .await
                .map_err(|e| run.fail(e))?;
                server.firewall_ids.push(fw);
            }
            Change::SetRules => {}
        }
    }
    Ok(())
}

/// Poll a server that exists but is still booting until it is running.
async fn wait_running(h: &Hetzner, id: i64) -> Result<Server, HetznerError> {
    let started = Instant::now();
    let mut polls = 0u32;
    loop {
        let server = h.get_server(id).await?;
        if server.status == ServerStatus::Running {
            return Ok(server);
        }
        polls += 1;
        let wait = h.options().action_poll.nominal(polls);
        if started.elapsed() + wait > h.options().action_deadline {
            return Err(HetznerError::Deadline {
                operation: format!("wait for server {id}"),
                what: format!("still {:?}", server.status).to_lowercase(),
                waited_secs: started.elapsed().as_secs(),
                left_behind: Some(format!("server {id} exists")),
            });
        }
        tokio::time::sleep(wait).await;
    }
}
