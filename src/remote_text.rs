//! Text that came from a host, made safe to show on the operator's terminal.
//!
//! Errors and reports carry text the server sent back: journal tails,
//! stderr of a failed command, archive entry names and link targets, paths
//! of a restore mismatch, release strings read from the unit, a manifest's
//! fields. Some of it is the service user's to choose, and a terminal acts
//! on escape sequences in it: faking a success line, hiding a warning,
//! writing the clipboard (OSC 52), spoofing a link (OSC 8). So every line a
//! person reads passes [`escape`] on its way out ([`crate::ui::Ui`], the
//! error printed by `main`); `--json` output is JSON-escaped already, and
//! the raw relays (`clawprov ssh`/`openclaw` on a terminal, `logs` to a pipe)
//! are raw by design (README, Day-two operations).

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` with every character a terminal could act on shown as `\xNN`:
/// ESC and the other C0 controls but tab and newline, DEL, and the C1
/// controls (U+0080 to U+009F, which some terminals take as escapes).
/// Everything else, other scripts included, is left as it is.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn unsafe_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_c0_but_tab_and_newline_del_and_c1() {
        assert_eq!(escape("plain\ttext\nüñí 🦀"), "plain\ttext\nüñí 🦀");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        // A fake success line, OSC 52 to the clipboard, OSC 8 link, CSI.
        assert_eq!(escape("a\rok\u{1b}[2K"), "a\\x0dok\\x1b[2K");
        assert_eq!(
            escape("\u{1b}]52;c;ZXZpbA==\u{7}"),
            "\\x1b]52;c;ZXZpbA==\\x07"
        );
        assert_eq!(
            escape("\u{1b}]8;;http://evil\u{1b}\\x\u{1b}]8;;\u{1b}\\"),
            "\\x1b]8;;http://evil\\x1b\\x\\x1b]8;;\\x1b\\"
        );
        assert_eq!(escape("\u{7f}\u{9b}2J\u{85}"), "\\x7f\\x9b2J\\x85");
        assert_eq!(escape("\u{0}\u{8}\u{b}\u{c}"), "\\x00\\x08\\x0b\\x0c");
    }
}
