//! Replace a file so that a reader sees either the old bytes or the new ones,
//! never a mix, and a failure at any point leaves the old file as it was.
//!
//! The new bytes go to a temp file in the same directory (so the rename
//! cannot cross filesystems), created 0600, fsynced, then renamed over the
//! target; the directory is fsynced so the rename itself survives a crash.
//! The temp file is removed on every error path (it is a `NamedTempFile`,
//! deleted on drop). Only a SIGKILL between create and rename can leave one
//! behind; its name starts with `.<target>.` and ends with `.tmp`.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The points at which a write can be interrupted, in order. Production
/// code passes a hook that never fails; tests pass one that fails at a
/// chosen stage to prove the previous file survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The temp file exists and is empty.
    BeforeWrite,
    /// Half of the new bytes are in the temp file.
    MidWrite,
    /// All bytes are written and fsynced; the rename has not happened.
    BeforeRename,
}

/// What failed, for the caller's error message.
#[derive(Debug)]
pub struct ReplaceError {
    pub action: &'static str,
    pub source: io::Error,
}

/// Write `bytes` to `path` atomically. `hook` is called at each [`Stage`];
/// an error from it aborts the write like a real I/O error would.
pub fn replace(
    path: &Path,
    bytes: &[u8],
    hook: &dyn Fn(Stage) -> io::Result<()>,
) -> Result<(), ReplaceError> {
    let fail = |action| move |source| ReplaceError { action, source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ReplaceError {
            action: "write (the path has no file name)",
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;

    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(fail("create a temp file beside it"))?;

    hook(Stage::BeforeWrite).map_err(fail("write the temp file"))?;
    let (first, second) = bytes.split_at(bytes.len() / 2);
    tmp.write_all(first).map_err(fail("write the temp file"))?;
    hook(Stage::MidWrite).map_err(fail("write the temp file"))?;
    tmp.write_all(second).map_err(fail("write the temp file"))?;
    tmp.as_file()
        .sync_all()
        .map_err(fail("fsync the temp file"))?;
    hook(Stage::BeforeRename).map_err(fail("rename the temp file over it"))?;

    tmp.persist(path)
        .map_err(|e| fail("rename the temp file over it")(e.error))?;
    // The rename is durable only once the directory entry is on disk.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail("fsync its directory"))?;
    Ok(())
}

/// The hook for real writes: never interrupts.
pub fn uninterrupted(_: Stage) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn replaces_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("v.age");
        std::fs::write(&target, b"old").unwrap();
        replace(&target, b"new contents", &uninterrupted).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new contents");
        assert!(leftovers(dir.path()).is_empty());
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn every_interruption_keeps_the_old_file() {
        for stage in [Stage::BeforeWrite, Stage::MidWrite, Stage::BeforeRename] {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("v.age");
            std::fs::write(&target, b"old").unwrap();
            let hook = |s: Stage| {
                if s == stage {
                    Err(io::Error::other("interrupted"))
                } else {
                    Ok(())
                }
            };
            assert!(replace(&target, b"new contents", &hook).is_err());
            assert_eq!(std::fs::read(&target).unwrap(), b"old", "{stage:?}");
            assert!(leftovers(dir.path()).is_empty(), "{stage:?}");
        }
    }
}
