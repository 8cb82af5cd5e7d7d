//! Waiting for cloud-init, and for the bootstrap it runs.
//!
//! `cloud-init status --wait --format json` blocks until cloud-init is done
//! and exits 0 (ok), 1 (error) or 2 (degraded, cloud-init >= 23.4). On 1 or
//! 2 the phase stops and shows the failing step from the bootstrap log's
//! tail. Exit 0 is not enough: the bootstrap runs from runcmd, which
//! cloud-init does not fail on, so its completion marker is checked too.

use std::time::Duration;

use super::command::RemoteCommand;
use super::paths::HostPaths;
use super::session::Session;
use super::HostError;

/// Lines of the bootstrap log shown on failure.
const TAIL_LINES: &str = "25";

/// Wait for cloud-init (at most `deadline`), then require the marker.
/// Returns cloud-init's status word ("done").
pub async fn wait(
    session: &Session,
    paths: &HostPaths,
    deadline: Duration,
) -> Result<String, HostError> {
    let cmd = RemoteCommand::root("cloud-init").args(["status", "--wait", "--format", "json"]);
    let out = session.run(&cmd, None, deadline).await?;
    let status = serde_json::from_str::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| {
            let errors = v
                .get("errors")
                .and_then(|e| e.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_string))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            v.get("status")
                .and_then(|s| s.as_str())
                .map(|s| (s.to_string(), errors))
        });
    match out.status {
        0 => {}
        1 | 2 => {
            let (word, errors) = status.unwrap_or_else(|| {
                let w = if out.status == 1 { "error" } else { "degraded" };
                (w.to_string(), vec![])
            });
            let excerpt = log_tail(session, &paths.bootstrap_log).await;
            let mut failing: Vec<String> = errors;
            if let Some(line) = excerpt
                .lines()
                .rev()
                .find(|l| l.contains("clawprov-bootstrap:"))
            {
                failing.push(line.trim().to_string());
            }
            return Err(HostError::CloudInit {
                status: word,
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
        other => {
            return Err(HostError::Remote {
                command: cmd.to_string(),
                status: format!("exit {other}"),
                stderr: out.stderr,
            })
        }
    }
    let Some((word, _)) = status else {
        return Err(HostError::Unexpected {
            command: cmd.to_string(),
            detail: "not the JSON status object".into(),
        });
    };
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
    Ok(word)
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
