//! Waiting for actions: polled with backoff (500 ms doubling, capped), under
//! an overall deadline, with progress reported to whoever displays it.

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
        let started = Instant::now();
        for first in actions {
            self.wait_action(operation, first, started, left_behind)
                .await?;
        }
        Ok(())
    }

    async fn wait_action(
        &self,
        operation: &str,
        mut action: hcloud::models::Action,
        started: Instant,
        left_behind: Option<&str>,
    ) -> Result<(), HetznerError> {
        use hcloud::models::action::Status;
        let poll = self.options().action_poll;
        let deadline = self.options().action_deadline;
        let mut polls = 0u32;
        loop {
            let elapsed = started.elapsed();
            self.report(&progress_of(&action, elapsed));
            match action.status {
                Status::Success => return Ok(()),
                Status::Error => {
                    let (code, message) = action
                        .error
                        .as_ref()
                        .map(|e| (e.code.clone(), e.message.clone()))
                        .unwrap_or_else(|| ("unknown".into(), "no error given".into()));
                    return Err(HetznerError::ActionFailed {
                        operation: operation.to_string(),
                        action: format!("{} ({})", action.id, action.command),
                        code,
                        message,
                        left_behind: left_behind.map(str::to_string),
                    });
                }
                Status::Running => {}
            }
            polls += 1;
            let wait = poll.nominal(polls);
            if elapsed + wait > deadline {
                return Err(HetznerError::Deadline {
                    operation: operation.to_string(),
                    what: format!(
                        "action {} ({}) at {}%",
                        action.id, action.command, action.progress
                    ),
                    waited_secs: elapsed.as_secs(),
                    left_behind: left_behind.map(str::to_string),
                });
            }
            tokio::time::sleep(wait).await;
            let call = Call::get(
                format!("{operation}: poll action {}", action.id),
                format!("/actions/{}", action.id),
            );
            let answer: hcloud::models::GetActionResponse =
                self.request(&call).await.map_err(|e| match left_behind {
                    Some(note) => e.leaving(note),
                    None => e,
                })?;
            action = *answer.action;
        }
    }
}
