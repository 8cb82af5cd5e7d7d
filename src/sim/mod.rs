//! Embedded Hetzner Cloud API (and Tailscale API) simulator (moto-style).
//!
//! [`World`] is the state model: plain data with methods that enforce the
//! API's rules and return typed [`ApiError`]s. [`http`] is a thin axum layer
//! that maps requests onto it (auth, rate limit, faults, paging headers).
//! [`Sim`] shares one `World` between the server and tests, which can poke
//! it directly; [`serve`] runs it on a socket.
//!
//! Endpoints (all under `/v1`, Bearer auth, paged lists with `meta` + `Link`):
//! - `ssh_keys` CRUD (MD5 fingerprint, unique name and key);
//! - `firewalls` CRUD, `actions/{set_rules,apply_to_resources,remove_from_resources}`
//!   (server and label-selector targets; `resource_in_use` while applied);
//! - `servers` create/get/list/update/delete, `actions/{change_protection,
//!   poweron,poweroff,reboot,reset,shutdown}`; status initializing -> starting
//!   -> running; `locked` while an action runs; `protected` on delete;
//! - `actions`, `actions/{id}`, `{servers,firewalls}/actions[/{id}]`,
//!   `{servers,firewalls}/{id}/actions[/{id}]`;
//! - catalog: `locations`, `datacenters`, `server_types`, `images`, `pricing`.
//!
//! The same server also serves a Tailscale API v2 simulator under `/api/v2`
//! and its control plane under `/sim/tailscale` (see [`tailscale`]); its
//! state is [`World::tailscale`].
//!
//! Time comes from [`Clock`]: actions finish when the clock passes their end,
//! so a manual clock makes tests deterministic. Faults ([`Faults`]) are drawn
//! from one RNG seeded by [`SimConfig::seed`], in request order.

pub mod action;
pub mod catalog;
pub mod catalog_listing;
pub mod clock;
pub mod config;
pub mod error;
pub mod faults;
pub mod fingerprint;
pub mod firewall;
pub mod http;
pub mod labels;
pub mod pagination;
pub mod query;
pub mod rate_limit;
pub mod server;
pub mod ssh_key;
pub mod tailscale;
pub mod world;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

pub use clock::Clock;
pub use config::{Faults, RateLimit, SimConfig, DEFAULT_TOKEN};
pub use error::ApiError;
pub use http::{serve, serve_sim, SimServer};
pub use tailscale::{
    OAuthClient, TailscaleConfig, TailscaleFaults, TailscaleWorld, DEFAULT_MAGIC_DNS_SUFFIX,
    DEFAULT_TAILNET, DEFAULT_TS_CLIENT_ID, DEFAULT_TS_CLIENT_SECRET,
};
pub use world::World;

/// One request as the simulator saw it; `status` 0 means the connection was
/// dropped on purpose (fault injection) without an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path and query, e.g. `/v1/servers?page=2`.
    pub path: String,
    pub status: u16,
    pub at: SystemTime,
}

/// The simulator's shared state. Cheap to clone; all clones see one world.
#[derive(Debug, Clone)]
pub struct Sim {
    world: Arc<Mutex<World>>,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
}

impl Sim {
    pub fn new(config: SimConfig) -> Self {
        Sim {
            world: Arc::new(Mutex::new(World::new(config))),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Locks the world (a poisoned lock is recovered: the state is plain data).
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the world, e.g. to seed resources or inspect them in a test.
    pub fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.world())
    }

    pub fn clock(&self) -> Clock {
        self.world().clock.clone()
    }

    /// Replaces the fault knobs while running (e.g. a 429 burst mid-test).
    pub fn set_faults(&self, faults: Faults) {
        self.world().dice.set_faults(faults);
    }

    /// Makes the next Tailscale API requests fail (429s, then 500s), e.g.
    /// to prove a client backs off and recovers.
    pub fn set_tailscale_faults(&self, faults: TailscaleFaults) {
        self.world().tailscale.set_faults(faults);
    }

    /// Replaces the rate limit and refills every bucket (e.g. to provoke a
    /// burst of 429s with a tiny bucket, then lift it).
    pub fn set_rate_limit(&self, limit: RateLimit) {
        self.world().set_rate_limit(limit);
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear_request_log(&self) {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub(crate) fn record(&self, entry: LoggedRequest) {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(entry);
    }
}
