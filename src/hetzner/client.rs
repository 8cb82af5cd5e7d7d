//! The client: where it talks to, with which token, and how one request is
//! sent (rate limit, counting, retries, adoption after ambiguous creates).
//!
//! Request and response bodies are the hcloud crate's models, so every answer
//! is checked against the published API shape. The HTTP call itself is made
//! here with reqwest rather than through `hcloud::apis::*` because the
//! generated functions (a) drop the response headers, and the shared limiter
//! and 429 handling need `RateLimit-Remaining`/`RateLimit-Reset`, and (b) keep
//! the token in `hcloud::apis::configuration::Configuration`, which derives
//! `Debug` and would print it in plain text. The endpoint convention is the
//! same as the crate's `base_path_mapping`: the default base
//! `https://api.hetzner.cloud/v1` replaced by the given one.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::action::ActionProgress;
use super::error::{Cause, HetznerError};
use super::rate_limit::{Priority, RateLimitHeaders, RateLimiter};
use super::retry::{classify_status, classify_transport, Backoff, RetryPolicy, Verdict};
use crate::secrets::Secret;

/// The real API; what `base_path_mapping` maps from in the hcloud crate.
pub const DEFAULT_ENDPOINT: &str = "https://api.hetzner.cloud/v1";

/// Tunables. The defaults suit the real API; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Polling an action: 500 ms doubling, capped (short cap: actions
    /// usually take seconds and each poll costs one request).
    pub action_poll: Backoff,
    /// Overall deadline for one wait (an action, a server reaching running).
    pub action_deadline: Duration,
    /// Deadline for one HTTP attempt.
    pub request_timeout: Duration,
    /// Seed for the jitter; `None` seeds from the OS.
    pub jitter_seed: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy::default(),
            action_poll: Backoff {
                base: Duration::from_millis(500),
                cap: Duration::from_secs(2),
            },
            action_deadline: Duration::from_secs(600),
            request_timeout: Duration::from_secs(30),
            jitter_seed: None,
        }
    }
}

/// Requests sent by one client (and its clones), every attempt counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// GET requests.
    pub reads: u64,
    /// POST/PUT/DELETE requests.
    pub mutations: u64,
    /// Attempts that were repeats of an earlier failed attempt.
    pub retries: u64,
    /// Answers that were 429.
    pub rate_limited: u64,
    /// The most attempts any single request needed (faults + 429s).
    pub max_attempts_per_request: u64,
    /// Creates whose outcome was unclear and that found the resource already there.
    pub adopted: u64,
}

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    mutations: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
    max_attempts: AtomicU64,
    adopted: AtomicU64,
}

/// Callback through which action waits report progress (the UI implements it).
pub type ProgressFn = dyn Fn(&ActionProgress) + Send + Sync;

struct Inner {
    base: String,
    token: Secret,
    http: reqwest::Client,
    limiter: Arc<RateLimiter>,
    counters: Counters,
    options: ClientOptions,
    rng: Mutex<StdRng>,
}

/// A Hetzner Cloud API client. Cheap to clone; clones share counters and the
/// per-token rate limiter (which other clients with the same token share too).
#[derive(Clone)]
pub struct Hetzner {
    inner: Arc<Inner>,
    progress: Option<Arc<ProgressFn>>,
}

impl fmt::Debug for Hetzner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hetzner")
            .field("endpoint", &self.inner.base)
            .field("token", &"[redacted]")
            .field("requests", &self.requests())
            .finish()
    }
}

/// The endpoint to use: the `--hcloud-endpoint` flag, else `HCLOUD_ENDPOINT`,
/// else `None` (the real API).
pub fn endpoint_from(flag: Option<String>) -> Option<String> {
    flag.filter(|s| !s.trim().is_empty()).or_else(|| {
        std::env::var("HCLOUD_ENDPOINT")
            .ok()
            .filter(|s| !s.trim().is_empty())
    })
}

/// The token to use: the vault's `hcloud_token`, else `HCLOUD_TOKEN`.
pub fn token_from(vault: Option<Secret>) -> Result<Secret, HetznerError> {
    if let Some(t) = vault.filter(|t| !t.expose().trim().is_empty()) {
        return Ok(t);
    }
    match std::env::var("HCLOUD_TOKEN") {
        Ok(t) if !t.trim().is_empty() => Ok(Secret::new(t.trim())),
        _ => Err(HetznerError::MissingToken),
    }
}

/// One HTTP request as the retry loop sees it.
pub(crate) struct Call {
    /// What the user would call it: "create server web-1".
    pub operation: String,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<serde_json::Value>,
    /// Polls yield to work when the rate limit bites.
    pub priority: Priority,
}

impl Call {
    pub fn get(operation: impl Into<String>, path: impl Into<String>) -> Self {
        Call {
            operation: operation.into(),
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
            priority: Priority::Work,
        }
    }

    pub fn new(
        method: Method,
        operation: impl Into<String>,
        path: impl Into<String>,
        body: Option<serde_json::Value>,
    ) -> Self {
        Call {
            operation: operation.into(),
            method,
            path: path.into(),
            query: Vec::new(),
            body,
            priority: Priority::Work,
        }
    }

    pub fn query(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_string(), value.into()));
        self
    }

    /// Mark this call as an action poll: it yields to work when the rate
    /// limit bites.
    pub fn poll(mut self) -> Self {
        self.priority = Priority::Poll;
        self
    }
}

/// One failed attempt.
struct Failure {
    verdict: Verdict,
    cause: Cause,
}

/// The outcome of a create: the API's answer, or an existing resource found
/// after an ambiguous failure.
pub(crate) enum Created<R, D> {
    Fresh(R),
    Adopted(D),
}

impl Hetzner {
    /// A client for `endpoint` (`None`: the real API) with `token`.
    pub fn new(endpoint: Option<String>, token: Secret) -> Result<Self, HetznerError> {
        Self::with_options(endpoint, token, ClientOptions::default())
    }

    pub fn with_options(
        endpoint: Option<String>,
        token: Secret,
        options: ClientOptions,
    ) -> Result<Self, HetznerError> {
        if token.expose().trim().is_empty() {
            return Err(HetznerError::MissingToken);
        }
        let base = endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let parsed = reqwest::Url::parse(&base).map_err(|e| HetznerError::BadEndpoint {
            endpoint: base.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(HetznerError::BadEndpoint {
                endpoint: base,
                reason: "expected http://HOST[:PORT]/v1 or https://...".into(),
            });
        }
        if parsed.scheme() == "http" && !is_loopback(&parsed) {
            // The bearer token rides in every request: only over TLS, or to
            // this machine (the simulator, an SSH port-forward).
            return Err(HetznerError::BadEndpoint {
                endpoint: base,
                reason: "plain http is allowed only to a loopback address; the API token would cross the network unencrypted (use https://)".into(),
            });
        }
        let base = base.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .user_agent(concat!("clawprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| HetznerError::BadEndpoint {
                endpoint: base.clone(),
                reason: e.to_string(),
            })?;
        let limiter = RateLimiter::shared(&base, token.expose());
        let rng = match options.jitter_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Ok(Hetzner {
            inner: Arc::new(Inner {
                base,
                token,
                http,
                limiter,
                counters: Counters::default(),
                options,
                rng: Mutex::new(rng),
            }),
            progress: None,
        })
    }

    /// The same client, reporting action progress to `f`.
    pub fn with_progress(&self, f: impl Fn(&ActionProgress) + Send + Sync + 'static) -> Self {
        Hetzner {
            inner: self.inner.clone(),
            progress: Some(Arc::new(f)),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.base
    }

    pub fn options(&self) -> &ClientOptions {
        &self.inner.options
    }

    pub(crate) fn report(&self, p: &ActionProgress) {
        if let Some(f) = &self.progress {
            f(p);
        }
    }

    /// What this client (and its clones) has sent so far.
    pub fn requests(&self) -> RequestCounts {
        let c = &self.inner.counters;
        RequestCounts {
            reads: c.reads.load(Ordering::Relaxed),
            mutations: c.mutations.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
            max_attempts_per_request: c.max_attempts.load(Ordering::Relaxed),
            adopted: c.adopted.load(Ordering::Relaxed),
        }
    }

    /// Remove the token from any text that leaves this layer, in case a
    /// server or library echoes it back.
    fn redact(&self, text: &str) -> String {
        let token = self.inner.token.expose();
        if token.is_empty() {
            text.to_string()
        } else {
            text.replace(token, "[redacted]")
        }
    }

    pub(crate) async fn backoff_sleep(&self, retry: u32) {
        let d = {
            let mut rng = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner());
            self.inner.options.retry.backoff.jittered(retry, &mut *rng)
        };
        tokio::time::sleep(d).await;
    }

    /// One HTTP attempt through the shared limiter. Returns the body text.
    async fn attempt(&self, call: &Call) -> Result<String, Failure> {
        let inner = &*self.inner;
        let _permit = inner.limiter.acquire_as(call.priority).await;
        let counter = if call.method == Method::GET {
            &inner.counters.reads
        } else {
            &inner.counters.mutations
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let url = format!("{}{}", inner.base, call.path);
        let mut rb = inner
            .http
            .request(call.method.clone(), &url)
            .bearer_auth(inner.token.expose())
            .timeout(inner.options.request_timeout);
        if !call.query.is_empty() {
            rb = rb.query(&call.query);
        }
        if let Some(body) = &call.body {
            rb = rb.json(body);
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                return Err(Failure {
                    verdict: classify_transport(&e),
                    cause: Cause::Transport(self.redact(&error_chain(&e))),
                })
            }
        };
        let status = resp.status().as_u16();
        let limits = RateLimitHeaders::from_headers(resp.headers());
        if status == 429 {
            inner.counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            inner.limiter.exhausted(limits);
        } else if let Some(h) = limits {
            inner.limiter.observe(h);
        }
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return Err(Failure {
                    verdict: Verdict::RetryAmbiguous,
                    cause: Cause::Transport(self.redact(&error_chain(&e))),
                })
            }
        };
        if (200..300).contains(&status) {
            return Ok(text);
        }
        let (code, message) = match serde_json::from_str::<hcloud::models::ErrorResponse>(&text) {
            Ok(env) => (env.error.code.clone(), env.error.message.clone()),
            Err(_) => (
                format!("http_{status}"),
                text.chars().take(200).collect::<String>(),
            ),
        };
        Err(Failure {
            verdict: classify_status(status, &code),
            cause: Cause::Api {
                status,
                code: self.redact(&code),
                message: self.redact(&message),
            },
        })
    }

    fn note_attempts(&self, attempts: u32) {
        let c = &self.inner.counters;
        c.max_attempts.fetch_max(attempts as u64, Ordering::Relaxed);
    }

    fn decode<T: DeserializeOwned>(
        &self,
        call: &Call,
        attempts: u32,
        text: &str,
    ) -> Result<T, HetznerError> {
        // An empty body (204) decodes as JSON null.
        let text = if text.trim().is_empty() { "null" } else { text };
        serde_json::from_str(text).map_err(|e| HetznerError::Request {
            operation: call.operation.clone(),
            attempts,
            cause: Cause::Decode(self.redact(&e.to_string())),
            left_behind: None,
        })
    }

    fn failed(&self, call: &Call, attempts: u32, cause: Cause) -> HetznerError {
        HetznerError::Request {
            operation: call.operation.clone(),
            attempts,
            cause,
            left_behind: None,
        }
    }

    /// Send a request that is safe to repeat (reads, deletes, actions on an
    /// existing resource), retrying within the policy.
    pub(crate) async fn request<T: DeserializeOwned>(
        &self,
        call: &Call,
    ) -> Result<T, HetznerError> {
        let policy = self.inner.options.retry;
        let (mut faults, mut limited) = (0u32, 0u32);
        loop {
            let result = self.attempt(call).await;
            let attempts = faults + limited + 1;
            let failure = match result {
                Ok(text) => {
                    self.note_attempts(attempts);
                    return self.decode(call, attempts, &text);
                }
                Err(f) => f,
            };
            match failure.verdict {
                Verdict::Fail => {
                    self.note_attempts(attempts);
                    return Err(self.failed(call, attempts, failure.cause));
                }
                Verdict::RateLimited => {
                    limited += 1;
                    if limited > policy.max_rate_limited {
                        self.note_attempts(attempts);
                        return Err(self.failed(call, attempts, failure.cause));
                    }
                    // The limiter now holds every request for this token
                    // until the bucket refills; no extra sleep needed.
                }
                Verdict::RetrySafe | Verdict::RetryAmbiguous => {
                    faults += 1;
                    if faults >= policy.max_attempts {
                        self.note_attempts(attempts);
                        return Err(self.failed(call, attempts, failure.cause));
                    }
                    self.backoff_sleep(faults).await;
                }
            }
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Send a create. A create is never re-sent blindly: after an answer that
    /// leaves its outcome unclear (timeout, dropped connection, 5xx), or a
    /// `uniqueness_error` following one, `lookup` searches for the resource
    /// by its labels and name and adopts it if it is there.
    pub(crate) async fn create<R, D, F, Fut>(
        &self,
        call: &Call,
        lookup: F,
        left_behind: &str,
    ) -> Result<Created<R, D>, HetznerError>
    where
        R: DeserializeOwned,
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<D>, HetznerError>>,
    {
        let policy = self.inner.options.retry;
        let (mut faults, mut limited) = (0u32, 0u32);
        let mut unclear = false;
        loop {
            let result = self.attempt(call).await;
            let attempts = faults + limited + 1;
            let failure = match result {
                Ok(text) => {
                    self.note_attempts(attempts);
                    return self.decode(call, attempts, &text).map(Created::Fresh);
                }
                Err(f) => f,
            };
            let give_up = |cause: Cause, unclear: bool| {
                self.note_attempts(attempts);
                let e = self.failed(call, attempts, cause);
                if unclear {
                    e.leaving(left_behind.to_string())
                } else {
                    e
                }
            };
            match failure.verdict {
                Verdict::Fail => {
                    if unclear && failure.cause.code() == Some("uniqueness_error") {
                        let found = self
                            .adopt(&lookup, call, attempts, &failure.cause, left_behind)
                            .await?;
                        if let Some(found) = found {
                            self.note_attempts(attempts);
                            return Ok(Created::Adopted(found));
                        }
                    }
                    return Err(give_up(failure.cause, unclear));
                }
                Verdict::RateLimited => {
                    limited += 1;
                    if limited > policy.max_rate_limited {
                        return Err(give_up(failure.cause, unclear));
                    }
                }
                Verdict::RetrySafe => {
                    faults += 1;
                    if faults >= policy.max_attempts {
                        return Err(give_up(failure.cause, unclear));
                    }
                    self.backoff_sleep(faults).await;
                }
                Verdict::RetryAmbiguous => {
                    unclear = true;
                    faults += 1;
                    let found = self
                        .adopt(&lookup, call, attempts, &failure.cause, left_behind)
                        .await?;
                    if let Some(found) = found {
                        self.note_attempts(attempts);
                        return Ok(Created::Adopted(found));
                    }
                    if faults >= policy.max_attempts {
                        return Err(give_up(failure.cause, true));
                    }
                    self.backoff_sleep(faults).await;
                }
            }
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Look for the resource an unclear create may have made. If the lookup
    /// itself fails, the error is still the create's: what failed, and that
    /// the resource may exist.
    async fn adopt<D, F, Fut>(
        &self,
        lookup: &F,
        call: &Call,
        attempts: u32,
        cause: &Cause,
        left_behind: &str,
    ) -> Result<Option<D>, HetznerError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Option<D>, HetznerError>>,
    {
        match lookup().await {
            Ok(Some(found)) => {
                self.inner.counters.adopted.fetch_add(1, Ordering::Relaxed);
                Ok(Some(found))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.note_attempts(attempts);
                Err(HetznerError::Request {
                    operation: call.operation.clone(),
                    attempts,
                    cause: cause.clone(),
                    left_behind: Some(format!("{left_behind} (looking for it failed too: {e})")),
                })
            }
        }
    }
}

/// A transport error with its sources ("error sending request: connection
/// closed before message completed"), which reqwest's Display alone omits.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_token() {
        let canary = "canary-token-5f2e9d";
        let h = Hetzner::new(Some("http://127.0.0.1:9/v1".into()), Secret::new(canary)).unwrap();
        let text = format!("{h:?}");
        assert!(!text.contains(canary), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
        assert_eq!(
            h.redact(&format!("echo {canary} back")),
            "echo [redacted] back"
        );
    }

    #[test]
    fn endpoint_must_be_http_and_empty_token_is_refused() {
        let bad = Hetzner::new(Some("ftp://x/v1".into()), Secret::new("t")).unwrap_err();
        assert!(matches!(bad, HetznerError::BadEndpoint { .. }), "{bad}");
        let bad = Hetzner::new(Some("not a url".into()), Secret::new("t")).unwrap_err();
        assert!(matches!(bad, HetznerError::BadEndpoint { .. }), "{bad}");
        let none = Hetzner::new(None, Secret::new("  ")).unwrap_err();
        assert!(matches!(none, HetznerError::MissingToken));
        let cleartext = Hetzner::new(Some("http://api.example.com/v1".into()), Secret::new("t"));
        assert!(
            matches!(cleartext, Err(HetznerError::BadEndpoint { .. })),
            "no token over plain http off this machine"
        );
        for local in [
            "http://localhost:4000/v1",
            "http://[::1]:4000/v1",
            "http://127.0.0.2:4000/v1",
        ] {
            assert!(
                Hetzner::new(Some(local.into()), Secret::new("t")).is_ok(),
                "{local}"
            );
        }
        let ok = Hetzner::new(Some("http://127.0.0.1:1/v1/".into()), Secret::new("t")).unwrap();
        assert_eq!(ok.endpoint(), "http://127.0.0.1:1/v1");
        assert_eq!(
            Hetzner::new(None, Secret::new("t")).unwrap().endpoint(),
            DEFAULT_ENDPOINT
        );
    }

    #[test]
    fn vault_token_wins_over_nothing() {
        let t = token_from(Some(Secret::new("from-vault"))).unwrap();
        assert_eq!(t.expose(), "from-vault");
    }
}
