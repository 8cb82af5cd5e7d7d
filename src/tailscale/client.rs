//! The client: where it talks to, with which credential, and how one request
//! is sent (token cache, counting, bounded retries with backoff).
//!
//! Plain reqwest and serde types: Tailscale publishes no Rust client, and the
//! API is small (keys, devices, the token endpoint). Retries follow the
//! Hetzner layer's policy ([`crate::hetzner::RetryPolicy`], jittered
//! exponential backoff): 429 and 5xx and lost connections are retried a
//! bounded number of times, honouring `Retry-After`; everything else fails
//! at once with the call's name and the fix.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::credentials::Credentials;
use super::error::{fix_for, TailscaleError};
use super::oauth::{Cached, TokenAnswer};
use crate::hetzner::RetryPolicy;
use crate::secrets::Secret;

/// The real API.
pub const DEFAULT_ENDPOINT: &str = "https://api.tailscale.com/api/v2";

/// The endpoint to use: the `--tailscale-endpoint` flag, else
/// `TAILSCALE_ENDPOINT`, else `None` (the real API).
pub fn endpoint_from(flag: Option<String>) -> Option<String> {
    flag.filter(|s| !s.trim().is_empty()).or_else(|| {
        std::env::var("TAILSCALE_ENDPOINT")
            .ok()
            .filter(|s| !s.trim().is_empty())
    })
}

/// Tunables. The defaults suit the real API; tests shorten the waits.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub retry: RetryPolicy,
    /// Deadline for one HTTP attempt.
    pub request_timeout: Duration,
    /// Longest `Retry-After` honoured; a longer one is capped to this.
    pub max_retry_after: Duration,
    pub jitter_seed: Option<u64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            retry: RetryPolicy {
                max_attempts: 6,
                max_rate_limited: 10,
                ..RetryPolicy::default()
            },
            request_timeout: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(60),
            jitter_seed: None,
        }
    }
}

/// Requests sent by one client (and its clones), every attempt counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TailscaleCounts {
    /// GET requests.
    pub reads: u64,
    /// POST/DELETE requests to the API (token requests not included).
    pub mutations: u64,
    /// OAuth token requests.
    pub tokens: u64,
    /// Attempts that repeated a failed one.
    pub retries: u64,
    /// Answers that were 429.
    pub rate_limited: u64,
}

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    mutations: AtomicU64,
    tokens: AtomicU64,
    retries: AtomicU64,
    rate_limited: AtomicU64,
}

struct Inner {
    base: String,
    tailnet: String,
    credentials: Credentials,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<Option<Cached>>,
    counters: Counters,
    options: ClientOptions,
    rng: Mutex<StdRng>,
}

/// A Tailscale API v2 client. Cheap to clone; clones share the token cache
/// and the counters.
#[derive(Clone)]
pub struct Tailscale {
    inner: Arc<Inner>,
}

impl fmt::Debug for Tailscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tailscale")
            .field("endpoint", &self.inner.base)
            .field("credentials", &self.inner.credentials)
            .field("requests", &self.requests())
            .finish()
    }
}

/// Failed attempts of one request so far, by kind.
#[derive(Default)]
struct Tally {
    faults: u32,
    limited: u32,
}

/// One failed attempt, and whether another may follow.
pub(crate) enum Attempt {
    /// An answer with an error status.
    Status {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// No answer: `sent` says whether the request may have reached the API.
    Transport { reason: String, sent: bool },
}

impl Tailscale {
    /// A client for `endpoint` (`None`: the real API) on the credential's
    /// default tailnet (`-`).
    pub fn new(endpoint: Option<String>, credentials: Credentials) -> Result<Self, TailscaleError> {
        Self::with_options(endpoint, credentials, ClientOptions::default())
    }

    pub fn with_options(
        endpoint: Option<String>,
        credentials: Credentials,
        options: ClientOptions,
    ) -> Result<Self, TailscaleError> {
        let base = endpoint.unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let bad = |reason: &str| TailscaleError::BadEndpoint {
            endpoint: base.clone(),
            reason: reason.to_string(),
        };
        let parsed = reqwest::Url::parse(&base).map_err(|e| bad(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(bad(
                "expected https://HOST/api/v2 (or http:// to a loopback address)",
            ));
        }
        let host = parsed.host_str().unwrap_or("").trim_matches(['[', ']']);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|a| a.is_loopback());
        if parsed.scheme() == "http" && !loopback {
            return Err(bad(
                "plain http is allowed only to a loopback address; the credential would cross the network unencrypted (use https://)",
            ));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("clawprov/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        let rng = match options.jitter_seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_entropy(),
        };
        Ok(Tailscale {
            inner: Arc::new(Inner {
                base: base.trim_end_matches('/').to_string(),
                tailnet: "-".into(),
                credentials,
                http,
                cache: tokio::sync::Mutex::new(None),
                counters: Counters::default(),
                options,
                rng: Mutex::new(rng),
            }),
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.inner.base
    }

    /// The path segment for the tailnet (`-`: the credential's own).
    pub(crate) fn tailnet(&self) -> &str {
        &self.inner.tailnet
    }

    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub fn requests(&self) -> TailscaleCounts {
        let c = &self.inner.counters;
        TailscaleCounts {
            reads: c.reads.load(Ordering::Relaxed),
            mutations: c.mutations.load(Ordering::Relaxed),
            tokens: c.tokens.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            rate_limited: c.rate_limited.load(Ordering::Relaxed),
        }
    }

    /// Remove every credential value (and the cached token) from text that
    /// leaves this layer, in case the API echoes one back.
    fn redact(&self, text: &str, token: Option<&Secret>) -> String {
        let mut out = text.to_string();
        let mut values = self.inner.credentials.values();
        if let Some(t) = token {
            values.push(t.expose());
        }
        for v in values {
            if !v.is_empty() {
                out = out.replace(v, "[redacted]");
            }
        }
        out
    }

    async fn sleep_before(&self, retry: u32, retry_after: Option<Duration>) {
        let d = match retry_after {
            Some(d) => d.min(self.inner.options.max_retry_after),
            None => {
                let mut rng = self.inner.rng.lock().unwrap_or_else(|p| p.into_inner());
                self.inner.options.retry.backoff.jittered(retry, &mut *rng)
            }
        };
        tokio::time::sleep(d).await;
    }

    /// The bearer token: the API token itself, or an OAuth access token
    /// (cached; minted when missing or about to expire).
    async fn access_token(&self) -> Result<Secret, TailscaleError> {
        let (id, secret) = match &self.inner.credentials {
            Credentials::ApiToken(t) => return Ok(t.clone()),
            Credentials::OAuth {
                client_id,
                client_secret,
            } => (client_id, client_secret),
        };
        let mut cache = self.inner.cache.lock().await;
        if let Some(c) = cache.as_ref().filter(|c| c.fresh(Instant::now())) {
            return Ok(c.token.clone());
        }
        let call = "get an OAuth access token (POST /oauth/token)";
        let url = format!("{}/oauth/token", self.inner.base);
        let mut attempts = 0;
        let mut tally = Tally::default();
        let answer = loop {
            attempts += 1;
            self.inner.counters.tokens.fetch_add(1, Ordering::Relaxed);
            // The client in form fields, as Tailscale's docs show it (see
            // oauth.rs); the body is never logged.
            let sent = self
                .inner
                .http
                .post(&url)
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", id.expose()),
                    ("client_secret", secret.expose()),
                ])
                .timeout(self.inner.options.request_timeout)
                .send()
                .await;
            let failure = match sent {
                Ok(resp) if resp.status().is_success() => {
                    let text = resp.text().await.unwrap_or_default();
                    break serde_json::from_str::<TokenAnswer>(&text).map_err(|e| {
                        TailscaleError::Decode {
                            call: call.into(),
                            reason: format!("{e}"),
                        }
                    })?;
                }
                Ok(resp) => status_failure(resp).await,
                Err(e) => Attempt::Transport {
                    reason: e.to_string(),
                    sent: !e.is_connect(),
                },
            };
            if let Some(wait) = self.may_retry(&failure, &mut tally, true) {
                self.sleep_before(tally.faults.max(1), wait).await;
                continue;
            }
            return Err(self.give_up(call, attempts, failure, None));
        };
        let cached = Cached::from_answer(answer, Instant::now()).map_err(|reason| {
            TailscaleError::Decode {
                call: call.into(),
                reason,
            }
        })?;
        let token = cached.token.clone();
        *cache = Some(cached);
        Ok(token)
    }

    /// Forget the cached OAuth token (the API refused it).
    async fn forget_token(&self) {
        *self.inner.cache.lock().await = None;
    }

    /// `Some(wait)` if the failed attempt may be followed by another
    /// (`wait`: the server's Retry-After, if any). 429s and faults (5xx,
    /// lost connections) have separate budgets, as in the Hetzner layer.
    /// `idempotent`: repeating the request cannot do anything twice.
    fn may_retry(
        &self,
        f: &Attempt,
        tally: &mut Tally,
        idempotent: bool,
    ) -> Option<Option<Duration>> {
        let policy = &self.inner.options.retry;
        let (retryable, rate_limited, wait) = match f {
            Attempt::Status {
                status,
                retry_after,
                ..
            } => (
                *status == 429 || (*status >= 500 && idempotent),
                *status == 429,
                *retry_after,
            ),
            Attempt::Transport { sent, .. } => (!*sent || idempotent, false, None),
        };
        let within = if rate_limited {
            self.inner
                .counters
                .rate_limited
                .fetch_add(1, Ordering::Relaxed);
            tally.limited += 1;
            tally.limited <= policy.max_rate_limited
        } else {
            tally.faults += 1;
            tally.faults < policy.max_attempts
        };
        if retryable && within {
            self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
            Some(wait)
        } else {
            None
        }
    }

    fn give_up(
        &self,
        call: &str,
        attempts: u32,
        failure: Attempt,
        token: Option<&Secret>,
    ) -> TailscaleError {
        match failure {
            Attempt::Status {
                status, message, ..
            } => {
                let message = self.redact(&message, token);
                TailscaleError::Api {
                    call: call.to_string(),
                    attempts,
                    status,
                    fix: fix_for(status, &message, self.inner.credentials.describe()),
                    message,
                }
            }
            Attempt::Transport { reason, .. } => TailscaleError::Transport {
                call: call.to_string(),
                attempts,
                reason: self.redact(&reason, token),
            },
        }
    }

    /// Send one API request with retries; the answer's body text on success.
    /// `idempotent: false` (a create) is retried only when it certainly had
    /// no effect (429, connection refused); after an ambiguous failure the
    /// caller gets the error and must look before re-sending.
    pub(crate) async fn send(
        &self,
        call: &str,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        idempotent: bool,
    ) -> Result<String, TailscaleError> {
        let url = format!("{}{}", self.inner.base, path);
        let mut attempts = 0;
        let mut tally = Tally::default();
        let mut reauthed = false;
        loop {
            attempts += 1;
            let token = self.access_token().await?;
            let counter = if method == Method::GET {
                &self.inner.counters.reads
            } else {
                &self.inner.counters.mutations
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let mut req = self
                .inner
                .http
                .request(method.clone(), &url)
                .bearer_auth(token.expose())
                .timeout(self.inner.options.request_timeout);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let failure = match req.send().await {
                Ok(resp) if resp.status().is_success() => {
                    return Ok(resp.text().await.unwrap_or_default());
                }
                Ok(resp) => status_failure(resp).await,
                Err(e) => Attempt::Transport {
                    reason: e.to_string(),
                    sent: !e.is_connect(),
                },
            };
            // An OAuth token revoked or expired early: mint a new one once.
            if let Attempt::Status { status: 401, .. } = failure {
                if matches!(self.inner.credentials, Credentials::OAuth { .. }) && !reauthed {
                    reauthed = true;
                    self.forget_token().await;
                    self.inner.counters.retries.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
            if let Some(wait) = self.may_retry(&failure, &mut tally, idempotent) {
                self.sleep_before(tally.faults.max(1), wait).await;
                continue;
            }
            return Err(self.give_up(call, attempts, failure, Some(&token)));
        }
    }

    /// [`Tailscale::send`], decoding the answer.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        call: &str,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        idempotent: bool,
    ) -> Result<T, TailscaleError> {
        let text = self.send(call, method, path, body, idempotent).await?;
        serde_json::from_str(&text).map_err(|e| TailscaleError::Decode {
            call: call.to_string(),
            reason: e.to_string(),
        })
    }
}

async fn status_failure(resp: reqwest::Response) -> Attempt {
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = resp.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    Attempt::Status {
        status,
        message,
        retry_after,
    }
}
