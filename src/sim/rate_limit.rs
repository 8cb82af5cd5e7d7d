//! Hetzner's rate limit: a bucket per token that refills at a steady rate.
//! Time is passed in, so the math is tested without sleeping.

use std::time::{Duration, SystemTime};

use super::config::RateLimit;

/// One token's bucket.
#[derive(Debug, Clone)]
pub struct Bucket {
    limit: RateLimit,
    tokens: f64,
    updated: SystemTime,
}

/// What the `RateLimit-*` headers say after a request was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// UNIX second at which the bucket is full again.
    pub reset: u64,
}

impl Bucket {
    pub fn new(limit: RateLimit, now: SystemTime) -> Self {
        Bucket {
            limit,
            tokens: f64::from(limit.capacity),
            updated: now,
        }
    }

    fn refill(&mut self, now: SystemTime) {
        let elapsed = now.duration_since(self.updated).unwrap_or(Duration::ZERO);
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.limit.refill_per_second)
            .min(f64::from(self.limit.capacity));
        self.updated = now;
    }

    /// Counts one request at `now`.
    pub fn take(&mut self, now: SystemTime) -> Verdict {
        self.refill(now);
        let allowed = self.tokens >= 1.0;
        if allowed {
            self.tokens -= 1.0;
        }
        let missing = f64::from(self.limit.capacity) - self.tokens;
        let secs_to_full = if self.limit.refill_per_second > 0.0 {
            (missing / self.limit.refill_per_second).ceil()
        } else {
            0.0
        };
        let now_secs = super::clock::unix_secs(now);
        Verdict {
            allowed,
            limit: self.limit.capacity,
            remaining: self.tokens.floor() as u32,
            reset: now_secs + secs_to_full as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn drains_then_refuses_then_refills_one_per_second() {
        let limit = RateLimit {
            capacity: 3,
            refill_per_second: 1.0,
        };
        let mut b = Bucket::new(limit, at(0));
        let v: Vec<_> = (0..4).map(|_| b.take(at(0))).collect();
        assert_eq!(
            v.iter().map(|v| v.remaining).collect::<Vec<_>>(),
            [2, 1, 0, 0]
        );
        assert_eq!(
            v.iter().map(|v| v.allowed).collect::<Vec<_>>(),
            [true, true, true, false]
        );
        assert_eq!(v[3].limit, 3);
        assert_eq!(v[3].reset, 1_700_000_000 + 3, "full again after 3 refills");
        let later = b.take(at(1));
        assert!(later.allowed, "one token came back after a second");
        assert_eq!(later.remaining, 0);
        let much_later = b.take(at(100));
        assert_eq!(much_later.remaining, 2, "never above capacity");
    }

    #[test]
    fn default_is_3600_per_hour() {
        let mut b = Bucket::new(RateLimit::default(), at(0));
        let v = b.take(at(0));
        assert_eq!((v.limit, v.remaining), (3600, 3599));
        assert_eq!(v.reset, 1_700_000_000 + 1);
    }
}
