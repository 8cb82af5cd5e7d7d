//! Waiting for actions. All pending actions of one operation are polled
//! together (`GET /actions?id=..&id=..`, one request per round), and the next
//! round is scheduled from how fast the actions progress: an action at 10 %
//! after 0.5 s is looked at again shortly after it should be done, instead
//! of on a fixed doubling schedule. Until an action has shown progress the
//! schedule is the backoff (500 ms doubling, capped). Every wait is bounded
//! by the overall deadline.

use std::time::{Duration, Instant};

use super::client::{Call, Hetzner};
use super::error::HetznerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    Running,
    Success,
    Error,
}

/// One observation of an action, for the UI layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionProgress {
    pub action_id: i64,
    /// The API's command name: create_server, start_server, set_firewall_rules...
    pub command: String,
    /// 0..=100 as the API reports it.
    pub progress: u8,
    pub status: ActionStatus,
    pub elapsed: Duration,
}

fn progress_of(a: &hcloud::models::Action, elapsed: Duration) -> ActionProgress {
    use hcloud::models::action::Status;
    ActionProgress {
        action_id: a.id,
        command: a.command.clone(),
        progress: a.progress.clamp(0, 100) as u8,
        status: match a.status {
            Status::Running => ActionStatus::Running,
            Status::Success => ActionStatus::Success,
            Status::Error => ActionStatus::Error,
        },
        elapsed,
    }
}

/// The longest single wait an extrapolation may ask for. Progress reports
/// are coarse and an action that started between two rounds looks slower
/// than it is, so a long estimate is never trusted in one jump.
const EXTRAPOLATED_CAP: Duration = Duration::from_secs(4);
/// Shortest wait between two rounds.
const MIN_WAIT: Duration = Duration::from_millis(100);
/// Aim this far past the extrapolated end, so the round finds it done.
const MARGIN: Duration = Duration::from_millis(60);

/// One action being waited for, with the last two observations of it.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub action: hcloud::models::Action,
    previous: Option<(Instant, i64)>,
    last: (Instant, i64),
}

impl Tracked {
    pub fn new(action: hcloud::models::Action, at: Instant) -> Self {
        let progress = action.progress;
        Tracked {
            action,
            previous: None,
            last: (at, progress.into()),
        }
    }

    pub fn observe(&mut self, action: hcloud::models::Action, at: Instant) {
        self.previous = Some(self.last);
        self.last = (at, action.progress.into());
        self.action = action;
    }

    /// When this action should be done, extrapolated from its last two
    /// observations; `None` until it has been seen moving twice. (An action
    /// seen at 0 % may have been queued behind another one, as a server's
    /// start is behind its create: its rate from there would be too low.)
    fn expected_end(&self) -> Option<Instant> {
        let (t0, p0) = self.previous?;
        let (t1, p1) = self.last;
        let dt = t1.checked_duration_since(t0)?.as_secs_f64();
        if p0 <= 0 || p1 <= p0 || dt <= 0.0 {
            return None;
        }
        let rate = (p1 - p0) as f64 / dt;
        let remaining = (100 - p1.min(100)) as f64 / rate;
        Some(t1 + Duration::from_secs_f64(remaining.min(EXTRAPOLATED_CAP.as_secs_f64())))
    }
}

/// How long to wait before the next round: until the slowest action that
/// shows progress should be done (plus a margin), else the backoff delay.
pub(crate) fn next_poll(
    running: &[Tracked],
    now: Instant,
    backoff: &super::retry::Backoff,
    round: u32,
) -> Duration {
    let latest = running.iter().filter_map(Tracked::expected_end).max();
    match latest {
        Some(end) => {
            (end.saturating_duration_since(now) + MARGIN).clamp(MIN_WAIT, EXTRAPOLATED_CAP)
        }
        None => backoff.nominal(round),
    }
}

impl Hetzner {
    /// Wait until every action in `actions` has succeeded. The first failed
    /// one ends the wait with its error code and message; `left_behind` says
    /// what exists at that point.
    pub(crate) async fn wait_actions(
        &self,
        operation: &str,
        actions: Vec<hcloud::models::Action>,
        left_behind: Option<&str>,
    ) -> Result<(), HetznerError> {
        use hcloud::models::action::Status;
        let started = Instant::now();
        let backoff = self.options().action_poll;
        let deadline = self.options().action_deadline;
        let mut pending: Vec<Tracked> = actions
            .into_iter()
            .map(|a| Tracked::new(a, started))
            .collect();
        let mut round = 0u32;
        loop {
            let elapsed = started.elapsed();
            for t in &pending {
                self.report(&progress_of(&t.action, elapsed));
                if t.action.status == Status::Error {
                    let a = &t.action;
                    let (code, message) = a
                        .error
                        .as_ref()
                        .map(|e| (e.code.clone(), e.message.clone()))
                        .unwrap_or_else(|| ("unknown".into(), "no error given".into()));
                    return Err(HetznerError::ActionFailed {
                        operation: operation.to_string(),
                        action: format!("{} ({})", a.id, a.command),
                        code,
                        message,
                        left_behind: left_behind.map(str::to_string),
                    });
                }
            }
            pending.retain(|t| t.action.status == Status::Running);
            let Some(first) = pending.first() else {
                return Ok(());
            };
            round += 1;
            let wait = next_poll(&pending, Instant::now(), &backoff, round);
            if elapsed + wait > deadline {
                return Err(HetznerError::Deadline {
                    operation: operation.to_string(),
                    what: format!(
                        "action {} ({}) at {}%",
                        first.action.id, first.action.command, first.action.progress
                    ),
                    waited_secs: elapsed.as_secs(),
                    left_behind: left_behind.map(str::to_string),
                });
            }
            tokio::time::sleep(wait).await;
            let ids: Vec<String> = pending.iter().map(|t| t.action.id.to_string()).collect();
            let mut call = Call::get(
                format!("{operation}: poll actions {}", ids.join(",")),
                "/actions",
            );
            for id in &ids {
                call = call.query("id", id.clone());
            }
            let answer: hcloud::models::ListActionsResponse =
                self.request(&call).await.map_err(|e| match left_behind {
                    Some(note) => e.leaving(note),
                    None => e,
                })?;
            let now = Instant::now();
            for a in answer.actions {
                if let Some(t) = pending.iter_mut().find(|t| t.action.id == a.id) {
                    t.observe(a, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hetzner::retry::Backoff;

    fn action(id: i64, progress: i64) -> hcloud::models::Action {
        serde_json::from_value(serde_json::json!({
            "id": id, "command": "create_server", "status": "running", "progress": progress,
            "started": "2026-01-01T00:00:00Z", "finished": null, "resources": [], "error": null
        }))
        .expect("an action")
    }

    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(2),
    };

    #[test]
    fn without_progress_the_backoff_schedule_applies() {
        let t0 = Instant::now();
        let running = [Tracked::new(action(1, 0), t0)];
        assert_eq!(
            next_poll(&running, t0, &BACKOFF, 1),
            Duration::from_millis(500)
        );
        assert_eq!(next_poll(&running, t0, &BACKOFF, 3), Duration::from_secs(2));
    }

    #[test]
    fn progress_is_extrapolated_to_just_past_the_expected_end() {
        // 10 % -> 20 % in 0.5 s: 4 s left.
        let t0 = Instant::now();
        let mut t = Tracked::new(action(1, 10), t0);
        let t1 = t0 + Duration::from_millis(500);
        t.observe(action(1, 20), t1);
        let wait = next_poll(&[t], t1, &BACKOFF, 1);
        assert_eq!(wait, EXTRAPOLATED_CAP, "4.06 s is more than one jump");
        // 40 % -> 50 % in 0.5 s: 2.5 s left.
        let mut t = Tracked::new(action(1, 40), t0);
        t.observe(action(1, 50), t1);
        assert_eq!(
            next_poll(&[t], t1, &BACKOFF, 1),
            Duration::from_millis(2500) + MARGIN
        );
        // Seen at 0 % before: maybe queued, so no estimate yet.
        let mut t = Tracked::new(action(1, 0), t0);
        t.observe(action(1, 4), t1);
        assert_eq!(next_poll(&[t], t1, &BACKOFF, 2), Duration::from_secs(1));
    }

    #[test]
    fn the_slowest_action_sets_the_pace_and_waits_stay_bounded() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(1);
        let mut fast = Tracked::new(action(1, 25), t0);
        fast.observe(action(1, 50), t1);
        let mut slow = Tracked::new(action(2, 1), t0);
        slow.observe(action(2, 2), t1);
        let wait = next_poll(&[fast.clone(), slow], t1, &BACKOFF, 1);
        assert_eq!(wait, EXTRAPOLATED_CAP, "99 s left is capped");
        let wait = next_poll(&[fast.clone()], t1, &BACKOFF, 1);
        assert_eq!(
            wait,
            Duration::from_secs(2) + MARGIN,
            "the fast one alone: 2 s left"
        );
        // Observed late (past the expected end): look again soon, not never.
        let wait = next_poll(&[fast], t1 + Duration::from_secs(5), &BACKOFF, 1);
        assert_eq!(wait, MIN_WAIT);
    }
}
