//! The simulated project: every resource, action and rate-limit bucket, the
//! simulated tailnet, and the rules that span resources. Plain data plus methods that return typed
//! [`ApiError`]s; the HTTP layer never decides anything itself.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::action::{Action, ActionOutcome};
use super::clock::Clock;
use super::config::SimConfig;
use super::error::{ApiError, ApiResult};
use super::faults::FaultDice;
use super::firewall::Firewall;
use super::rate_limit::{Bucket, Verdict};
use super::server::Server;
use super::ssh_key::SshKey;
use super::tailscale::TailscaleWorld;

/// The whole simulated project.
#[derive(Debug)]
pub struct World {
    pub clock: Clock,
    pub action_duration: Duration,
    pub dice: FaultDice,
    pub config: SimConfig,
    next_id: i64,
    pub(super) next_ip: u32,
    pub ssh_keys: BTreeMap<i64, SshKey>,
    pub firewalls: BTreeMap<i64, Firewall>,
    pub servers: BTreeMap<i64, Server>,
    pub actions: BTreeMap<i64, Action>,
    buckets: HashMap<String, Bucket>,
    /// The simulated tailnet (Tailscale API and control plane).
    pub tailscale: TailscaleWorld,
    /// The project [`SimConfig::other_project_tokens`] see, made at their
    /// first request.
    pub other_project: Option<Box<World>>,
}

impl World {
    pub fn new(config: SimConfig) -> Self {
        World {
            tailscale: TailscaleWorld::new(
                config.tailscale.clone(),
                config.clock.clone(),
                config.seed,
            ),
            clock: config.clock.clone(),
            action_duration: config.action_duration,
            dice: FaultDice::new(config.faults.clone(), config.seed),
            config,
            next_id: 1,
            next_ip: 0,
            ssh_keys: BTreeMap::new(),
            firewalls: BTreeMap::new(),
            servers: BTreeMap::new(),
            other_project: None,
            actions: BTreeMap::new(),
            buckets: HashMap::new(),
        }
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub(super) fn next_id(&mut self) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Counts a request against `token`'s bucket.
    pub fn take_rate_limit(&mut self, token: &str) -> Verdict {
        let now = self.now();
        let limit = self.config.rate_limit;
        self.buckets
            .entry(token.to_string())
            .or_insert_with(|| Bucket::new(limit, now))
            .take(now)
    }

    /// Replaces the rate limit; buckets start again full.
    pub fn set_rate_limit(&mut self, limit: super::config::RateLimit) {
        self.config.rate_limit = limit;
        self.buckets.clear();
    }

    /// Starts an action at `starts` (now, or when an earlier one ends).
    pub(super) fn start_action(
        &mut self,
        command: &str,
        resources: Vec<(i64, &'static str)>,
        starts: SystemTime,
    ) -> i64 {
        let id = self.next_id();
        let outcome = if self.dice.action_fails() {
            ActionOutcome::Error
        } else {
            ActionOutcome::Success
        };
        let action = Action {
            id,
            command: command.to_string(),
            starts,
            ends: starts + self.action_duration,
            outcome,
            resources,
        };
        self.actions.insert(id, action);
        id
    }

    /// Applies what finished actions imply (a deleted server disappears).
    /// Called before every read or write so state is never stale.
    pub fn settle(&mut self) {
        let now = self.now();
        let gone: Vec<i64> = self
            .servers
            .values()
            .filter(|s| {
                s.delete_action
                    .and_then(|a| self.actions.get(&a))
                    .is_some_and(|a| a.finished(now))
            })
            .map(|s| s.id)
            .collect();
        for id in gone {
            self.servers.remove(&id);
        }
    }

    /// Whether an action on `(id, kind)` is still running.
    pub fn is_locked(&self, id: i64, kind: &str) -> bool {
        let now = self.now();
        self.actions.values().any(|a| {
            a.started(now)
                && !a.finished(now)
                && a.resources.iter().any(|(rid, k)| *rid == id && *k == kind)
        })
    }

    pub fn action_json(&self, id: i64) -> Value {
        match self.actions.get(&id) {
            Some(a) => a.json(self.now()),
            None => Value::Null,
        }
    }
}

/// Reads an optional string field of a JSON body.
pub(super) fn opt_str<'a>(body: &'a Value, field: &str) -> ApiResult<Option<&'a str>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid_field(field, "must be a string")),
    }
}

/// Reads a required, non-empty string field of a JSON body.
pub(super) fn req_str<'a>(body: &'a Value, field: &str) -> ApiResult<&'a str> {
    match opt_str(body, field)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::invalid_field(field, "is required")),
    }
}

/// A string-or-number reference to a resource (`"cx22"` or `22`).
pub(super) fn name_or_id(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Resource names follow hostname rules (RFC 1123 labels, <= 63 chars each).
pub(super) fn check_name(field: &str, name: &str, hostname: bool) -> ApiResult<()> {
    let ok = if hostname {
        name.len() <= 253
            && name.split('.').all(|l| {
                let b = l.as_bytes();
                !b.is_empty()
                    && b.len() <= 63
                    && b[0].is_ascii_alphanumeric()
                    && b[b.len() - 1].is_ascii_alphanumeric()
                    && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            })
    } else {
        !name.is_empty() && name.len() <= 128 && !name.chars().any(char::is_control)
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("'{name}' is not a valid name"),
        ))
    }
}
