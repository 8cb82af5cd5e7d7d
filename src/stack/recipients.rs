//! Rewriting `secrets.recipients` in an existing stack file, for
//! `clawprov secrets recipients add|rm`.
//!
//! The stack file is the user's document: only the recipients list (its key
//! line and items) is replaced; every other byte, comment included, stays.
//! The result is validated before it replaces the file, and the replacement
//! is atomic (temp file in the same directory, fsync, rename), so a failure
//! leaves the old file as it was.

use std::io::Write;
use std::path::Path;

use super::error::{StackError, FILE};
use super::load::parse;
use super::outline::{self, Outline};
use super::rules;
use super::scalar::yaml_scalar;

/// Replace `secrets.recipients` in the stack file at `path` with `recipients`
/// (written as a block list). Adds the key, or the whole `secrets:` section,
/// when missing.
pub fn set_recipients(path: &Path, recipients: &[String]) -> Result<(), StackError> {
    for (i, r) in recipients.iter().enumerate() {
        if let Err(why) = rules::recipient(r) {
            return Err(StackError::new(
                path,
                (0, 0),
                format!("secrets.recipients[{i}]"),
                why.message,
            )
            .with_optional_hint(why.hint));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| StackError::unreadable(path, &e))?;
    // The file must be valid now; then its text is known-good UTF-8.
    parse(&bytes, path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| StackError::new(path, (1, 1), FILE, "the file is not valid UTF-8"))?;
    let outline = outline::scan(text);
    let rewritten = rewrite(text, &outline, recipients).map_err(|(pos, message, hint)| {
        StackError::new(path, pos, "secrets.recipients", message).with_hint(hint)
    })?;

    let stack = parse(rewritten.as_bytes(), path)?;
    if stack.secrets.recipients != recipients {
        return Err(StackError::new(
            path,
            (0, 0),
            "secrets.recipients",
            "rewriting the list did not produce the requested recipients",
        )
        .with_hint("edit secrets.recipients in the file by hand"));
    }
    replace_atomically(path, rewritten.as_bytes())
}

type EditError = ((usize, usize), String, String);

fn rewrite(text: &str, outline: &Outline, recipients: &[String]) -> Result<String, EditError> {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let block = |indent: usize| {
        let pad = " ".repeat(indent);
        if recipients.is_empty() {
            return format!("{pad}recipients: []{eol}");
        }
        let mut b = format!("{pad}recipients:{eol}");
        for r in recipients {
            b.push_str(&format!("{pad}  - {}{eol}", yaml_scalar(r)));
        }
        b
    };
    let entry = |p: &str| {
        outline
            .entries
            .iter()
            .find(|e| e.path == p)
            .and_then(|e| e.key)
    };
    let flow = |pos: (usize, usize)| {
        (
            pos,
            "`secrets` is written in flow style ({...}), which clawprov cannot edit in place"
                .to_string(),
            "write `secrets:` as an indented block (one key per line) and try again".to_string(),
        )
    };
    let starts_line = |(line, col): (usize, usize)| {
        lines
            .get(line - 1)
            .is_some_and(|l| l.chars().take(col - 1).all(|c| c == ' '))
    };

    if let Some(key) = entry("secrets.recipients") {
        if !starts_line(key) {
            return Err(flow(key));
        }
        let (start, indent) = (key.0 - 1, key.1 - 1);
        let mut end = start + 1;
        while end < lines.len() && continues(lines[end], indent) {
            end += 1;
        }
        // Trailing blank lines and comments belong to what follows.
        while end > start + 1 && is_blank_or_comment(lines[end - 1]) {
            end -= 1;
        }
        let mut out: String = lines[..start].concat();
        out.push_str(&block(indent));
        out.push_str(&lines[end..].concat());
        return Ok(out);
    }

    if let Some(key) = entry("secrets") {
        // The block mapping's indent is where its first key is written.
        let first_child = outline
            .entries
            .iter()
            .find(|e| e.path.starts_with("secrets."))
            .and_then(|e| e.key);
        let value = match first_child {
            Some(child) if starts_line(key) && child.0 > key.0 => child,
            _ => return Err(flow(key)),
        };
        let line = key.0; // insert after the `secrets:` line
        let mut out: String = lines[..line].concat();
        if !out.ends_with('\n') {
            out.push_str(eol);
        }
        out.push_str(&block(value.1 - 1));
        out.push_str(&lines[line..].concat());
        return Ok(out);
    }

    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push_str(eol);
    }
    out.push_str(&format!("{eol}secrets:{eol}"));
    out.push_str(&block(2));
    Ok(out)
}

fn indent_of(line: &str) -> usize {
    line.chars().take_while(|c| *c == ' ').count()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Whether `line` still belongs to the value of a key indented by `indent`:
/// blank, a comment, more indented, or a `- item` at the key's own indent
/// (YAML allows block list items there).
fn continues(line: &str, indent: usize) -> bool {
    if is_blank_or_comment(line) {
        return true;
    }
    let i = indent_of(line);
    let rest = line[i..].trim_end();
    i > indent || (i == indent && (rest == "-" || rest.starts_with("- ")))
}

fn replace_atomically(path: &Path, bytes: &[u8]) -> Result<(), StackError> {
    let fail = |what: &str, e: std::io::Error| {
        StackError::new(path, (0, 0), FILE, format!("cannot {what}: {e}"))
            .with_hint("the stack file was left unchanged")
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".clawprov-stack-")
        .tempfile_in(dir)
        .map_err(|e| fail("create a temporary file beside the stack file", e))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.write_all(bytes)
        .map_err(|e| fail("write the new stack file", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| fail("flush the new stack file", e))?;
    tmp.persist(path)
        .map_err(|e| fail("replace the stack file", e.error))?;
    // Make the rename itself durable; not all file systems allow this.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGE_A: &str = "age1h07kvhgy6uc29vwgfdsnu0tj3ymgq8hspln7sgfyx80rzjsjtaksy2ehw5";
    const AGE_B: &str = "age14nkkz7s8ercwzh7k2wxlz3lzzzutkq3yuy6rz5hpdhjs4pz605equ9zp9s";
    const SSH: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbAq2p5L4g5907fL9lRcd2FvZF44gmr2yPxD4+EGQzu alice@laptop";

    fn repo_file(rel: &str) -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
            .expect("read repo file")
    }

    fn write_temp(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.yaml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    fn recipients_of(path: &Path) -> Vec<String> {
        crate::stack::load(path)
            .expect("still valid")
            .secrets
            .recipients
    }

    #[test]
    fn replacing_a_list_keeps_every_other_byte() {
        let original = repo_file("examples/team.yaml");
        let (_d, path) = write_temp(&original);
        let want = vec![AGE_B.to_string()];
        set_recipients(&path, &want).expect("rewritten");
        let after = std::fs::read_to_string(&path).expect("read");
        assert_eq!(recipients_of(&path), want);
        // Everything before the key line and after the list is unchanged.
        let key_line = original.find("  recipients:").expect("key");
        assert_eq!(&after[..key_line], &original[..key_line]);
        assert_eq!(
            &after[key_line..],
            format!("  recipients:\n    - {AGE_B}\n")
        );
        // Back to three: the comments on the old items are gone, the rest is equal.
        let three = vec![AGE_A.to_string(), AGE_B.to_string(), SSH.to_string()];
        set_recipients(&path, &three).expect("rewritten");
        assert_eq!(recipients_of(&path), three);
    }

    #[test]
    fn text_after_the_list_survives() {
        let text = "name: s\ntailscale:\n  tailnet: a.b\n  hostname: s\nsecrets:\n  recipients:\n  - age1x # old\n\n  # the passphrase comment\n  passphrase: false   # keep me\n# tail comment\n";
        let text = text.replace("age1x", AGE_A);
        let (_d, path) = write_temp(&text);
        set_recipients(&path, &[]).expect("rewritten");
        let after = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            after,
            "name: s\ntailscale:\n  tailnet: a.b\n  hostname: s\nsecrets:\n  recipients: []\n\n  # the passphrase comment\n  passphrase: false   # keep me\n# tail comment\n"
        );
    }

    #[test]
    fn a_missing_key_is_added_under_secrets() {
        let original = repo_file("stacks/example.yaml");
        let (_d, path) = write_temp(&original);
        set_recipients(&path, &[AGE_A.to_string()]).expect("rewritten");
        let after = std::fs::read_to_string(&path).expect("read");
        assert_eq!(recipients_of(&path), vec![AGE_A.to_string()]);
        let inserted = format!("  recipients:\n    - {AGE_A}\n");
        assert_eq!(
            after.replacen(&inserted, "", 1),
            original,
            "only the list was added"
        );
    }

    #[test]
    fn a_missing_section_is_appended() {
        let original = "name: s\ntailscale:\n  tailnet: a.b\n  hostname: s\n# end";
        let (_d, path) = write_temp(original);
        set_recipients(&path, &[SSH.to_string()]).expect("rewritten");
        let after = std::fs::read_to_string(&path).expect("read");
        assert!(after.starts_with(original), "{after}");
        assert_eq!(recipients_of(&path), vec![SSH.to_string()]);
    }

    #[test]
    fn invalid_input_leaves_the_file_unchanged() {
        let original = repo_file("examples/team.yaml");
        let (dir, path) = write_temp(&original);
        let bad = vec![AGE_A.to_string(), "age1nope $(reboot)".to_string()];
        let err = set_recipients(&path, &bad).expect_err("invalid recipient");
        assert_eq!(err.field, "secrets.recipients[1]");
        // Valid recipients that make the stack invalid (passphrase vault).
        let pass = repo_file("examples/passphrase.yaml");
        let pass_path = dir.path().join("p.yaml");
        std::fs::write(&pass_path, &pass).expect("write");
        let err =
            set_recipients(&pass_path, &[AGE_A.to_string()]).expect_err("passphrase + recipients");
        assert_eq!(err.field, "secrets.passphrase");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), original);
        assert_eq!(std::fs::read_to_string(&pass_path).expect("read"), pass);
        // No temporary files left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn flow_style_secrets_is_refused() {
        let text = format!("name: s\ntailscale:\n  tailnet: a.b\n  hostname: s\nsecrets: {{recipients: [{AGE_A}]}}\n");
        let (_d, path) = write_temp(&text);
        assert!(set_recipients(&path, &[]).is_err());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), text);
    }
}
