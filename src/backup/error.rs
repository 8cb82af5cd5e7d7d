//! What can go wrong in a backup or a restore. No variant carries file
//! content or a secret value: paths, vault key names and tar's own stderr
//! (scrubbed of vault values) only.

use std::path::PathBuf;

use crate::error::Error;
use crate::host::HostError;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(transparent)]
    Host(#[from] HostError),

    /// The state directory on the host is not a real directory.
    #[error(
        "{path} on the server is {what}, not a directory: refusing to follow it \
         (the gateway runs third-party code; a link there could point anywhere). \
         Look at it as the service user and replace it with the real directory"
    )]
    StateDirNotDir { path: String, what: String },

    /// Something other than a regular file or directory in the state.
    #[error(
        "{path} on the server is {what}: a backup holds only regular files and \
         directories and follows no link. No archive was written. Remove it (or \
         replace it with the file it points to) as the service user and run backup again"
    )]
    Refused { path: String, what: String },

    /// A state file holds a vault secret value.
    #[error(
        "{path} on the server holds the vault's {key}: a backup never copies a vault \
         secret (the vault has it). No archive was written. Remove that file or the \
         value from it; if it got there unexpectedly, rotate {key}"
    )]
    SecretInFile { path: String, key: String },

    /// The state is larger than `--max-size`.
    #[error(
        "the backup would pass its limit of {limit} bytes (--max-size) at {path} \
         ({size} bytes, after {so_far} bytes of other files). No archive was written. \
         Raise the limit (`--max-size 50G`) if the state really is that large, or remove \
         what should not be there"
    )]
    TooLarge {
        limit: u64,
        path: String,
        size: u64,
        so_far: u64,
    },

    /// The host's tar failed or its stream could not be read.
    #[error("the archive stream from the server: {0}")]
    Stream(String),

    /// The local archive is not a clawprov backup, or was altered.
    #[error("{path}: {reason}")]
    Archive { path: PathBuf, reason: String },

    /// No archive given and none found beside the stack.
    #[error(
        "no backup of stack {stack} in {dir}: name one (`clawprov restore FILE`) or \
         take one with `clawprov backup`"
    )]
    NoArchive { stack: String, dir: PathBuf },

    /// The vault's keys cannot seal or open the archive.
    #[error("{path}: {reason}")]
    Keys { path: PathBuf, reason: String },

    #[error("{path}: cannot {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },

    /// What tar put on the host is not what the manifest says.
    #[error(
        "the restored files on the server do not match the archive's manifest ({details}). \
         The state directory was not touched: the extracted copy is left in {fresh} for a look \
         (remove it as the service user); the gateway is stopped: `clawprov up` starts it"
    )]
    HostMismatch { details: String, fresh: String },
}

impl From<BackupError> for Error {
    fn from(e: BackupError) -> Self {
        match e {
            BackupError::Host(h) => Error::from(h),
            BackupError::Archive { .. }
            | BackupError::NoArchive { .. }
            | BackupError::Keys { .. } => Error::bad_input(e),
            _ => Error::failed(e),
        }
    }
}
