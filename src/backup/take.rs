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
use crate::secrets::{Secret, Vault};

/// How long one read of the host's stream may wait (tar walking a large
/// directory before its next entry).
const STREAM_TIMEOUT: Duration = Duration::from_secs(300);

/// Where a backup goes, how large it may grow and who signs it.
pub struct Destination {
    pub path: PathBuf,
    /// The most file content (bytes) the archive may hold: a state that
    /// grew past it (or a sparse file claiming a terabyte) stops the backup
    /// before it fills this machine's disk.
    pub max_size: u64,
    /// The vault's `backup_signing_key` ([`super::signature`]).
    pub signing_key: Secret,
}

/// The default of `--max-size`.
pub const DEFAULT_MAX_SIZE: u64 = 10 * 1024 * 1024 * 1024;

/// A size as `backup --max-size` takes it: bytes, or with a binary suffix
/// K, M, G or T (`500M`, `20G`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KIB" => 10,
        "M" | "MIB" => 20,
        "G" | "GIB" => 30,
        "T" | "TIB" => 40,
        _ => {
            return Err(format!(
                "{text:?}: a size is a number with an optional K, M, G or T"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?}: a size is a number with an optional K, M, G or T"))?;
    n.checked_mul(1u64 << shift)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: out of range (more than 0, less than 16 EiB)"))
}

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
    out: Destination,
    progress: Arc<dyn Progress>,
) -> Result<Taken, BackupError> {
    let rules = archive::Rules {
        max_size: out.max_size,
        signing_key: out.signing_key,
    };
    let out = out.path;
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
        archive::write(reader, &target, &seal, &scan, &origin, &rules, &*progress)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("10g"), Ok(10 << 30));
        assert_eq!(parse_size("2TiB"), Ok(2 << 40));
        // `backup --max-size`'s default, as clap spells it.
        assert_eq!(parse_size("10G"), Ok(DEFAULT_MAX_SIZE));
        for bad in ["", "0", "G", "1.5G", "10X", "-1", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
