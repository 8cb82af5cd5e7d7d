//! Seeded fault dice. Every draw comes from one RNG seeded by
//! `SimConfig::seed`, so a test that replays the same requests sees the same
//! failures.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::Faults;
use super::error::ApiError;

/// What to do to one request before it reaches the state model.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    None,
    /// Close the connection without answering.
    Drop,
    /// Answer this error without touching state.
    Error(ApiError),
}

#[derive(Debug)]
pub struct FaultDice {
    faults: Faults,
    rng: StdRng,
}

impl FaultDice {
    pub fn new(faults: Faults, seed: u64) -> Self {
        FaultDice {
            faults,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
    }

    fn roll(&mut self, p: f64) -> bool {
        p > 0.0 && self.rng.gen::<f64>() < p
    }

    /// Decides the fate of an incoming request.
    pub fn before_request(&mut self) -> Injected {
        if self.roll(self.faults.drop_rate) {
            return Injected::Drop;
        }
        if self.roll(self.faults.error_rate) {
            let e = match self.rng.gen_range(0..4) {
                0 => ApiError::server_error(),
                1 => ApiError::bad_gateway(),
                2 => ApiError::timeout(),
                _ => ApiError::conflict(),
            };
            return Injected::Error(e);
        }
        Injected::None
    }

    /// Whether a create that succeeded should still answer `timeout`.
    pub fn hide_created(&mut self) -> bool {
        self.roll(self.faults.create_timeout_after_success)
    }

    /// Whether a new action will end in `error`.
    pub fn action_fails(&mut self) -> bool {
        self.roll(self.faults.action_error_rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(seed: u64) -> Vec<Injected> {
        let faults = Faults {
            error_rate: 0.3,
            drop_rate: 0.1,
            ..Faults::default()
        };
        let mut dice = FaultDice::new(faults, seed);
        (0..200).map(|_| dice.before_request()).collect()
    }

    #[test]
    fn same_seed_same_faults() {
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn rates_are_roughly_honoured_and_all_kinds_occur() {
        let v = run(42);
        let drops = v.iter().filter(|i| **i == Injected::Drop).count();
        let errors: Vec<_> = v
            .iter()
            .filter_map(|i| match i {
                Injected::Error(e) => Some(e.code),
                _ => None,
            })
            .collect();
        assert!((5..=40).contains(&drops), "drops {drops}");
        assert!((30..=90).contains(&errors.len()), "errors {}", errors.len());
        for code in ["server_error", "bad_gateway", "timeout", "conflict"] {
            assert!(errors.contains(&code), "{code} never drawn");
        }
    }

    #[test]
    fn no_faults_by_default() {
        let mut dice = FaultDice::new(Faults::default(), 1);
        assert!((0..1000).all(|_| dice.before_request() == Injected::None));
        assert!(!dice.hide_created());
        assert!(!dice.action_fails());
    }
}
