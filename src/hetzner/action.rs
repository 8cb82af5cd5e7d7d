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

/// Actions started but not yet waited for, each with the instant its
/// request was answered: passed on to be waited for in one batch with later
/// work (a firewall's rules while its server is created).
pub(crate) type PendingActions = Vec<(hcloud::models::Action, Instant)>;

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

/// The first look at a fresh batch, and at an action that has just begun:
/// short enough that a sub-second action costs one poll, long enough that
/// a long one has visible progress to extrapolate from.
pub(crate) const PROBE: Duration = Duration::from_millis(500);
/// The longest single wait: a schedule built on a reported progress is
/// re-checked at least this often (the API's progress need not be linear).
const MAX_JUMP: Duration = Duration::from_secs(60);
/// Shortest wait between two rounds.
const MIN_WAIT: Duration = Duration::from_millis(100);
/// Aim this far past the latest possible end, so the round finds it done.
const MARGIN: Duration = Duration::from_millis(60);
/// An end known to within this (or 1.5 % of the action's length, whichever
/// is more; progress is reported in whole percents) is waited for in one
/// jump to its latest possible time; a wider one is first narrowed by a
/// look at its earliest possible time.
const TIGHT: Duration = Duration::from_millis(250);

/// One action being waited for: its last observation, and what is known of
/// when it began.
#[derive(Debug, Clone)]
pub(crate) struct Tracked {
    pub action: hcloud::models::Action,
    /// The last time it was seen at 0 %: it began no earlier than about
    /// then (an action at 0 % has not started, or only just).
    zero_at: Option<Instant>,
    /// Whether `zero_at` is when it began: true when it was first seen as
    /// its request was answered, or timed from the end of the action it was
    /// queued behind; false once it was seen waiting at 0 % (queued).
    began_known: bool,
    /// The first observation with progress, and the latest one.
    first: Option<(Instant, i64)>,
    last: Option<(Instant, i64)>,
    /// Once it is over: the latest it can have ended (from its last end
    /// window), else when it was seen done.
    pub(crate) ended: Option<Instant>,
    /// Whether `ended` came from an end window rather than the sighting.
    ended_known: bool,
    /// When the request that started it was answered.
    created: Instant,
    /// How long the action it was queued behind took, if known: actions
    /// of one chain tend to take alike, so its first look waits a tenth of
    /// that (a look too early shows too little progress to time it by).
    after: Option<Duration>,
}

impl Tracked {
    pub fn new(action: hcloud::models::Action, at: Instant) -> Self {
        let mut t = Tracked {
            action: action.clone(),
            zero_at: None,
            began_known: true,
            first: None,
            last: None,
            ended: None,
            ended_known: false,
            created: at,
            after: None,
        };
        t.observe(action, at);
        t
    }

    pub fn observe(&mut self, action: hcloud::models::Action, at: Instant) {
        use hcloud::models::action::Status;
        if action.status != Status::Running {
            // The latest it can have ended: an action queued behind it is
            // then timed as younger than it may be, which errs towards
            // looking early (one more poll), never late (idle time).
            let guess = self.end_window().map(|(_, late)| late.min(at));
            self.ended_known = guess.is_some();
            self.ended = Some(guess.unwrap_or(at));
            self.action = action;
            return;
        }
        let p: i64 = action.progress.into();
        if p <= 0 {
            if self.zero_at.is_some() {
                // Still at 0 % a round later: queued, its start unknown.
                self.began_known = false;
            }
            self.zero_at = Some(at);
        } else {
            self.first.get_or_insert((at, p));
            self.last = Some((at, p));
        }
        self.action = action;
    }

    /// An action queued behind another (start_server behind create_server)
    /// begins when that one ends, which is then the best guess of when it
    /// began: if it still shows 0 %, or first showed progress only after.
    fn began_after(&mut self, end: Instant, known: bool, took: Option<Duration>) {
        let seen_since = self.first.is_none_or(|(t, _)| end < t);
        if seen_since && self.zero_at.is_none_or(|z| z < end) {
            self.zero_at = Some(end);
            self.began_known = known;
            self.after = took;
        }
    }

    /// How long it took, once over, if its start and end are known.
    fn took(&self) -> Option<Duration> {
        let began = self
            .zero_at
            .filter(|_| self.began_known && self.ended_known)?;
        self.ended?.checked_duration_since(began)
    }

    /// When to first look at it after it began.
    fn probe(&self) -> Duration {
        self.after.map_or(PROBE, |d| PROBE.max(d / 10))
    }

    /// The earliest and latest time it can end, from progress reported in
    /// whole percents: from two observations with progress (its rate), or
    /// from one and the time it began. `None` while it shows no progress.
    fn end_window(&self) -> Option<(Instant, Instant)> {
        let (t1, p1) = self.last?;
        let left = |p: i64| (100 - p.min(100)).max(0) as f64;
        if let Some((t0, p0)) = self.first.filter(|(t0, _)| *t0 < t1) {
            let dt = t1.duration_since(t0).as_secs_f64();
            if p1 > p0 && dt > 0.0 {
                // p0 in [p0, p0+1), p1 in [p1, p1+1).
                let fast = (p1 + 1 - p0) as f64 / dt;
                let slow = ((p1 - p0 - 1).max(0) as f64 / dt).max(f64::MIN_POSITIVE);
                let early = left(p1 + 1) / fast;
                let late = (left(p1) / slow).min(MAX_JUMP.as_secs_f64() * 4.0);
                return Some((t1 + secs(early), t1 + secs(late)));
            }
        }
        // From when it began, if that is known: `age` at `p1` percent.
        if !self.began_known {
            return None;
        }
        let began = self.zero_at?;
        let age = t1.checked_duration_since(began)?.as_secs_f64();
        let total_min = 100.0 * age / (p1 + 1) as f64;
        let total_max = 100.0 * age / p1 as f64;
        Some((began + secs(total_min), began + secs(total_max)))
    }
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

/// How long to wait before the next round.
///
/// The batch is done when its last action is, so the wait aims at the
/// latest end among the actions that report progress: in one jump when that
/// end is known closely, else first at its earliest possible time (where
/// the progress then seen pins it down). Actions still at 0 % are looked at
/// one probe after they can have begun. With nothing to go on, the backoff.
pub(crate) fn next_poll(
    running: &[Tracked],
    now: Instant,
    backoff: &super::retry::Backoff,
    round: u32,
) -> Duration {
    let windows: Vec<(Instant, Instant)> = running.iter().filter_map(Tracked::end_window).collect();
    // Without an end window: not begun, or begun at an unknown time and
    // seen once; a probe later it has a rate.
    let waiting: Vec<Instant> = running
        .iter()
        .filter(|t| t.end_window().is_none())
        .filter_map(|t| {
            let began = t.first.map(|f| f.0).or(t.zero_at)?;
            Some(began + t.probe())
        })
        .collect();
    let at = if let Some(late) = windows.iter().map(|w| w.1).max() {
        let early = windows.iter().map(|w| w.0).max().unwrap_or(late);
        let length = late.saturating_duration_since(
            running
                .iter()
                .filter_map(|t| t.zero_at.or(t.first.map(|f| f.0)))
                .min()
                .unwrap_or(now),
        );
        let tight = TIGHT.max(length.mul_f64(0.015));
        if late.saturating_duration_since(early) <= tight {
            late + MARGIN
        } else {
            early
        }
    } else if let Some(look) = waiting.iter().max().copied() {
        // Nothing shows progress: look once it can have some.
        look
    } else {
        now + backoff.nominal(round)
    };
    at.saturating_duration_since(now).clamp(MIN_WAIT, MAX_JUMP)
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
        let now = Instant::now();
        let batch = actions.into_iter().map(|a| (a, now)).collect();
        self.wait_batch(operation, batch, left_behind).await
    }

    /// [`wait_actions`](Self::wait_actions) for actions that began at
    /// different times (each with the instant its request was answered):
    /// one batch, one poll per round.
    pub(crate) async fn wait_batch(
        &self,
        operation: &str,
        actions: Vec<(hcloud::models::Action, Instant)>,
        left_behind: Option<&str>,
    ) -> Result<(), HetznerError> {
        use hcloud::models::action::Status;
        let started = Instant::now();
        let backoff = self.options().action_poll;
        let deadline = self.options().action_deadline;
        // Actions one request started together (create_server and its
        // next_actions) run one after the other: only the first is known
        // to have begun when the answer came.
        let mut pending: Vec<Tracked> = Vec::new();
        for (a, at) in actions {
            let mut t = Tracked::new(a, at);
            if pending.iter().any(|p| p.created == at) {
                t.began_known = false;
            }
            pending.push(t);
        }
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
            // What just finished was what the rest may have queued behind.
            if let Some((done_at, known, took)) = pending
                .iter()
                .filter(|t| t.action.status != Status::Running)
                .filter_map(|t| t.ended.map(|e| (e, t.ended_known, t.took())))
                .max_by_key(|(e, _, _)| *e)
            {
                for t in pending.iter_mut() {
                    t.began_after(done_at, known, took);
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
            )
            .poll();
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

    fn done(id: i64) -> hcloud::models::Action {
        let mut a = action(id, 100);
        a.status = hcloud::models::action::Status::Success;
        a
    }

    const BACKOFF: Backoff = Backoff {
        base: Duration::from_millis(500),
        cap: Duration::from_secs(2),
    };

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_fresh_action_is_probed_once_it_can_show_progress() {
        let t0 = Instant::now();
        let running = [Tracked::new(action(1, 0), t0)];
        assert_eq!(next_poll(&running, t0, &BACKOFF, 1), PROBE);
    }

    #[test]
    fn a_closely_known_end_is_waited_for_in_one_jump() {
        // 25 % after 0.5 s: 2 s in all, give or take 2 % -> wait to the latest end.
        let t0 = Instant::now();
        let mut t = Tracked::new(action(1, 0), t0);
        let t1 = t0 + ms(500);
        t.observe(action(1, 25), t1);
        let (early, late) = t.end_window().unwrap();
        assert_eq!(early, t0 + Duration::from_secs_f64(0.5 * 100.0 / 26.0));
        assert_eq!(late, t0 + Duration::from_secs(2));
        assert_eq!(next_poll(&[t], t1, &BACKOFF, 1), ms(1500) + MARGIN);
    }

    #[test]
    fn a_loosely_known_end_is_narrowed_at_its_earliest_time() {
        // 3 % after 0.5 s: 12.5 s to 16.7 s in all -> look at 12.5 s.
        let t0 = Instant::now();
        let mut t = Tracked::new(action(1, 0), t0);
        let t1 = t0 + ms(500);
        t.observe(action(1, 3), t1);
        assert_eq!(next_poll(&[t.clone()], t1, &BACKOFF, 1), ms(12_000));
        // There it is at 83 %: the end is within 0.2 s -> the latest end.
        let t2 = t0 + ms(12_500);
        t.observe(action(1, 83), t2);
        let (early, late) = t.end_window().unwrap();
        assert!(
            late.duration_since(early) < ms(300),
            "{:?}",
            late.duration_since(early)
        );
        let wait = next_poll(&[t], t2, &BACKOFF, 2);
        assert!(wait > ms(2400) && wait < ms(2800), "{wait:?}");
    }

    #[test]
    fn a_queued_action_is_timed_from_the_end_of_the_one_before() {
        let t0 = Instant::now();
        let mut create = Tracked::new(action(1, 0), t0);
        let mut start = Tracked::new(action(2, 0), t0);
        create.observe(action(1, 25), t0 + ms(500));
        start.observe(action(2, 0), t0 + ms(500));
        // The batch waits for the one with progress.
        let wait = next_poll(&[create.clone(), start.clone()], t0 + ms(500), &BACKOFF, 1);
        assert_eq!(wait, ms(1500) + MARGIN);
        // create is seen done; start, at 0 %, began when create ended (~2 s).
        let t2 = t0 + ms(2060);
        create.observe(done(1), t2);
        let ended = create.ended.expect("ended");
        assert!(
            ended > t0 + ms(1900) && ended <= t0 + ms(2000),
            "{:?}",
            ended - t0
        );
        start.observe(action(2, 0), t2);
        start.began_after(ended, true, None);
        let wait = next_poll(&[start], t2, &BACKOFF, 2);
        assert!(
            wait >= ms(400) && wait <= PROBE,
            "one probe after it began: {wait:?}"
        );
        // Behind a 20 s action, the first look waits a tenth of that.
        let mut long = Tracked::new(action(3, 0), t0);
        long.observe(action(3, 0), t0 + ms(500));
        long.began_after(t2, true, Some(Duration::from_secs(20)));
        assert_eq!(next_poll(&[long], t2, &BACKOFF, 2), Duration::from_secs(2));
    }

    #[test]
    fn without_anything_to_go_on_the_backoff_applies_and_waits_stay_bounded() {
        let t0 = Instant::now();
        let mut t = Tracked::new(action(1, 0), t0);
        t.zero_at = None;
        assert_eq!(next_poll(&[t.clone()], t0, &BACKOFF, 1), ms(500));
        assert_eq!(next_poll(&[t], t0, &BACKOFF, 3), Duration::from_secs(2));
        // A very slow action is re-checked at least every MAX_JUMP.
        let mut slow = Tracked::new(action(2, 0), t0);
        slow.observe(action(2, 1), t0 + Duration::from_secs(10));
        assert_eq!(
            next_poll(&[slow.clone()], t0 + Duration::from_secs(10), &BACKOFF, 1),
            MAX_JUMP
        );
        // Observed late (past its end): look again soon, not never.
        let late = t0 + Duration::from_secs(3600);
        assert_eq!(next_poll(&[slow], late, &BACKOFF, 1), MIN_WAIT);
    }
}
