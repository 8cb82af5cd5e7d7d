//! Hetzner Cloud client layer.
//!
//! One client type, [`Hetzner`], with typed async operations per resource
//! (ssh keys, firewalls, servers, pricing). Underneath: the hcloud crate's
//! models, one rate limiter shared per token, bounded retries with jittered
//! backoff, pagination to the last page, action waiting with a deadline, and
//! creates that look before they repeat. The rest of clawprov sees only the
//! small domain types re-exported here, never hcloud's generated ones.

mod action;
mod client;
mod error;
mod firewall;
mod pagination;
mod pricing;
pub mod rate_limit;
pub mod retry;
mod server;
mod ssh_key;

pub(crate) use action::PendingActions;
pub use action::{ActionProgress, ActionStatus};
pub use client::{
    endpoint_from, token_from, ClientOptions, Hetzner, ProgressFn, RequestCounts, DEFAULT_ENDPOINT,
};
pub use error::{Cause, HetznerError};
pub use firewall::{Direction, Firewall, FirewallRule, Protocol};
pub use pagination::{labels_match, selector_for, PER_PAGE};
pub use pricing::{Money, MonthlyCost};
pub use retry::{Backoff, RetryPolicy};
pub use server::{Protection, Server, ServerSpec, ServerStatus};
pub use ssh_key::SshKey;
