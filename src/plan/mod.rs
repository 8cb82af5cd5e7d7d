//! The plan: desired vs. observed -> ordered steps.
//!
//! A plan is a value (Terraform-style): computed once from what the stack
//! wants ([`Desired`]) and what the stack's labels find on Hetzner
//! ([`Observed`]), printed by `plan`, executed step by step by `up`
//! ([`crate::converge`]). Nothing in `up` decides what the plan does not
//! show. There is no state file: the labels are the state, so a crashed or
//! killed run leaves nothing that the next plan cannot see.

mod compute;
mod desired;
pub mod env;
pub mod host;
mod observed;
mod step;
mod table;
pub mod tailnet;

use serde::Serialize;

use crate::hetzner::MonthlyCost;

pub use compute::{steps, teardown_steps};
pub use desired::{
    base_labels, resource_name, selector, Desired, DesiredConfig, DesiredFirewall, DesiredServer,
    DesiredSshKey, BOOTSTRAP_LABEL, CONFIG_LABEL, LOCK_LABEL, MANAGED_LABEL, NODE_LABEL,
    OPENCLAW_LABEL, STACK_LABEL, USER_DATA_LABEL,
};
pub use host::{ConfigChange, HostChange, HostPlan};
pub use observed::{observe, Observed};
pub use step::{Change, Op, Resource, Step};
pub use tailnet::{TailnetObserved, TailnetOp, TailnetPlan, TailnetStep};

/// Monthly cost as the `/pricing` catalog gives it, formatted ("4.51 EUR").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cost {
    pub server: String,
    pub backups: Option<String>,
    pub primary_ipv4: Option<String>,
    pub total: String,
}

impl From<&MonthlyCost> for Cost {
    fn from(c: &MonthlyCost) -> Self {
        Cost {
            server: c.server.to_string(),
            backups: c.backups.as_ref().map(ToString::to_string),
            primary_ipv4: c.primary_ipv4.as_ref().map(ToString::to_string),
            total: c.total().to_string(),
        }
    }
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Make the stack exist as declared (`plan`, `up`).
    Converge,
    /// Remove every resource with the stack's labels (`destroy`).
    Teardown,
}

/// The steps for one stack, in execution order.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub stack: String,
    pub purpose: Purpose,
    pub steps: Vec<Step>,
    /// Monthly cost of the declared server (converge plans only).
    pub cost: Option<Cost>,
    /// What the steps converge to (converge plans only).
    #[serde(skip)]
    pub desired: Option<Desired>,
    /// The tailnet side: stale devices, the key minted for a new server,
    /// what happens once the node joins.
    pub tailnet: TailnetPlan,
    /// What the host phase changes in place on a server that stays (an
    /// upgrade of the release).
    pub host: HostPlan,
}

impl Plan {
    /// The plan that takes `observed` to `desired`.
    pub fn converge(desired: &Desired, observed: &Observed) -> Plan {
        let steps = steps(desired, observed);
        Plan {
            stack: desired.stack.clone(),
            purpose: Purpose::Converge,
            host: host::plan(desired, observed, &steps),
            steps,
            cost: None,
            desired: Some(desired.clone()),
            tailnet: TailnetPlan::default(),
        }
    }

    /// The plan that removes everything `observed` holds.
    pub fn teardown(stack: &str, observed: &Observed) -> Plan {
        Plan {
            stack: stack.to_string(),
            purpose: Purpose::Teardown,
            steps: teardown_steps(observed),
            cost: None,
            desired: None,
            tailnet: TailnetPlan::default(),
            host: HostPlan::default(),
        }
    }

    pub fn with_tailnet(mut self, tailnet: TailnetPlan) -> Plan {
        self.tailnet = tailnet;
        self
    }

    pub fn with_cost(mut self, cost: &MonthlyCost) -> Plan {
        self.cost = Some(Cost::from(cost));
        self
    }

    /// True when executing the plan changes nothing: no mutating request,
    /// nothing on the tailnet, nothing on the host.
    pub fn is_noop(&self) -> bool {
        !self.steps.iter().any(|s| s.op.mutates())
            && self.tailnet.steps.is_empty()
            && self.host.is_empty()
    }

    /// Steps that remove something that exists (ask first, or `--yes`).
    pub fn destructive(&self) -> Vec<&Step> {
        self.steps.iter().filter(|s| s.op.destructive()).collect()
    }

    /// Steps that replace the server (`up` needs `--replace`).
    pub fn replaces(&self) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| s.op == Op::Replace && s.resource == Resource::Server)
            .collect()
    }

    /// Delete steps that first lift a server's delete protection
    /// (`destroy` needs `--unprotect`).
    pub fn unprotects(&self) -> Vec<&Step> {
        self.steps
            .iter()
            .filter(|s| {
                self.purpose == Purpose::Teardown
                    && s.op == Op::Delete
                    && s.resource == Resource::Server
                    && !s.changes.is_empty()
            })
            .collect()
    }

    /// The plan as a table for people.
    pub fn table(&self) -> String {
        table::render(self)
    }
}

#[cfg(test)]
mod tests;
