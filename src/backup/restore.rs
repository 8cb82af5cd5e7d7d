//! Putting a backup back: check the whole archive against its manifest
//! locally first (nothing on the host changes before that passes), then on
//! the host, as the service user: stop the gateway, extract into a fresh
//! private directory beside the state directory, check what landed there
//! against the manifest (paths, kinds, modes, sizes, sha256, owner), and
//! only then swap it in. The previous state directory is kept, renamed
//! `.openclaw.before-restore-TIMESTAMP`: a restore never destroys data, and
//! removing the old copy is the operator's call.
//!
//! Restarting the gateway is the caller's: `clawprov restore` re-runs the
//! host phase, which re-delivers openclaw.json and gateway.env from the
//! vault, starts the unit and probes it, as `up` does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::archive::{self, Progress};
use super::manifest::Manifest;
use super::remote;
use super::BackupError;
use crate::host::{Account, Session};
use crate::secrets::{identity, Secret, Unlock};

const STREAM_TIMEOUT: Duration = Duration::from_secs(300);

/// How to open an archive: the vault's way. Each pass builds its own
/// [`Unlock`] on its own thread (age identities are not `Send`).
#[derive(Clone)]
pub enum Opener {
    IdentityFile(PathBuf),
    Passphrase(Secret),
}

impl Opener {
    fn unlock(&self) -> Result<Unlock, BackupError> {
        match self {
            Opener::IdentityFile(path) => {
                Ok(Unlock::Identities(identity::load(path).map_err(|e| {
                    BackupError::Keys {
                        path: path.clone(),
                        reason: e.to_string(),
                    }
                })?))
            }
            Opener::Passphrase(p) => Ok(Unlock::Passphrase(p.clone())),
        }
    }
}

/// What a restore did.
pub struct Restored {
    pub manifest: Manifest,
    pub state_dir: String,
    /// Where the state directory that was replaced now is (`None`: there was none).
    pub previous: Option<String>,
}

/// An archive whose every entry was checked against its manifest; the only
/// way into [`restore`], so nothing reaches the host unchecked.
pub struct Checked {
    path: PathBuf,
    pub manifest: Manifest,
}

/// Which archives restore takes: those whose manifest verifies with the
/// vault's signing key; with `allow_unsigned`, also one that carries no
/// signature at all (made before clawprov signed backups). A signature that
/// does not verify is never taken.
pub struct Trust {
    pub key: Option<Secret>,
    pub allow_unsigned: bool,
}

impl Trust {
    fn judge(&self, manifest: &Manifest) -> Result<(), String> {
        use super::signature::{self, SignatureError, SIGNING_KEY};
        if manifest.signature.is_none() && self.allow_unsigned {
            return Ok(());
        }
        let Some(key) = &self.key else {
            return Err(format!(
                "the vault has no {SIGNING_KEY} to check who made the archive with \
                 (a `clawprov backup` adds one); an archive made before clawprov signed \
                 backups restores with --unsigned"
            ));
        };
        signature::verify(manifest, key).map_err(|e| match e {
            SignatureError::Missing => format!(
                "{e}; if you know it is an older backup of yours, restore it with --unsigned"
            ),
            e => format!("{e}. Nothing was restored"),
        })
    }
}

/// Check `archive` locally (the whole of it), against its manifest, and
/// its manifest's signature against `trust`.
pub async fn check(
    archive_path: &Path,
    opener: &Opener,
    trust: &Trust,
) -> Result<Checked, BackupError> {
    let path = archive_path.to_path_buf();
    let opener = opener.clone();
    let manifest = tokio::task::spawn_blocking(move || archive::check(&path, &opener.unlock()?))
        .await
        .map_err(|e| BackupError::Stream(format!("the archive reader stopped: {e}")))??;
    trust
        .judge(&manifest)
        .map_err(|reason| BackupError::Archive {
            path: archive_path.to_path_buf(),
            reason,
        })?;
    Ok(Checked {
        path: archive_path.to_path_buf(),
        manifest,
    })
}

/// Restore a checked archive into the state directory of `account` (see
/// the module docs). The gateway is left stopped.
pub async fn restore(
    session: &Session,
    account: &Account,
    checked: &Checked,
    opener: &Opener,
    progress: Arc<dyn Progress>,
) -> Result<Restored, BackupError> {
    let archive_path = checked.path.as_path();
    let manifest = checked.manifest.clone();
    let state_dir = remote::state_dir(account);
    let existed = match remote::kind_of(session, account, &state_dir)
        .await?
        .as_deref()
    {
        None => false,
        Some("directory") => true,
        Some(what) => {
            return Err(BackupError::StateDirNotDir {
                path: state_dir,
                what: format!("a {what}"),
            })
        }
    };
    let stamp = stamp();
    let fresh = format!("{state_dir}.restore-{stamp}");
    remote::stop_gateway(session, account).await?;
    remote::make_dir(session, account, &fresh).await?;

    let (reader, writer) = super::pipe::pipe();
    let path = archive_path.to_path_buf();
    let replay_opener = opener.clone();
    let producer = tokio::task::spawn_blocking(move || {
        archive::replay(&path, &replay_opener.unlock()?, writer, &*progress)
    });
    let streamed = session
        .stream(
            &remote::extract(account, &fresh),
            Some(Box::new(reader)),
            Box::new(std::io::sink()),
            STREAM_TIMEOUT,
        )
        .await;
    let replayed = producer
        .await
        .map_err(|e| BackupError::Stream(format!("the archive reader stopped: {e}")))?;
    let (status, stderr) = streamed?;
    replayed?;
    if status != 0 {
        return Err(BackupError::Stream(format!(
            "tar --extract on the server exited {status}: {} (the state directory was not \
             touched; the partial copy is in {fresh}, the gateway is stopped: `clawprov up` starts it)",
            stderr.trim()
        )));
    }

    let (entries, mut problems) = remote::survey(session, account, &fresh).await?;
    problems.extend(manifest.differences(&entries, 5));
    if !problems.is_empty() {
        problems.truncate(5);
        return Err(BackupError::HostMismatch {
            details: problems.join("; "),
            fresh,
        });
    }
    let previous = if existed {
        let before = format!("{state_dir}.before-restore-{stamp}");
        remote::rename(session, account, &state_dir, &before).await?;
        Some(before)
    } else {
        None
    };
    remote::rename(session, account, &fresh, &state_dir).await?;
    Ok(Restored {
        manifest,
        state_dir,
        previous,
    })
}

/// `YYYYMMDDTHHMMSSZ`, UTC: sorts like time, and is a plain file-name word.
pub fn stamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default()
}
