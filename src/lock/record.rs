//! clawprov's local record of the lock it last installed:
//! `<name>.lock.json` beside the stack file (like `<name>.openclaw.json`),
//! both of the lock's files as JSON strings. `plan` reads it to count how
//! an upgrade changes the tree when the running lock is not one clawprov
//! vendors (a stack's own `openclaw.lock`); `up` rewrites it after every
//! host phase that succeeded.

use std::path::{Path, PathBuf};

use super::Lock;

/// `stacks/<name>.lock.json` for `stacks/<name>.yaml`.
pub fn beside(stack_file: &Path, name: &str) -> PathBuf {
    let dir = stack_file.parent().unwrap_or(Path::new("."));
    dir.join(format!("{name}.lock.json"))
}

/// The record's text for `lock`.
pub fn text(lock: &Lock) -> String {
    let doc = serde_json::json!({
        "package.json": lock.package_json(),
        "package-lock.json": lock.lock_json(),
    });
    format!("{doc:#}\n")
}

/// The recorded lock, if there is a readable one that parses (at most
/// 16 MiB).
pub fn read(path: &Path) -> Option<Lock> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 16 << 20 {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let package = doc["package.json"].as_str()?;
    let locked = doc["package-lock.json"].as_str()?;
    let manifest: serde_json::Value = serde_json::from_str(package).ok()?;
    let version = manifest["dependencies"]["openclaw"].as_str()?;
    Lock::parse(package, locked, version).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_lock_reads_back_as_itself() {
        let lock = Lock::vendored(crate::stack::DEFAULT_OPENCLAW_VERSION).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = beside(&dir.path().join("demo.yaml"), "demo");
        std::fs::write(&path, text(&lock)).unwrap();
        assert_eq!(read(&path).as_ref(), Some(&*lock));
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(read(&path), None);
    }
}
