//! The stack file as text: size cap, encoding and characters, checked before
//! any YAML parser runs.
//!
//! A stack file is small, plain UTF-8 with spaces and newlines. Anything
//! else (a byte-order mark, NUL, tabs, lone carriage returns, terminal
//! escapes, Unicode line separators) is refused with its exact position, so
//! no downstream parser or terminal ever sees it.

use super::error::DOCUMENT;
use super::outline::{Fault, Pos};

/// Largest stack file accepted. Real ones are ~2 KiB.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The readable text of a file: the whole of it, or (for an oversize file)
/// only the first [`MAX_FILE_BYTES`], enough to say which field is too big.
pub struct Text<'a> {
    pub text: &'a str,
    /// Total size, when it exceeds the cap.
    pub oversize: Option<usize>,
}

/// Decode `bytes` as UTF-8, refusing a BOM and reporting the first invalid
/// byte's line and column.
pub fn decode(bytes: &[u8]) -> Result<Text<'_>, Fault> {
    let (slice, oversize) = if bytes.len() > MAX_FILE_BYTES {
        (&bytes[..MAX_FILE_BYTES], Some(bytes.len()))
    } else {
        (bytes, None)
    };
    if slice.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return Err(Fault {
            pos: (1, 1),
            field: DOCUMENT.into(),
            message: "the file starts with a UTF-8 byte-order mark".into(),
            hint: Some("save the file as UTF-8 without BOM".into()),
        });
    }
    match std::str::from_utf8(slice) {
        Ok(text) => Ok(Text { text, oversize }),
        Err(e) => {
            let good = &slice[..e.valid_up_to()];
            // A multi-byte character cut by the size cap is not an error.
            if e.error_len().is_none() && oversize.is_some() {
                let text = std::str::from_utf8(good).unwrap_or_default();
                return Ok(Text { text, oversize });
            }
            let text = std::str::from_utf8(good).unwrap_or_default();
            Err(Fault {
                pos: end_position(text),
                field: DOCUMENT.into(),
                message: format!(
                    "the file is not valid UTF-8 (byte 0x{:02x} at offset {})",
                    slice[e.valid_up_to()],
                    e.valid_up_to()
                ),
                hint: Some("save the file as UTF-8".into()),
            })
        }
    }
}

/// The longest valid UTF-8 prefix of `bytes` (within the size cap).
pub fn valid_prefix(bytes: &[u8]) -> &str {
    let bytes = &bytes[..bytes.len().min(MAX_FILE_BYTES)];
    match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// The 1-based position just after `text` (where the next character goes).
fn end_position(text: &str) -> Pos {
    let line = text.matches('\n').count() + 1;
    let last = text.rfind('\n').map_or(text, |i| &text[i + 1..]);
    (line, last.chars().count() + 1)
}

/// The first character a stack file must not contain, with its position and
/// a description.
pub fn forbidden_char(text: &str) -> Option<(Pos, String, &'static str)> {
    let mut line = 1;
    let mut col = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let problem = match c {
            '\n' => {
                line += 1;
                col = 1;
                continue;
            }
            '\r' if chars.peek() == Some(&'\n') => None,
            '\r' => Some((
                "a carriage return without a line feed",
                "use \\n (or \\r\\n) line endings",
            )),
            '\t' => Some((
                "a tab character",
                "YAML indents with spaces; replace tabs with spaces",
            )),
            '\0' => Some(("a NUL byte", "the file looks binary or corrupted")),
            '\u{feff}' => Some(("a byte-order mark inside the file", "remove it")),
            '\u{2028}' | '\u{2029}' | '\u{85}' => {
                Some(("a Unicode line separator", "use plain \\n line breaks"))
            }
            c if c.is_control() => {
                Some(("a control character", "remove it; values are plain text"))
            }
            _ => None,
        };
        if let Some((what, hint)) = problem {
            return Some((
                (line, col),
                format!("{what} ({})", c.escape_unicode()),
                hint,
            ));
        }
        col += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located() {
        let err = decode(b"name: ok\nhost: \xff\n").err().expect("rejected");
        assert_eq!(err.pos, (2, 7));
        assert!(err.message.contains("0xff"), "{}", err.message);
    }

    #[test]
    fn bom_is_rejected() {
        assert!(decode(b"\xEF\xBB\xBFname: x\n").is_err());
    }

    #[test]
    fn oversize_cut_in_a_character_is_not_an_encoding_error() {
        let mut bytes = vec![b'a'; MAX_FILE_BYTES - 1];
        bytes.extend_from_slice("é".as_bytes());
        let t = decode(&bytes).expect("decodes");
        assert_eq!(t.text.len(), MAX_FILE_BYTES - 1);
        assert_eq!(t.oversize, Some(MAX_FILE_BYTES + 1));
    }

    #[test]
    fn forbidden_characters_are_located() {
        assert_eq!(forbidden_char("a: b\r\nc: d\n"), None);
        assert_eq!(forbidden_char("a: b\nc:\td\n").map(|x| x.0), Some((2, 3)));
        assert_eq!(forbidden_char("a: b\rc\n").map(|x| x.0), Some((1, 5)));
        assert_eq!(forbidden_char("a: \u{1b}[31m\n").map(|x| x.0), Some((1, 4)));
        assert_eq!(forbidden_char("a: x\u{2028}y").map(|x| x.0), Some((1, 5)));
        assert_eq!(forbidden_char("# \0\n").map(|x| x.0), Some((1, 3)));
        assert_eq!(forbidden_char("é: \u{85}").map(|x| x.0), Some((1, 4)));
    }
}
