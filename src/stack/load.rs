//! Reading a stack file: text checks, outline scan, serde, allowlists --
//! in that order, each stage refusing what the next one should never see.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::error::{StackError, DOCUMENT};
use super::model::Stack;
use super::outline::{self, Fault, Outline};
use super::text::{self, MAX_FILE_BYTES};
use super::validate;
use crate::lock::Lock;

/// Read, parse and validate the stack file at `path`.
///
/// Reads at most a little over the size cap, so pointing `--stack` at a huge
/// file (or `/dev/zero`) costs nothing.
pub fn load(path: &Path) -> Result<Stack, StackError> {
    let file = std::fs::File::open(path).map_err(|e| StackError::unreadable(path, &e))?;
    let mut bytes = Vec::new();
    let mut limited = file.take(MAX_FILE_BYTES as u64 + 1);
    limited
        .read_to_end(&mut bytes)
        .map_err(|e| StackError::unreadable(path, &e))?;
    if bytes.len() > MAX_FILE_BYTES {
        // The real size, when the file system knows it (not for pipes or
        // devices).
        let size = std::fs::metadata(path)
            .ok()
            .filter(|m| m.is_file() && m.len() as usize > MAX_FILE_BYTES)
            .map(|m| m.len() as usize);
        return parse_sized(&bytes, path, size);
    }
    parse(&bytes, path)
}

/// Parse and validate a stack file's bytes. `origin` is used only in
/// messages. Never panics, whatever the bytes.
pub fn parse(bytes: &[u8], origin: &Path) -> Result<Stack, StackError> {
    parse_sized(bytes, origin, Some(bytes.len()))
}

/// `size` is the file's real size, when known (a read may stop at the cap).
fn parse_sized(bytes: &[u8], origin: &Path, size: Option<usize>) -> Result<Stack, StackError> {
    let located =
        |f: Fault| StackError::new(origin, f.pos, f.field, f.message).with_optional_hint(f.hint);
    let text = match text::decode(bytes) {
        Ok(t) => t,
        Err(mut fault) => {
            // Name the field whose line holds the bad byte, when the text
            // before it says so.
            let prefix = text::valid_prefix(bytes);
            let outline = outline::scan(prefix);
            if let Some(field) = outline.field_on_line(fault.pos.0, fault.pos.1) {
                fault.field = field.to_string();
            }
            return Err(located(fault));
        }
    };
    let outline = outline::scan(text.text);

    if text.oversize.is_some() {
        return Err(oversize(origin, &outline, size));
    }

    // The earliest of: a forbidden character, a fault from the scan.
    let bad_char = text::forbidden_char(text.text).map(|(pos, message, hint)| Fault {
        pos,
        field: outline
            .field_on_line(pos.0, pos.1)
            .unwrap_or(DOCUMENT)
            .to_string(),
        message: format!("the file contains {message}"),
        hint: Some(hint.to_string()),
    });
    let first = match (bad_char, outline.fault.clone()) {
        (Some(c), Some(f)) => Some(if c.pos <= f.pos { c } else { f }),
        (c, f) => c.or(f),
    };
    if let Some(fault) = first {
        return Err(located(fault));
    }

    let mut stack: Stack =
        serde_yaml::from_str(text.text).map_err(|e| from_serde(origin, &outline, &e))?;

    validate::check(&stack).map_err(|(field, why)| {
        StackError::new(origin, outline.position(&field), field, why.message)
            .with_optional_hint(why.hint)
    })?;
    // The gateway's configuration must build, and pass the pinned
    // release's schema, before any command acts on the stack.
    crate::gateway::build(&stack, &crate::gateway::home_of(&stack)).map_err(|e| {
        StackError::new(origin, outline.position(&e.field), e.field, e.message).with_hint(e.hint)
    })?;
    // The release's lock: what every server installs, nothing else.
    let (field, lock) = match &stack.openclaw.lock {
        Some(dir) => {
            let base = origin.parent().unwrap_or(Path::new("."));
            let lock = Lock::read(&base.join(dir), &stack.openclaw.version)
                .map(std::sync::Arc::new)
                .map_err(|e| format!("the lock in {dir}: {e}"));
            ("openclaw.lock", lock)
        }
        None => {
            let lock = Lock::vendored(&stack.openclaw.version).ok_or_else(|| {
                format!(
                    "clawprov has no lock for OpenClaw {}: it vendors the locks of {}",
                    stack.openclaw.version,
                    Lock::vendored_versions().join(", ")
                )
            });
            ("openclaw.version", lock)
        }
    };
    let lock = lock.map_err(|why| {
        StackError::new(origin, outline.position(field), field.to_string(), why).with_hint(
            "make a lock with `scripts/openclaw-lock.sh NODE_VERSION OPENCLAW_VERSION DIR` and \
             name DIR in openclaw.lock (review it like code: it is every package the server runs)"
                .to_string(),
        )
    })?;
    stack.openclaw.locked = Some(lock);
    Ok(stack)
}

/// A file over the cap: name the field being read where the cap was hit.
fn oversize(origin: &Path, outline: &Outline, size: Option<usize>) -> StackError {
    let message = match size {
        Some(n) => {
            format!("the file is {n} bytes; stack files are limited to {MAX_FILE_BYTES} bytes")
        }
        None => format!("the file is too large; stack files are limited to {MAX_FILE_BYTES} bytes"),
    };
    let (field, pos, detail) = match (&outline.fault, &outline.current) {
        (Some(f), _) if f.field != DOCUMENT => (f.field.clone(), f.pos, f.message.clone()),
        (_, Some((field, pos))) => (
            field.clone(),
            *pos,
            "the value here runs past the limit".to_string(),
        ),
        (Some(f), None) => (
            DOCUMENT.to_string(),
            f.pos,
            "no key found before the limit".to_string(),
        ),
        (None, None) => (
            DOCUMENT.to_string(),
            (1, 1),
            "no key found before the limit".to_string(),
        ),
    };
    StackError::new(origin, pos, field, format!("{message} ({detail})"))
        .with_hint("a stack file is a few KiB; check what was pasted into this field")
}

/// serde_yaml's message without its own location suffix and path prefix,
/// located and named through the outline.
fn from_serde(origin: &Path, outline: &Outline, e: &serde_yaml::Error) -> StackError {
    let full = e.to_string();
    let (pos, mut message) = match e.location() {
        Some(loc) => {
            let suffix = format!(" at line {} column {}", loc.line(), loc.column());
            let msg = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
            ((loc.line(), loc.column()), msg)
        }
        None => ((1, 1), full.clone()),
    };
    // serde_yaml prefixes the path it knows ("tailscale.tags[0]: ...").
    let mut serde_path = None;
    if let Some((head, tail)) = message.split_once(": ") {
        if !head.is_empty()
            && head
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
        {
            serde_path = Some(head.to_string());
            message = tail.to_string();
        }
    }
    let missing = message.starts_with("missing field");
    let field = match (&serde_path, missing) {
        // A missing field is reported at the mapping that lacks it.
        (_, true) => {
            let name = message.split('`').nth(1).unwrap_or("?");
            match &serde_path {
                Some(p) => format!("{p}.{name}"),
                None => name.to_string(),
            }
        }
        (Some(p), false) => p.clone(),
        (None, false) => outline.field_at(pos).unwrap_or(DOCUMENT).to_string(),
    };
    let pos = if missing {
        pos
    } else {
        outline_pos_or(outline, &field, pos)
    };
    let hint = if missing {
        Some("add this field; `clawprov init NAME` writes a complete example".to_string())
    } else if message.contains("invalid type") {
        Some("check the value's type; booleans are true/false, ports are numbers, text may be quoted".to_string())
    } else if message.contains("unknown variant") {
        Some("use one of the values listed".to_string())
    } else {
        None
    };
    StackError::new(origin, pos, field, message).with_optional_hint(hint)
}

/// Prefer the position the outline recorded for `field`; serde's own
/// location is used when the outline has nothing better.
fn outline_pos_or(outline: &Outline, field: &str, fallback: (usize, usize)) -> (usize, usize) {
    if outline.entries.iter().any(|e| e.path == field) {
        outline.position(field)
    } else {
        fallback
    }
}

/// The vault's path: `secrets.file` (or `<name>.secrets.age`), relative to
/// the directory that holds the stack file.
pub fn vault_path(stack: &Stack, stack_path: &Path) -> PathBuf {
    let dir = stack_path.parent().unwrap_or_else(|| Path::new(""));
    let file = match &stack.secrets.file {
        Some(f) => f.clone(),
        None => PathBuf::from(format!("{}.secrets.age", stack.name)),
    };
    dir.join(file)
}
