//! Deterministic failures of the Tailscale API: a countdown, not dice, so a
//! test knows exactly which requests fail.

use super::error::TsError;

/// The next `too_many` Tailscale API requests answer 429 (`Retry-After: 1`),
/// then the next `server_errors` answer 500, then all is normal again.
/// Control-plane calls (`/sim/tailscale/...`) are not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailscaleFaults {
    pub too_many: u32,
    pub server_errors: u32,
}

impl TailscaleFaults {
    /// The failure the next request gets, counting it down.
    pub fn take(&mut self) -> Option<TsError> {
        if self.too_many > 0 {
            self.too_many -= 1;
            return Some(TsError::new(429, "rate limit exceeded (injected)"));
        }
        if self.server_errors > 0 {
            self.server_errors -= 1;
            return Some(TsError::new(500, "internal server error (injected)"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_429s_then_500s_then_nothing() {
        let mut f = TailscaleFaults {
            too_many: 2,
            server_errors: 1,
        };
        let statuses: Vec<Option<u16>> = (0..5).map(|_| f.take().map(|e| e.status)).collect();
        assert_eq!(statuses, [Some(429), Some(429), Some(500), None, None]);
    }
}
