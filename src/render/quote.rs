//! Quoting for every context a stack value can land in.
//!
//! The stack loader already restricts every value to a narrow allowlist
//! (invariant 6). These functions are the second wall: each one makes *any*
//! string safe for its one context, so a value that slipped past validation
//! (or a template edited with `--templates`) still cannot break out of a
//! YAML scalar, a shell word or a config-file token. They are registered as
//! minijinja filters in [`super::environment`], and the environment refuses
//! to print any value that did not pass through one of them.
//!
//! This module is also the one place in the crate that builds shell words:
//! [`sh_quote`] is the quoting function the house rules ask for.

use std::fmt::Write as _;

/// A YAML double-quoted scalar holding exactly `s`.
///
/// Pure ASCII output: `"` and `\` are escaped, and every character outside
/// printable ASCII (control characters, line breaks, NEL, U+2028/2029, BOM,
/// any non-ASCII) becomes a `\x`/`\u`/`\U` escape. That keeps the scalar on
/// one line and immune to YAML 1.1 line-break folding, and it parses back to
/// the identical string in PyYAML (cloud-init) and serde_yaml alike.
pub fn yaml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// A YAML block scalar (`|`) holding exactly `s`, indented by `indent`
/// spaces, for multi-line file contents (scripts, units) that a person
/// should be able to read in the rendered user-data.
///
/// Falls back to [`yaml_str`] whenever a literal block could not represent
/// `s` exactly: leading whitespace on the first line (would need an
/// indentation indicator), carriage returns, any character outside
/// printable ASCII plus tab (YAML 1.1 treats NEL and U+2028/2029 as line
/// breaks), or more than one trailing newline.
pub fn yaml_block(s: &str, indent: usize) -> String {
    let block_safe = !s.is_empty()
        && !s.starts_with([' ', '\t', '\n'])
        && !s.ends_with("\n\n")
        && s.chars()
            .all(|c| c == '\n' || c == '\t' || (' '..='~').contains(&c));
    if !block_safe {
        return yaml_str(s);
    }
    let (body, chomp) = match s.strip_suffix('\n') {
        Some(body) => (body, ""),
        None => (s, "-"),
    };
    let pad = " ".repeat(indent.max(1));
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    out
}

/// One POSIX shell word holding exactly `s`: single-quoted, with each `'`
/// written as `'\''`. Nothing inside single quotes is special to `sh` or
/// `bash` (no `$`, backtick, `\`, glob or newline handling), so this is safe
/// for every string, including empty ones.
pub fn sh_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Characters a [`word`] may contain.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':' | '@' | '+' | '=' | ',')
}

/// A bare token for config files that have no robust quoting of their own
/// (sshd_config, systemd unit files): user names, paths, port numbers.
///
/// Rather than escape, it refuses: anything but `[A-Za-z0-9._/:@+=,-]` is an
/// error. That excludes whitespace, quotes, `%` (systemd specifiers), `$`
/// (systemd variable expansion), `\`, `#`, `;` and every control character,
/// so a token can never split, comment out or extend a line.
pub fn word(s: &str) -> Result<&str, String> {
    if s.is_empty() {
        return Err("an empty value cannot be written as a config-file token".into());
    }
    match s.chars().find(|c| !is_word_char(*c)) {
        None => Ok(s),
        Some(c) => Err(format!(
            "{:?} cannot be written as a config-file token: character {:?} is not allowed \
             (only A-Z a-z 0-9 . _ - / : @ + = ,)",
            s, c
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Strings that would break a naive interpolation in YAML, shell or a unit file.
    const HOSTILE: &[&str] = &[
        "",
        "plain",
        "it's",
        "'; rm -rf / #",
        "\"quoted\" \\ backslash",
        "line1\nline2",
        "trailing\n",
        "cr\r\nlf",
        "$(id) `id` ${HOME} $HOME",
        "{{ 7*7 }} {% if %}",
        "key: value # comment",
        "- item",
        "&anchor *alias !!python/object",
        "tab\there",
        "nel\u{85}ls\u{2028}ps\u{2029}",
        "bom\u{feff}",
        "nul\u{0}bell\u{7}del\u{7f}",
        "ünïcödé ✓ 🦞",
        "%h %i $$ ; # \\",
        "   leading spaces",
        "@latest",
    ];

    #[test]
    fn yaml_str_round_trips_every_hostile_string() {
        for s in HOSTILE {
            let doc = format!("k: {}\n", yaml_str(s));
            let parsed: std::collections::BTreeMap<String, String> =
                serde_yaml::from_str(&doc).unwrap_or_else(|e| panic!("{s:?} -> {doc:?}: {e}"));
            assert_eq!(parsed["k"], *s, "round trip of {s:?} via {doc:?}");
            assert!(
                !doc.trim_end_matches('\n').contains('\n'),
                "one line: {doc:?}"
            );
            assert!(doc.is_ascii(), "ascii only: {doc:?}");
        }
    }

    #[test]
    fn yaml_block_round_trips_every_hostile_string() {
        let samples: Vec<String> = HOSTILE
            .iter()
            .map(|s| s.to_string())
            .chain([
                "#!/bin/bash\nset -euo pipefail\n\necho 'hi'\n".to_string(),
                "no trailing newline\n  indented".to_string(),
                "two trailing\n\n".to_string(),
                "a: b\n- c\n{{ x }}\n".to_string(),
            ])
            .collect();
        for s in &samples {
            let doc = format!("outer:\n  k: {}\n", yaml_block(s, 4));
            let parsed: std::collections::BTreeMap<
                String,
                std::collections::BTreeMap<String, String>,
            > = serde_yaml::from_str(&doc).unwrap_or_else(|e| panic!("{s:?} -> {doc:?}: {e}"));
            assert_eq!(parsed["outer"]["k"], *s, "round trip of {s:?} via {doc:?}");
        }
    }

    #[test]
    fn yaml_block_is_readable_for_scripts() {
        let out = yaml_block("#!/bin/bash\necho hi\n", 6);
        assert_eq!(out, "|\n      #!/bin/bash\n      echo hi");
    }

    #[test]
    fn sh_quote_survives_a_real_shell() {
        for s in HOSTILE {
            if s.contains('\0') {
                continue; // a C string (argv) cannot hold NUL at all
            }
            let script = format!("printf '%s' {}", sh_quote(s));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .expect("run sh");
            assert!(out.status.success(), "{script:?}");
            assert_eq!(String::from_utf8_lossy(&out.stdout), *s, "{script:?}");
        }
    }

    #[test]
    fn sh_quote_is_one_word_in_single_quotes() {
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), "'it'\\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(id)"), "'$(id)'");
    }

    #[test]
    fn word_accepts_tokens_and_refuses_everything_else() {
        for ok in [
            "openclaw",
            "/home/openclaw/.nvm/versions/node/v22.12.0/bin/node",
            "18789",
            "tag:a,tag:b",
        ] {
            assert_eq!(word(ok), Ok(ok));
        }
        for bad in HOSTILE
            .iter()
            .filter(|s| !["plain", "@latest"].contains(*s))
        {
            assert!(word(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
