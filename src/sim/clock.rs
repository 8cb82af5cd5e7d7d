//! "Now" for the simulator. Actions, server boot and the rate-limit bucket all
//! read time from here, so tests can move it by hand instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// The wall clock, or a manual one that only moves when told to.
#[derive(Debug, Clone)]
pub struct Clock {
    manual: Option<Arc<Mutex<SystemTime>>>,
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Self {
        Clock { manual: None }
    }

    /// A clock frozen at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: SystemTime) -> Self {
        Clock {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    pub fn now(&self) -> SystemTime {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
            None => SystemTime::now(),
        }
    }

    /// Moves a manual clock forward; the system clock ignores this.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            let mut guard = t.lock().unwrap_or_else(|e| e.into_inner());
            *guard += by;
        }
    }
}

/// `t` as a UTC date-time, whole seconds (before the epoch: the epoch).
pub fn utc_seconds(t: SystemTime) -> time::OffsetDateTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// Hetzner's timestamp format, e.g. `2016-01-30T23:55:00+00:00`.
pub fn rfc3339(t: SystemTime) -> String {
    let fmt =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    utc_seconds(t).format(&fmt).unwrap_or_default()
}

/// Seconds since the UNIX epoch (for `RateLimit-Reset`).
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
