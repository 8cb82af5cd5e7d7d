//! Deterministic failures of the Tailscale API: a countdown, not dice, so a
//! test knows exactly which requests fail.

use super::error::TsError;

/// The next `too_many` Tailscale API requests answer 429 (`Retry-After: 1`),
/// then the next `server_errors` answer 500, then all is normal again.
/// Control-plane calls (`/sim/tailscale/...`) are not counted. Apart from
/// those, the next `lost_creates` key creates are carried out and then
/// answered 500: the answer lost after the API acted, so the key exists
/// but its secret was never seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TailscaleFaults {
    pub too_many: u32,
    pub server_errors: u32,
    pub lost_creates: u32,
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

    /// Whether the key create just carried out loses its answer, counting
    /// it down.
    pub fn lose_create(&mut self) -> bool {
        let lose = self.lost_creates > 0;
        self.lost_creates = self.lost_creates.saturating_sub(1);
        lose
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
            lost_creates: 1,
        };
        let statuses: Vec<Option<u16>> = (0..5).map(|_| f.take().map(|e| e.status)).collect();
        assert_eq!(statuses, [Some(429), Some(429), Some(500), None, None]);
        assert!(f.lose_create() && !f.lose_create());
    }
}
