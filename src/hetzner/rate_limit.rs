//! One rate-limit bucket per API token, shared by every client in the process.
//!
//! Hetzner limits requests per project (a bucket of 3600 refilling 1 per
//! second) and answers 429 when it is empty. Many stacks provisioned at once
//! with one token draw from the same bucket, so they must wait in one queue:
//! the limiter mirrors the server's bucket from the `RateLimit-*` headers and
//! makes a request wait locally until the bucket has a request to spare.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

/// Hetzner's documented refill rate, used until the headers tell otherwise.
const DEFAULT_REFILL_PER_SEC: f64 = 1.0;

/// The server's `RateLimit-*` headers of one answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: u64,
    pub remaining: u64,
    /// UNIX time (seconds) when the bucket is full again.
    pub reset_unix: u64,
}

impl RateLimitHeaders {
    pub fn from_headers(h: &reqwest::header::HeaderMap) -> Option<Self> {
        let num = |name: &str| -> Option<u64> { h.get(name)?.to_str().ok()?.trim().parse().ok() };
        Some(RateLimitHeaders {
            limit: num("ratelimit-limit")?,
            remaining: num("ratelimit-remaining")?,
            reset_unix: num("ratelimit-reset")?,
        })
    }
}

/// How often a request waiting for the first answer looks again.
const FIRST_ANSWER_WAIT: Duration = Duration::from_millis(20);

/// A local mirror of the server's token bucket. Pure: every method takes the
/// current time, so its arithmetic is tested without clocks or sleeps.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Requests available now; `None` until the first answer tells us.
    tokens: Option<f64>,
    limit: f64,
    refill_per_sec: f64,
    updated: Instant,
    /// Requests sent and not answered yet.
    in_flight: u32,
    /// Requests of [`Priority::Work`] waiting for a token: while there are
    /// any, [`Priority::Poll`] requests wait too.
    waiting_work: u32,
}

/// Which requests go first when the bucket runs dry. Polling an action only
/// observes; everything else moves a deployment forward. A poll that waits
/// costs nothing (the action keeps running, and the later answer is more
/// likely "done"), so it yields its token to work: a fleet's creates get
/// through sooner and fewer polls are spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Work,
    Poll,
}

impl Bucket {
    pub fn new(now: Instant) -> Self {
        Bucket {
            tokens: None,
            limit: f64::INFINITY,
            refill_per_sec: DEFAULT_REFILL_PER_SEC,
            updated: now,
            in_flight: 0,
            waiting_work: 0,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        if let Some(t) = self.tokens.as_mut() {
            *t = (*t + elapsed * self.refill_per_sec).min(self.limit);
        }
        self.updated = now;
    }

    /// Take one request from the bucket, or say how long to wait before asking
    /// again.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.try_take_as(now, Priority::Work)
    }

    /// [`try_take`](Self::try_take) for a request of `priority`: a poll is
    /// refused while work waits for a token.
    pub fn try_take_as(&mut self, now: Instant, priority: Priority) -> Result<(), Duration> {
        self.refill(now);
        if priority == Priority::Poll && self.waiting_work > 0 {
            return Err(Duration::from_secs_f64(1.0 / self.refill_per_sec));
        }
        match self.tokens.as_mut() {
            // Until an answer tells the bucket's state, one request at a
            // time: fifty stacks starting together would otherwise empty it
            // before anyone knows its size, and every one of them would get
            // a 429 and back off.
            None if self.in_flight > 0 => Err(FIRST_ANSWER_WAIT),
            None => {
                self.in_flight += 1;
                Ok(())
            }
            Some(t) if *t >= 1.0 => {
                *t -= 1.0;
                self.in_flight += 1;
                Ok(())
            }
            Some(t) => {
                let missing = 1.0 - *t;
                Err(Duration::from_secs_f64(missing / self.refill_per_sec))
            }
        }
    }

    /// A request taken with [`Bucket::try_take`] got its answer (or none).
    pub fn release(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// Learn the server's state from an answer's headers. Requests still in
    /// flight (other than this one) will each take a token on the server too,
    /// so they are subtracted: erring on the side of waiting.
    pub fn observe(&mut self, now: Instant, now_unix: u64, h: RateLimitHeaders) {
        self.refill(now);
        self.limit = h.limit as f64;
        let missing = h.limit.saturating_sub(h.remaining);
        let until_full = h.reset_unix.saturating_sub(now_unix);
        if missing > 0 && until_full >= 3 {
            // Reset is when the bucket is full: missing tokens over that
            // time. Whole seconds make short spans meaningless (1 missing
            // token at 30/s still says "1 s"), so only spans of 3 s or more
            // update the rate (off by at most a third).
            self.refill_per_sec = (missing as f64 / until_full as f64).clamp(0.01, 1000.0);
        }
        // The server's count is the truth as of this answer; requests still
        // in flight (other than this one) will take from it too.
        let others = self.in_flight.saturating_sub(1) as f64;
        self.tokens = Some((h.remaining as f64 - others).max(0.0));
    }

    /// The server answered 429: nothing is left, whatever we believed.
    pub fn exhausted(&mut self, now: Instant, now_unix: u64, h: Option<RateLimitHeaders>) {
        if let Some(h) = h {
            self.observe(now, now_unix, h);
        }
        self.tokens = Some(0.0);
    }

    pub fn refill_per_sec(&self) -> f64 {
        self.refill_per_sec
    }
}

/// The shared limiter for one (endpoint, token) pair.
#[derive(Debug)]
pub struct RateLimiter {
    bucket: Mutex<Bucket>,
}

/// Held while a request is in flight; gives the slot back when dropped.
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
}

/// A work request waiting for a token, counted in `waiting_work`.
struct WaitingWork<'a> {
    limiter: &'a RateLimiter,
}

impl Drop for WaitingWork<'_> {
    fn drop(&mut self) {
        let mut bucket = self.limiter.lock();
        bucket.waiting_work = bucket.waiting_work.saturating_sub(1);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.lock().release();
    }
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl RateLimiter {
    fn new() -> Self {
        RateLimiter {
            bucket: Mutex::new(Bucket::new(Instant::now())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Bucket> {
        // A panic while holding this lock cannot leave the bucket unusable:
        // its fields are plain numbers.
        self.bucket.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait until the bucket has a request to spare, and take it.
    pub async fn acquire(&self) -> Permit<'_> {
        self.acquire_as(Priority::Work).await
    }

    /// [`acquire`](Self::acquire) for a request of `priority`.
    pub async fn acquire_as(&self, priority: Priority) -> Permit<'_> {
        // Counted as waiting work from its first refusal until it gets a
        // token or is dropped (a cancelled request must not hold polls back).
        let mut waiting: Option<WaitingWork<'_>> = None;
        loop {
            let wait = {
                let mut bucket = self.lock();
                let wait = bucket.try_take_as(Instant::now(), priority);
                if wait.is_err() && priority == Priority::Work && waiting.is_none() {
                    bucket.waiting_work += 1;
                    waiting = Some(WaitingWork { limiter: self });
                }
                wait
            };
            match wait {
                Ok(()) => {
                    drop(waiting);
                    return Permit { limiter: self };
                }
                Err(d) => tokio::time::sleep(d.max(Duration::from_millis(1))).await,
            }
        }
    }

    pub fn observe(&self, h: RateLimitHeaders) {
        self.lock().observe(Instant::now(), now_unix(), h);
    }

    pub fn exhausted(&self, h: Option<RateLimitHeaders>) {
        self.lock().exhausted(Instant::now(), now_unix(), h);
    }

    /// The limiter shared by every client of this endpoint and token in the
    /// process. Keyed by a hash, so the registry never holds the token.
    pub fn shared(endpoint: &str, token: &str) -> Arc<RateLimiter> {
        static REGISTRY: OnceLock<Mutex<HashMap<[u8; 32], Weak<RateLimiter>>>> = OnceLock::new();
        let mut hasher = Sha256::new();
        hasher.update(endpoint.as_bytes());
        hasher.update([0u8]);
        hasher.update(token.as_bytes());
        let key: [u8; 32] = hasher.finalize().into();
        let registry = REGISTRY.get_or_init(|| Mutex::new(HashMap::new()));
        let mut map = registry.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = map.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        map.retain(|_, w| w.strong_count() > 0);
        let limiter = Arc::new(RateLimiter::new());
        map.insert(key, Arc::downgrade(&limiter));
        limiter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EP: &str = "http://127.0.0.1:1/v1";

    #[test]
    fn a_poll_yields_to_waiting_work_and_a_cancelled_wait_does_not_block_polls() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        b.observe(
            t0,
            0,
            RateLimitHeaders {
                limit: 10,
                remaining: 1,
                reset_unix: 10,
            },
        );
        b.waiting_work = 1;
        assert!(b.try_take_as(t0, Priority::Poll).is_err(), "work waits");
        assert!(b.try_take_as(t0, Priority::Work).is_ok());
        b.waiting_work = 0;
        b.release();

        // A work request that gave up waiting (its future dropped) no longer
        // counts as waiting.
        let limiter = RateLimiter::new();
        limiter.lock().tokens = Some(0.0);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async {
            let give_up = tokio::time::timeout(
                Duration::from_millis(50),
                limiter.acquire_as(Priority::Work),
            );
            assert!(give_up.await.is_err(), "no token: it waits");
        });
        assert_eq!(limiter.lock().waiting_work, 0);
    }

    #[test]
    fn one_limiter_per_token_and_endpoint() {
        let a1 = RateLimiter::shared(EP, "token-a");
        let a2 = RateLimiter::shared(EP, "token-a");
        let b = RateLimiter::shared(EP, "token-b");
        let a_elsewhere = RateLimiter::shared("http://127.0.0.1:2/v1", "token-a");
        assert!(Arc::ptr_eq(&a1, &a2));
        assert!(!Arc::ptr_eq(&a1, &b));
        assert!(!Arc::ptr_eq(&a1, &a_elsewhere));
    }

    #[test]
    fn a_request_through_one_client_drains_the_bucket_for_the_other() {
        let a1 = RateLimiter::shared(EP, "token-shared-drain");
        let a2 = RateLimiter::shared(EP, "token-shared-drain");
        a1.lock().tokens = Some(1.0);
        assert!(a1.lock().try_take(Instant::now()).is_ok());
        assert!(a2.lock().try_take(Instant::now()).is_err());
    }

    #[test]
    fn empty_bucket_says_how_long_until_one_refills() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        assert!(
            b.try_take(t0).is_ok(),
            "unknown bucket lets the first request go"
        );
        // 100-request bucket, empty, full again in 20 s: 5 per second.
        b.observe(
            t0,
            1_000,
            RateLimitHeaders {
                limit: 100,
                remaining: 0,
                reset_unix: 1_020,
            },
        );
        b.release();
        assert!((b.refill_per_sec() - 5.0).abs() < 1e-9);
        let wait = b.try_take(t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(200));
        // After that wait, exactly one request fits.
        let t1 = t0 + wait;
        assert!(b.try_take(t1).is_ok());
        assert!(b.try_take(t1).is_err());
    }

    #[test]
    fn in_flight_requests_are_counted_against_the_server_view() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        // Before any answer, one request at a time.
        b.try_take(t0).unwrap();
        assert!(
            b.try_take(t0).is_err(),
            "the bucket's size is not known yet"
        );
        b.observe(
            t0,
            10,
            RateLimitHeaders {
                limit: 3600,
                remaining: 3599,
                reset_unix: 3601,
            },
        );
        for _ in 0..4 {
            b.try_take(t0).unwrap();
        }
        // One answer says 3 remain; 4 others are still in flight.
        b.observe(
            t0,
            10,
            RateLimitHeaders {
                limit: 3600,
                remaining: 3,
                reset_unix: 3607,
            },
        );
        assert!(b.try_take(t0).is_err());
    }

    #[test]
    fn short_reset_spans_do_not_change_the_rate_and_the_server_count_wins() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        let h = |remaining, reset_unix| RateLimitHeaders {
            limit: 30,
            remaining,
            reset_unix,
        };
        b.try_take(t0).unwrap();
        b.observe(t0, 100, h(29, 101));
        b.release();
        assert_eq!(b.refill_per_sec(), DEFAULT_REFILL_PER_SEC);
        b.try_take(t0).unwrap();
        b.observe(t0, 100, h(0, 103));
        b.release();
        assert!((b.refill_per_sec() - 10.0).abs() < 1e-9);
        assert!(b.try_take(t0).is_err());
        // A later answer says the bucket refilled: believe it.
        b.try_take(t0 + Duration::from_millis(100)).unwrap();
        b.observe(t0, 100, h(20, 101));
        b.release();
        assert!(b.try_take(t0 + Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn a_429_empties_the_bucket_even_if_headers_disagree() {
        let t0 = Instant::now();
        let mut b = Bucket::new(t0);
        b.exhausted(t0, 0, None);
        assert!(b.try_take(t0).is_err());
    }

    #[test]
    fn headers_parse_from_a_response() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("RateLimit-Limit", "3600".parse().unwrap());
        h.insert("RateLimit-Remaining", "12".parse().unwrap());
        h.insert("RateLimit-Reset", "1700000000".parse().unwrap());
        assert_eq!(
            RateLimitHeaders::from_headers(&h),
            Some(RateLimitHeaders {
                limit: 3600,
                remaining: 12,
                reset_unix: 1_700_000_000
            })
        );
        h.remove("RateLimit-Reset");
        assert_eq!(RateLimitHeaders::from_headers(&h), None);
    }
}
