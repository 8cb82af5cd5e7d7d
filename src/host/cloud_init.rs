//! Waiting for cloud-init, and for the bootstrap it runs.
//!
//! `cloud-init status --wait --format json` blocks until cloud-init is done
//! and exits 0 (ok), 1 (error) or 2 (recoverable errors, cloud-init >=
//! 23.4; some Ubuntu releases patch that to 0). So the decision comes from
//! the JSON: `errors` (or status "error") fail the phase with the failing
//! step from the bootstrap log's tail; `recoverable_errors` are reported as
//! warnings. Either way the bootstrap runs from runcmd, which cloud-init
//! does not fail on, so its completion marker decides whether it finished.

use std::time::Duration;

use super::command::RemoteCommand;
use super::paths::HostPaths;
use super::session::Session;
use super::HostError;

/// Lines of the bootstrap log shown on failure.
const TAIL_LINES: &str = "25";

/// What `cloud-init status --format json` says, as far as clawprov cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `status` ("done", "error", "running"...).
    pub status: String,
    /// `extended_status` ("degraded done"...), when the release has it.
    pub extended: Option<String>,
    /// `errors`: a module failed.
    pub errors: Vec<String>,
    /// `recoverable_errors` as `LEVEL: message` (warnings, deprecations).
    pub recoverable: Vec<String>,
}

impl Status {
    pub fn parse(json: &str) -> Option<Status> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut recoverable = Vec::new();
        if let Some(levels) = v.get("recoverable_errors").and_then(|r| r.as_object()) {
            for (level, messages) in levels {
                recoverable.extend(
                    strings(messages)
                        .into_iter()
                        .map(|m| format!("{level}: {m}")),
                );
            }
        }
        Some(Status {
            status: v.get("status")?.as_str()?.to_string(),
            extended: v
                .get("extended_status")
                .and_then(|s| s.as_str())
                .map(str::to_string),
            errors: v.get("errors").map(strings).unwrap_or_default(),
            recoverable,
        })
    }

    /// Failed: a module errored or cloud-init says error. Recoverable
    /// errors (exit 2 on >= 23.4, patched to 0 on some Ubuntu releases)
    /// are not failures: the marker decides whether the bootstrap finished.
    fn failed(&self) -> bool {
        !self.errors.is_empty() || self.status == "error"
    }

    /// The word the report shows: "done", or "done (degraded: ...)".
    fn summary(&self) -> String {
        if self.recoverable.is_empty() {
            self.status.clone()
        } else {
            format!(
                "{} with {} recoverable warning(s): {}",
                self.status,
                self.recoverable.len(),
                self.recoverable.join("; ")
            )
        }
    }
}

/// Wait for cloud-init (at most `deadline`), then require the marker.
/// Returns cloud-init's status ("done", or "done with N recoverable
/// warning(s): ..."), decided from its JSON rather than its exit code.
pub async fn wait(
    session: &Session,
    paths: &HostPaths,
    deadline: Duration,
) -> Result<String, HostError> {
    let cmd = RemoteCommand::root("cloud-init").args(["status", "--wait", "--format", "json"]);
    let out = session.run(&cmd, None, deadline).await?;
    if !matches!(out.status, 0..=2) {
        return Err(HostError::Remote {
            command: cmd.to_string(),
            status: format!("exit {}", out.status),
            stderr: out.stderr,
        });
    }
    let status = match Status::parse(&out.stdout) {
        Some(s) => s,
        // An old cloud-init without JSON: only the exit code to go by.
        None if out.status == 1 => Status {
            status: "error".into(),
            extended: None,
            errors: vec![],
            recoverable: vec![],
        },
        None => {
            return Err(HostError::Unexpected {
                command: cmd.to_string(),
                detail: "not the JSON status object".into(),
            })
        }
    };
    if status.failed() {
        let excerpt = log_tail(session, &paths.bootstrap_log).await;
        let mut failing = status.errors.clone();
        if let Some(line) = excerpt
            .lines()
            .rev()
            .find(|l| l.contains("clawprov-bootstrap:"))
        {
            failing.push(line.trim().to_string());
        }
        return Err(HostError::CloudInit {
            status: status.extended.clone().unwrap_or(status.status.clone()),
            code: out.status,
            failing: if failing.is_empty() {
                String::new()
            } else {
                format!("; failing step: {}", failing.join("; "))
            },
            log: paths.bootstrap_log.clone(),
            excerpt,
        });
    }
    let marker = RemoteCommand::root("test").args(["-e", paths.bootstrap_marker.as_str()]);
    if !session
        .run(&marker, None, Duration::from_secs(30))
        .await?
        .success()
    {
        return Err(HostError::BootstrapIncomplete {
            marker: paths.bootstrap_marker.clone(),
            log: paths.bootstrap_log.clone(),
            excerpt: log_tail(session, &paths.bootstrap_log).await,
        });
    }
    Ok(status.summary())
}

/// The bootstrap log's last lines, or a note why there are none. The log
/// holds no secret (the bootstrap never prints the auth key; see its header).
async fn log_tail(session: &Session, log: &str) -> String {
    let cmd = RemoteCommand::root("tail").args(["-n", TAIL_LINES, "--", log]);
    match session.run(&cmd, None, Duration::from_secs(30)).await {
        Ok(out) if out.success() => out
            .stdout
            .lines()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Ok(out) => format!("  (cannot read it: {})", out.stderr.trim()),
        Err(e) => format!("  (cannot read it: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decides_from_the_json_not_the_exit_code() {
        let ok = Status::parse(r#"{"status":"done","errors":[]}"#).unwrap();
        assert!(!ok.failed());
        assert_eq!(ok.summary(), "done");
        let degraded = Status::parse(
            r#"{"status":"done","extended_status":"degraded done","errors":[],
                "recoverable_errors":{"WARNING":["deprecated key"],"DEPRECATED":["x"]}}"#,
        )
        .unwrap();
        assert!(!degraded.failed());
        assert!(
            degraded.summary().contains("2 recoverable"),
            "{}",
            degraded.summary()
        );
        assert!(degraded.summary().contains("WARNING: deprecated key"));
        let error =
            Status::parse(r#"{"status":"error","errors":["scripts_user failed"]}"#).unwrap();
        assert!(error.failed());
        let done_with_errors = Status::parse(r#"{"status":"done","errors":["x"]}"#).unwrap();
        assert!(done_with_errors.failed());
    }
}
