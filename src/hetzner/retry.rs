//! When to try a request again, and how long to wait first.
//!
//! Capped exponential backoff with jitter, bounded attempts: the same shape
//! hcloud-go and terraform-provider-hcloud use, so that many clients retrying
//! at once spread out instead of hammering the API in lockstep. The randomness
//! is injected so that the sequence can be checked exactly in tests.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff: `base * 2^(attempt-1)`, capped at `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The un-jittered delay before retry number `retry` (1 = first retry).
    pub fn nominal(&self, retry: u32) -> Duration {
        let shift = retry.saturating_sub(1).min(31);
        let factor = 1u64 << shift;
        let base_ms = self.base.as_millis() as u64;
        let ms = base_ms.saturating_mul(factor);
        Duration::from_millis(ms).min(self.cap)
    }

    /// The delay with "equal jitter": uniformly within [nominal/2, nominal].
    /// Half is kept so a retry never comes back immediately; half is random so
    /// that concurrent clients do not retry in lockstep.
    pub fn jittered(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let nominal = self.nominal(retry).as_millis() as u64;
        let half = nominal / 2;
        let extra = if nominal > half {
            rng.gen_range(0..=nominal - half)
        } else {
            0
        };
        Duration::from_millis(half + extra)
    }
}

/// How many times, and how patiently, one request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request for faults (5xx, timeout, conflict, locked,
    /// dropped connections), the first one included.
    pub max_attempts: u32,
    /// Extra attempts allowed for 429 answers. They are not faults: the shared
    /// limiter waits for the bucket to refill before each one.
    pub max_rate_limited: u32,
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    /// 8 attempts, 1 s doubling to 30 s: at most about 1.5 minutes of waiting
    /// for one request before clawprov gives up and says so.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            max_rate_limited: 30,
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(30),
            },
        }
    }
}

/// What one failed attempt means for the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Do not retry: the request was understood and refused.
    Fail,
    /// Retry; the request certainly had no effect (429, conflict, locked,
    /// connection refused).
    RetrySafe,
    /// Retry only after checking: the request may have taken effect (timeout,
    /// dropped connection, 5xx). A create must look before it re-sends.
    RetryAmbiguous,
    /// 429: wait for the rate-limit bucket, then retry.
    RateLimited,
}

/// Classify an API error answer.
pub fn classify_status(status: u16, code: &str) -> Verdict {
    match (status, code) {
        (429, _) | (_, "rate_limit_exceeded") => Verdict::RateLimited,
        (_, "conflict") | (_, "locked") => Verdict::RetrySafe,
        (_, "timeout") => Verdict::RetryAmbiguous,
        // 500 is included: Hetzner answers `server_error` for transient
        // internal faults, and a create is never re-sent without a lookup.
        (500 | 502 | 503 | 504, _) => Verdict::RetryAmbiguous,
        _ => Verdict::Fail,
    }
}

/// Classify a failure to get any answer at all.
pub fn classify_transport(err: &reqwest::Error) -> Verdict {
    if err.is_connect() {
        // Never reached the server.
        Verdict::RetrySafe
    } else {
        // Timed out, or the connection dropped after the request was sent.
        Verdict::RetryAmbiguous
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const B: Backoff = Backoff {
        base: Duration::from_millis(1000),
        cap: Duration::from_millis(60_000),
    };

    #[test]
    fn nominal_doubles_then_stays_at_the_cap() {
        let seq: Vec<u64> = (1..=9).map(|r| B.nominal(r).as_millis() as u64).collect();
        assert_eq!(
            seq,
            vec![1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
        );
        // Huge retry numbers neither overflow nor exceed the cap.
        assert_eq!(B.nominal(u32::MAX), Duration::from_millis(60_000));
    }

    #[test]
    fn jitter_stays_within_half_to_full_nominal() {
        let mut rng = StdRng::seed_from_u64(7);
        for retry in 1..=12 {
            let nominal = B.nominal(retry);
            for _ in 0..200 {
                let d = B.jittered(retry, &mut rng);
                assert!(d >= nominal / 2 && d <= nominal, "retry {retry}: {d:?}");
            }
        }
    }

    #[test]
    fn jitter_actually_varies_and_is_deterministic_per_seed() {
        let draw = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (1..=8).map(|r| B.jittered(r, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
        let mut rng = StdRng::seed_from_u64(1);
        let many: std::collections::BTreeSet<_> =
            (0..50).map(|_| B.jittered(6, &mut rng)).collect();
        assert!(many.len() > 10, "jitter should spread delays: {many:?}");
    }

    #[test]
    fn classification_follows_the_api_error_codes() {
        assert_eq!(
            classify_status(429, "rate_limit_exceeded"),
            Verdict::RateLimited
        );
        assert_eq!(classify_status(409, "conflict"), Verdict::RetrySafe);
        assert_eq!(classify_status(423, "locked"), Verdict::RetrySafe);
        assert_eq!(classify_status(504, "timeout"), Verdict::RetryAmbiguous);
        assert_eq!(classify_status(502, "bad_gateway"), Verdict::RetryAmbiguous);
        assert_eq!(classify_status(503, "unavailable"), Verdict::RetryAmbiguous);
        assert_eq!(classify_status(401, "unauthorized"), Verdict::Fail);
        assert_eq!(classify_status(422, "uniqueness_error"), Verdict::Fail);
        assert_eq!(classify_status(404, "not_found"), Verdict::Fail);
        assert_eq!(classify_status(400, "invalid_input"), Verdict::Fail);
    }
}
