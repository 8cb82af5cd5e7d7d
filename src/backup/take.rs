//! Taking a backup: the host's `tar --create` streamed over SSH through a
//! bounded pipe (at most 512 KiB in flight) into [`archive::write`], which
//! checks and seals it entry by entry on a blocking thread while the
//! session's thread feeds the pipe: memory stays flat.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::archive::{self, Origin, Progress, Seal};
use super::manifest::Manifest;
use super::remote;
use super::scan::SecretScan;
use super::BackupError;
use crate::host::{Account, Session};
use crate::secrets::Vault;

/// How long one read of the host's stream may wait (tar walking a large
/// directory before its next entry).
const STREAM_TIMEOUT: Duration = Duration::from_secs(300);

/// What a finished backup says.
pub struct Taken {
    pub manifest: Manifest,
    /// tar's warnings (exit 1: a file changed while it was read), vault
    /// values scrubbed; the archive holds what was read, as the manifest says.
    pub warnings: Option<String>,
}

/// Back up the state directory of `account` on `session` into `out`.
pub async fn take(
    session: &Session,
    account: &Account,
    stack: &str,
    vault: &Vault,
    seal: Seal,
    out: PathBuf,
    progress: Arc<dyn Progress>,
) -> Result<Taken, BackupError> {
    let state_dir = remote::state_dir(account);
    match remote::kind_of(session, account, &state_dir)
        .await?
        .as_deref()
    {
        Some("directory") => {}
        Some(what) => {
            return Err(BackupError::StateDirNotDir {
                path: state_dir,
                what: format!("a {what}"),
            })
        }
        None => {
            return Err(BackupError::Stream(format!(
                "{state_dir} does not exist on the server: nothing to back up \
                 (has the gateway ever run? `clawprov up` creates it)"
            )))
        }
    }
    let (reader, writer) = super::pipe::pipe();
    let scan = SecretScan::new(vault);
    let origin = Origin {
        stack: stack.to_string(),
        state_dir: state_dir.clone(),
        root_name: remote::STATE_DIR_NAME.to_string(),
        created: now_rfc3339(),
    };
    let target = out.clone();
    let consumer = tokio::task::spawn_blocking(move || {
        archive::write(reader, &target, &seal, &scan, &origin, &*progress)
    });
    let streamed = session
        .stream(
            &remote::create(account),
            None,
            Box::new(writer),
            STREAM_TIMEOUT,
        )
        .await;
    let written = consumer
        .await
        .map_err(|e| BackupError::Stream(format!("the archive writer stopped: {e}")))?;
    // The writer's refusal (a link, a secret) is the cause when both fail:
    // it closed the pipe, which broke the stream.
    let (manifest, pending) = written?;
    let (status, stderr) = streamed?;
    let stderr = crate::host::scrub(&stderr, vault);
    let warnings = match status {
        0 => None,
        1 => Some(stderr.trim().to_string()),
        _ => {
            return Err(BackupError::Stream(format!(
                "tar on the server exited {status}: {}",
                stderr.trim()
            )))
        }
    };
    pending.keep(&out)?;
    Ok(Taken { manifest, warnings })
}

pub(super) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
