//! What a simulator run looks like: who may call it, how fast time passes,
//! which failures it injects, and the tailnet it simulates. One struct so
//! tests and `sim serve` share it.

use std::time::Duration;

use super::clock::Clock;
use super::tailscale::TailscaleConfig;

/// A token that `SimConfig::default()` accepts. 64 characters, the length of
/// a real Hetzner API token, because some clients check the length.
pub const DEFAULT_TOKEN: &str = "simtokensimtokensimtokensimtokensimtokensimtokensimtokensimtoken";

/// Everything a simulator run can be tuned with.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Bearer tokens with read-write access.
    pub tokens: Vec<String>,
    /// Bearer tokens that may only read (`token_readonly` on any mutation).
    pub readonly_tokens: Vec<String>,
    /// Read-write tokens of another project: they authenticate, and see
    /// (and change) a project of their own, empty at first, as a token
    /// made in another Hetzner project does.
    pub other_project_tokens: Vec<String>,
    /// How long an action runs before it finishes (progress goes 0..100 over it).
    pub action_duration: Duration,
    /// Delay added before every response.
    pub latency: Duration,
    /// Injected failures.
    pub faults: Faults,
    /// The per-token request bucket.
    pub rate_limit: RateLimit,
    /// Seed of the fault dice: the same seed and the same requests give the
    /// same failures.
    pub seed: u64,
    /// Where "now" comes from; tests use [`Clock::manual`] to move time by hand.
    pub clock: Clock,
    /// The simulated tailnet the Tailscale API (`/api/v2`) serves.
    pub tailscale: TailscaleConfig,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            tokens: vec![DEFAULT_TOKEN.to_string()],
            readonly_tokens: Vec::new(),
            other_project_tokens: Vec::new(),
            action_duration: Duration::from_millis(100),
            latency: Duration::ZERO,
            faults: Faults::default(),
            rate_limit: RateLimit::default(),
            seed: 0,
            clock: Clock::system(),
            tailscale: TailscaleConfig::default(),
        }
    }
}

/// Probabilities (0.0..=1.0) of injected failures, drawn per request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// A request fails before touching state with one of 500 `server_error`,
    /// 502 `bad_gateway`, 504 `timeout` or 409 `conflict`.
    pub error_rate: f64,
    /// The connection is closed without any response.
    pub drop_rate: f64,
    /// A create (POST to a collection) changes state but the client sees
    /// 504 `timeout`: the ambiguous failure a client must resolve by lookup.
    pub create_timeout_after_success: f64,
    /// A finished action ends in `error` instead of `success`.
    pub action_error_rate: f64,
}

/// A token bucket per API token, like Hetzner's per-project limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Bucket size (`RateLimit-Limit`).
    pub capacity: u32,
    /// Requests given back per second.
    pub refill_per_second: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            capacity: 3600,
            refill_per_second: 1.0,
        }
    }
}
