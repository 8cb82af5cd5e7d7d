//! Embedded Tailscale API v2 simulator: a stand-in for Tailscale's SaaS
//! control plane, which cannot be reached from here.
//!
//! Same split as the Hetzner simulator: [`TailscaleWorld`] is the state model
//! (plain data plus methods that enforce the API's rules and return typed
//! [`TsError`]s; tests poke it through `sim.with(|w| w.tailscale...)`), and
//! [`http`] is a thin routing layer served by the same axum server, on the
//! same port, as the Hetzner API. Time comes from the simulator's
//! [`Clock`], so a manual clock makes token and key expiry deterministic.
//!
//! Tailscale API (under `/api/v2`, errors `{"message": "..."}`):
//! - `POST oauth/token`: client credentials (HTTP Basic or form fields, or
//!   fields only with [`ClientCredentialsIn::FormOnly`]; optional `scope`
//!   and `tags`) -> an access token for 3600 s;
//! - `tailnet/{t}/keys` (GET, POST), `tailnet/{t}/keys/{id}` (GET, DELETE):
//!   auth keys; `{t}` is the configured tailnet or `-`;
//! - `tailnet/{t}/devices` (GET, `fields=default|all`, exact-match filters),
//!   `device/{id}` (GET, DELETE; `id` or `nodeId`), `device/{id}/key`,
//!   `/tags`, `/authorized`, `/expire` (POST).
//!
//! Every other request needs `Authorization: Bearer <token>` (or Basic with
//! the token as user): a token minted by `oauth/token` (its client's scopes
//! and tags) or one of [`TailscaleConfig::api_tokens`] (every scope, any
//! tags). [`TailscaleFaults`] makes the next N API requests answer 429 or 500.
//!
//! Control plane (NOT Tailscale's API: a simplified stand-in for what
//! `tailscaled` says to the coordination server, no bearer token):
//! - `POST /sim/tailscale/join` `{"auth_key","hostname","advertise_tags",
//!   "machine"}` -> `{"device": {...}}`: the key must be valid (not revoked,
//!   not expired, a single-use key not used yet; else 401 `invalid key: ...`)
//!   and carry every advertised tag (else 400). The same `machine` joining
//!   again is a re-auth (`tailscale up --force-reauth` with a new key): the
//!   same device, id, name and addresses. A new machine whose hostname is
//!   taken becomes `<hostname>-1`, `-2`..., as Tailscale names it.
//! - `POST /sim/tailscale/seen` `{"machine","online"}` -> `{"device": {...}}`
//!   flips `connectedToControl` (a node going offline or coming back).
//! - `GET /sim/tailscale/machines` -> `{"machines": [...]}`: every device's
//!   machine, for a real control plane in front (tests/tailnet/helper).
//!
//! Keys belong to whoever made them: a user's (made with an API token) are
//! invisible to OAuth clients (404 on GET and DELETE, not listed); an OAuth
//! client's are the tailnet's ([`KeyOwner`]).
//!
//! A used single-use key reads `invalid: true` without `revoked` (only a
//! `DELETE` revokes); with [`SpentKeys::NotFound`] it is 404 instead, the
//! other answer the real API may give.
//!
//! Simplifications: one tailnet; no ACL policy (any well-formed `tag:` is
//! defined); ephemeral devices are not reaped when offline; listing keys
//! shows only the keys still usable.

pub mod config;
pub mod control;
pub mod devices;
pub mod error;
pub mod faults;
pub mod http;
pub mod keys;
pub mod oauth;

use std::time::SystemTime;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::clock::Clock;

pub use config::{
    ClientCredentialsIn, OAuthClient, SpentKeys, TailscaleConfig, DEFAULT_MAGIC_DNS_SUFFIX,
    DEFAULT_TAILNET, DEFAULT_TS_CLIENT_ID, DEFAULT_TS_CLIENT_SECRET,
};
pub use control::{JoinRequest, SeenRequest};
pub use devices::Device;
pub use error::{TsError, TsResult};
pub use faults::TailscaleFaults;
pub use keys::{AuthKey, KeyOwner, KeyRequest};
pub use oauth::{AccessToken, Actor, Scope, TokenRequest};

/// The whole simulated tailnet: credentials, auth keys and devices.
#[derive(Debug)]
pub struct TailscaleWorld {
    pub config: TailscaleConfig,
    clock: Clock,
    /// Ids and secrets come from one RNG seeded by `SimConfig::seed`.
    rng: StdRng,
    tokens: Vec<AccessToken>,
    keys: Vec<AuthKey>,
    devices: Vec<Device>,
    faults: TailscaleFaults,
    /// Addresses are never handed out twice, even after a delete.
    next_address: u32,
}

impl TailscaleWorld {
    pub fn new(config: TailscaleConfig, clock: Clock, seed: u64) -> Self {
        TailscaleWorld {
            config,
            clock,
            rng: StdRng::seed_from_u64(seed ^ 0x7a11_5ca1e),
            tokens: Vec::new(),
            keys: Vec::new(),
            devices: Vec::new(),
            faults: TailscaleFaults::default(),
            next_address: 1,
        }
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Replaces the fault countdown (see [`TailscaleFaults`]).
    pub fn set_faults(&mut self, faults: TailscaleFaults) {
        self.faults = faults;
    }

    /// Whether `{t}` in a path names this tailnet.
    pub fn is_tailnet(&self, t: &str) -> bool {
        t == "-" || t == self.config.tailnet
    }

    fn alnum(&mut self, n: usize) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(CHARS[self.rng.gen_range(0..CHARS.len())]))
            .collect()
    }

    /// A stable id as Tailscale shapes them: `k...CNTRL` for keys and
    /// tokens, `n...CNTRL` for nodes. Unique within this world.
    fn stable_id(&mut self, prefix: char) -> String {
        loop {
            let id = format!("{prefix}{}CNTRL", self.alnum(11));
            let taken = self.keys.iter().any(|k| k.id == id)
                || self.tokens.iter().any(|t| t.id == id)
                || self.devices.iter().any(|d| d.node_id == id)
                || self.config.oauth_clients.iter().any(|c| c.id == id);
            if !taken {
                return id;
            }
        }
    }

    /// The secret half of a key or token.
    fn secret(&mut self) -> String {
        self.alnum(32)
    }

    /// A numeric device id, 16 digits like real ones.
    fn device_id(&mut self) -> String {
        loop {
            let id = self
                .rng
                .gen_range(1_000_000_000_000_000u64..10_000_000_000_000_000)
                .to_string();
            if !self.devices.iter().any(|d| d.id == id) {
                return id;
            }
        }
    }
}

/// Tailscale's timestamp format, e.g. `2026-12-01T10:00:00Z`.
pub fn timestamp(t: SystemTime) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    super::clock::utc_seconds(t)
        .format(&fmt)
        .unwrap_or_default()
}

/// What the API shows for "never" (e.g. `expires` with key expiry disabled).
pub const ZERO_TIMESTAMP: &str = "0001-01-01T00:00:00Z";

#[cfg(test)]
pub(crate) mod test_support {
    use std::time::{Duration, SystemTime};

    use super::*;

    /// 2026-12-01T10:00:00Z.
    pub fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_119_200)
    }

    pub fn world() -> (TailscaleWorld, Clock) {
        let clock = Clock::manual(start());
        (
            TailscaleWorld::new(TailscaleConfig::default(), clock.clone(), 0),
            clock,
        )
    }

    /// An access token of the default OAuth client, as its actor.
    pub fn oauth_actor(w: &mut TailscaleWorld) -> Actor {
        let token = w
            .mint_token(&TokenRequest::client(
                DEFAULT_TS_CLIENT_ID,
                DEFAULT_TS_CLIENT_SECRET,
            ))
            .expect("default client mints");
        w.authenticate(&token.token).expect("fresh token works")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_with_z() {
        assert_eq!(timestamp(test_support::start()), "2026-12-01T10:00:00Z");
    }

    #[test]
    fn ids_are_shaped_like_tailscales() {
        let (mut w, _) = test_support::world();
        let k = w.stable_id('k');
        assert!(
            k.starts_with('k') && k.ends_with("CNTRL") && k.len() == 17,
            "{k}"
        );
        let d = w.device_id();
        assert!(
            d.len() == 16 && d.bytes().all(|b| b.is_ascii_digit()),
            "{d}"
        );
    }
}
