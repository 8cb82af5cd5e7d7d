//! clawprov's local record of the openclaw.json it last delivered:
//! `<name>.openclaw.json` beside the stack file (like `<name>.known_hosts`).
//! It holds no secret (SecretRefs only). `plan` compares the declared
//! configuration with it key by key when the server's `clawprov/config`
//! label says it is what the server runs; `up` rewrites it after every
//! host phase that succeeded.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// `stacks/<name>.openclaw.json` for `stacks/<name>.yaml`.
pub fn beside(stack_file: &Path, name: &str) -> PathBuf {
    let dir = stack_file.parent().unwrap_or(Path::new("."));
    dir.join(format!("{name}.openclaw.json"))
}

/// The record, if there is a readable one (at most 4 MiB).
pub fn read(path: &Path) -> Option<Value> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > 4 << 20 {
        return None;
    }
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Replace the record with `text` (written beside it, then renamed).
pub fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
