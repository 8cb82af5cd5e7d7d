//! Backup and restore of the gateway's state directory (`~/.openclaw` of
//! the service user): OpenClaw's paired devices, agents, sessions, memory,
//! workspace and logs, and the openclaw.json clawprov delivers (which holds
//! only SecretRefs). The secrets clawprov delivers live outside it
//! (`~/.config/openclaw/gateway.env`) and stay out of every archive: the
//! vault has them, and a file in the state that holds a vault value stops
//! the backup (see [`BackupError::SecretInFile`]) rather than being copied
//! or silently dropped — it means a secret escaped onto the gateway's disk.
//!
//! One file per concept: [`archive`] (the sealed tar, written and read as
//! streams), [`manifest`] (what a backup holds, checked by restore),
//! [`scan`] (vault values in streaming content), [`signature`] (who made
//! an archive: the manifest signed with the vault's key), [`headers`] (a bound on
//! tar extension headers before the `tar` crate reads them), `pipe` (the bounded
//! hand-over between the SSH thread and the archive's), [`remote`] (the commands
//! on the host, as the service user), [`take`] and [`restore`] (the two
//! operations), [`error`].

pub mod archive;
mod error;
pub mod headers;
pub mod manifest;
mod pipe;
pub mod remote;
pub mod restore;
pub mod scan;
pub mod signature;
pub mod take;

pub use archive::{Progress, Quiet, Seal};
pub use error::BackupError;
pub use manifest::Manifest;
pub use restore::{check, restore, Checked, Opener, Restored, Trust};
pub use take::{parse_size, take, Destination, Taken, DEFAULT_MAX_SIZE};
