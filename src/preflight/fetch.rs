//! GET with a timeout, a bounded retry and a cache per URL for one run, so
//! several stacks pinning the same versions cost one request each.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::error::PreflightError;

/// Each request (connect, answer and body) must finish within this. The
/// openclaw packument is ~10 MB (uncompressed through some proxies): 10 s
/// would fail on a 10 Mbit/s link, so the whole request gets 60 s while the
/// connection itself must open within [`CONNECT_TIMEOUT`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Retries after a connect error, a timeout or a 5xx answer.
pub const RETRIES: u32 = 2;
/// The openclaw packument is ~10 MB; anything far larger is not a registry.
const MAX_BODY: usize = 64 << 20;

/// A body, or `None` for a 404 (which callers read as "no such version").
pub type Body = Option<Arc<Vec<u8>>>;

pub struct Fetcher {
    http: reqwest::Client,
    timeout: Duration,
    pause: Duration,
    cache: Mutex<HashMap<String, Body>>,
    sent: AtomicUsize,
}

impl Fetcher {
    pub fn new(timeout: Duration, pause: Duration) -> Fetcher {
        let http = reqwest::Client::builder()
            .user_agent(concat!("clawprov/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .build()
            // Only fails when the TLS backend cannot start at all.
            .expect("the HTTP client starts");
        Fetcher {
            http,
            timeout,
            pause,
            cache: Mutex::new(HashMap::new()),
            sent: AtomicUsize::new(0),
        }
    }

    /// HTTP requests sent so far (retries included; cache hits not).
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// GET `url` once per run: 200 is the body, 404 is `None`, other 4xx
    /// is [`PreflightError::Refused`]; connect errors, timeouts and 5xx are
    /// retried [`RETRIES`] times, then [`PreflightError::Unreachable`].
    pub async fn get(&self, url: &str, accept: &str) -> Result<Body, PreflightError> {
        if let Some(hit) = self.cache.lock().expect("cache lock").get(url) {
            return Ok(hit.clone());
        }
        let body = self.get_uncached(url, accept).await?;
        self.cache
            .lock()
            .expect("cache lock")
            .insert(url.to_string(), body.clone());
        Ok(body)
    }

    async fn get_uncached(&self, url: &str, accept: &str) -> Result<Body, PreflightError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.sent.fetch_add(1, Ordering::Relaxed);
            let detail = match self.once(url, accept).await {
                Ok(Answer::Body(b)) => return Ok(Some(Arc::new(b))),
                Ok(Answer::NotFound) => return Ok(None),
                Ok(Answer::Status(status)) if status < 500 => {
                    return Err(PreflightError::Refused {
                        url: shown_url(url),
                        status,
                    })
                }
                Ok(Answer::Status(status)) => format!("HTTP {status}"),
                Ok(Answer::TooLarge) => {
                    return Err(PreflightError::Unreadable {
                        url: shown_url(url),
                        detail: format!("the answer is larger than {} MiB", MAX_BODY >> 20),
                    })
                }
                Err(e) => transport_detail(&e, self.timeout),
            };
            if attempt > RETRIES {
                return Err(PreflightError::Unreachable {
                    url: shown_url(url),
                    attempts: attempt,
                    detail,
                });
            }
            tokio::time::sleep(self.pause * attempt).await;
        }
    }

    async fn once(&self, url: &str, accept: &str) -> Result<Answer, reqwest::Error> {
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await?;
        let status = response.status().as_u16();
        if status == 404 {
            return Ok(Answer::NotFound);
        }
        if status != 200 {
            return Ok(Answer::Status(status));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Ok(Answer::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer::Body(body))
    }
}

enum Answer {
    Body(Vec<u8>),
    NotFound,
    Status(u16),
    TooLarge,
}

/// What went wrong, with reqwest's innermost cause (the useful part:
/// "Connection refused", a name that does not resolve, a TLS verification
/// failure).
fn transport_detail(e: &reqwest::Error, timeout: Duration) -> String {
    let what = if e.is_timeout() {
        format!("timed out after {:?}", timeout)
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "the transfer failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    let mut cause = None;
    while let Some(s) = source {
        cause = Some(s.to_string());
        source = s.source();
    }
    match cause {
        Some(c) => format!("{what} ({c})"),
        None => what,
    }
}

/// A URL for a message: a password in it is replaced by `[redacted]`.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
