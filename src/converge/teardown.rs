//! Executing a teardown plan: servers, then firewalls (the client retries
//! `resource_in_use` while a deleted server still holds one), then SSH keys.

use serde::Serialize;

use crate::hetzner::Hetzner;
use crate::plan::{Change, Plan, Purpose, Resource};
use crate::ui::Ui;

use super::error::ConvergeError;
use super::progress::shown;

#[derive(Debug, Clone, Serialize)]
pub struct TornDown {
    pub stack: String,
    /// "server openclaw-example #42", in the order they were deleted.
    pub deleted: Vec<String>,
}

/// Execute a plan made by [`Plan::teardown`]. The caller has already
/// refused delete-protected servers unless the user allowed lifting it.
pub async fn teardown(h: &Hetzner, plan: &Plan, ui: &Ui) -> Result<TornDown, ConvergeError> {
    if plan.purpose != Purpose::Teardown {
        return Err(ConvergeError::WrongPlan {
            stack: plan.stack.clone(),
            by: "destroy",
        });
    }
    let mut deleted = Vec::new();
    for order in [Resource::Server, Resource::Firewall, Resource::SshKey] {
        for step in plan.steps.iter().filter(|s| s.resource == order) {
            let Some(id) = step.id else { continue };
            let label = format!(
                "{}: delete {} {} #{id}",
                plan.stack,
                step.resource.as_str(),
                step.name
            );
            let unprotect = step
                .changes
                .iter()
                .any(|c| matches!(c, Change::Protection { delete: false, .. }));
            shown(h, ui, label, |h| async move {
                match step.resource {
                    Resource::Server => {
                        if unprotect {
                            h.set_server_protection(id, false, false).await?;
                        }
                        h.delete_server(id).await
                    }
                    Resource::Firewall => h.delete_firewall(id).await,
                    Resource::SshKey => h.delete_ssh_key(id).await,
                }
            })
            .await
            .map_err(|source| ConvergeError::Hetzner {
                stack: plan.stack.clone(),
                source,
            })?;
            deleted.push(format!("{} {} #{id}", step.resource.as_str(), step.name));
        }
    }
    Ok(TornDown {
        stack: plan.stack.clone(),
        deleted,
    })
}
