//! Output from the node on its way to the user's screen, every vault value
//! replaced by `[redacted:KEY]` (as `service::scrub` does for text).
//!
//! It works on bytes, not text, so binary output (`clawprov ssh -- tar c`)
//! passes unchanged apart from the secrets in it. Bytes arrive in chunks
//! that may split a secret in two, so the writer holds back what could be
//! the start of one: everything up to the last line break goes out at once
//! (a multi-line secret, the SSH private key, is matched line by line, so
//! a line break never splits a match and a journal line is never delayed), and of a line without an end all but
//! the last `longest secret - 1` bytes (moved back to the start of any
//! secret straddling the cut). What is left goes out when the writer is
//! dropped.

use std::io::{self, Write};

use zeroize::Zeroizing;

use crate::secrets::Vault;

/// Lines of a multi-line secret shorter than this (a lone `=`) are not
/// worth redacting and would redact ordinary text.
const MIN_LINE: usize = 16;

pub struct ScrubbedWriter<W: Write> {
    inner: W,
    /// (value, replacement); empty: pass everything through as it comes.
    secrets: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)>,
    longest: usize,
    /// The first bytes of the secrets.
    first: [bool; 256],
    held: Vec<u8>,
}

impl<W: Write> ScrubbedWriter<W> {
    pub fn new(inner: W, vault: Option<Vault>) -> Self {
        let mut secrets = Vec::new();
        if let Some(vault) = &vault {
            for key in vault.keys() {
                let Some(secret) = vault.get(key) else {
                    continue;
                };
                let value = secret.expose();
                let replacement = format!("[redacted:{key}]").into_bytes();
                if !value.contains('\n') {
                    if !value.is_empty() {
                        secrets.push((Zeroizing::new(value.as_bytes().to_vec()), replacement));
                    }
                    continue;
                }
                // A multi-line secret (the SSH private key): each of its
                // lines is a secret of its own, so a line break in it is
                // never one the writer cuts at unseen.
                for line in value.lines().map(|l| l.trim_end_matches('\r')) {
                    if line.len() >= MIN_LINE {
                        secrets.push((
                            Zeroizing::new(line.as_bytes().to_vec()),
                            replacement.clone(),
                        ));
                    }
                }
            }
        }
        // The forms journalctl's JSON (`logs --json`) gives a value: escaped
        // in a string (a `"` or `\` in it), or, in a field holding a byte
        // JSON cannot carry (an escape sequence), an array of numbers
        // (`[104,105]`), whose replacement spells `[redacted:KEY]` the same
        // way so the line stays valid JSON.
        let mut forms = Vec::new();
        for (value, replacement) in &secrets {
            let text = String::from_utf8_lossy(value);
            let quoted = Zeroizing::new(serde_json::to_string(&*text).unwrap_or_default());
            let escaped = quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or("");
            if escaped.as_bytes() != &value[..] && !escaped.is_empty() {
                forms.push((
                    Zeroizing::new(escaped.as_bytes().to_vec()),
                    replacement.clone(),
                ));
            }
            // Whole numbers only: each with the delimiters around it, so
            // `67,65` never matches inside `167,65`.
            let (value_numbers, replacement_numbers) = (numbers(value), numbers(replacement));
            for (open, close) in [(",", ","), (",", "]"), ("[", ","), ("[", "]")] {
                forms.push((
                    Zeroizing::new(format!("{open}{}{close}", *value_numbers).into_bytes()),
                    format!("{open}{}{close}", *replacement_numbers).into_bytes(),
                ));
            }
        }
        secrets.extend(forms);
        let longest = secrets.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
        let mut first = [false; 256];
        for (value, _) in &secrets {
            first[usize::from(value[0])] = true;
        }
        ScrubbedWriter {
            inner,
            secrets,
            longest,
            first,
            held: Vec::new(),
        }
    }

    /// `bytes` with every secret replaced. Runs of bytes that cannot start
    /// a secret are copied whole (`first` marks the bytes that can).
    fn scrub(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let (mut i, mut run) = (0, 0);
        while i < bytes.len() {
            match bytes[i..].iter().position(|b| self.first[usize::from(*b)]) {
                None => break,
                Some(skip) => i += skip,
            }
            match self.secrets.iter().find(|(v, _)| bytes[i..].starts_with(v)) {
                Some((value, replacement)) => {
                    out.extend_from_slice(&bytes[run..i]);
                    out.extend_from_slice(replacement);
                    i += value.len();
                    run = i;
                }
                None => i += 1,
            }
        }
        out.extend_from_slice(&bytes[run..]);
        out
    }

    /// How much of `held` can go out now without splitting a secret.
    fn safe_len(&self, fresh: usize) -> usize {
        let start = self.held.len() - fresh;
        if let Some(nl) = self.held[start..].iter().rposition(|b| *b == b'\n') {
            return start + nl + 1;
        }
        let keep = self.longest.saturating_sub(1);
        let mut cut = self.held.len().saturating_sub(keep);
        // A secret (or the start of one) beginning before the cut and
        // reaching past it moves the cut back to where it begins; again
        // until no secret straddles it.
        loop {
            let before = cut;
            for (value, _) in &self.secrets {
                let from = cut.saturating_sub(value.len() - 1);
                for s in from..cut {
                    let available = (self.held.len() - s).min(value.len());
                    if s + value.len() > cut && self.held[s..].starts_with(&value[..available]) {
                        cut = s;
                        break;
                    }
                }
            }
            if cut == before {
                break;
            }
        }
        cut
    }
}

/// Bytes as a JSON array's numbers, without the brackets: `104,105`.
fn numbers(bytes: &[u8]) -> Zeroizing<String> {
    Zeroizing::new(
        bytes
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(","),
    )
}

impl<W: Write> Write for ScrubbedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.secrets.is_empty() {
            return self.inner.write(buf);
        }
        self.held.extend_from_slice(buf);
        let n = self.safe_len(buf.len());
        if n > 0 {
            let out = self.scrub(&self.held[..n]);
            self.held.drain(..n);
            self.inner.write_all(&out)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for ScrubbedWriter<W> {
    fn drop(&mut self) {
        if !self.held.is_empty() {
            let out = self.scrub(&self.held);
            let _ = self.inner.write_all(&out);
        }
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn vault() -> Vault {
        let mut vault = Vault::new();
        vault
            .set("gateway_token", Secret::new("CANARY-abcdef"))
            .unwrap();
        vault
    }

    fn through(chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut w = ScrubbedWriter::new(&mut out, Some(vault()));
            for c in chunks {
                w.write_all(c).unwrap();
            }
        }
        out
    }

    #[test]
    fn journal_json_forms_of_a_secret_are_caught_and_stay_valid_json() {
        let mut vault = Vault::new();
        vault
            .set("gateway_token", Secret::new("CANARY\"quoted\\x"))
            .unwrap();
        vault
            .set("telegram_bot_token", Secret::new("CANARY-tg-12345"))
            .unwrap();
        // As `journalctl -o json` prints them: a string with the value
        // escaped, and a MESSAGE holding an ESC as an array of numbers.
        let escaped = r#"{"MESSAGE":"token CANARY\"quoted\\x here"}"#;
        let mut message = b"\x1b[31m tg ".to_vec();
        message.extend_from_slice(b"CANARY-tg-12345");
        let array = format!(r#"{{"MESSAGE":[{}]}}"#, *numbers(&message));
        // A number that merely ends like the secret's first one is not it.
        let near = format!(r#"{{"MESSAGE":[1{}]}}"#, *numbers(b"CANARY-tg-12345"));
        let mut out = Vec::new();
        {
            let mut w = ScrubbedWriter::new(&mut out, Some(vault));
            w.write_all(format!("{escaped}\n{array}\n{near}\n").as_bytes())
                .unwrap();
        }
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("CANARY"), "{out}");
        assert!(out.ends_with(&format!("{near}\n")), "{out}");
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["MESSAGE"], "token [redacted:gateway_token] here");
        let bytes: Vec<u8> = lines[1]["MESSAGE"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_u64().unwrap() as u8)
            .collect();
        assert_eq!(bytes, b"\x1b[31m tg [redacted:telegram_bot_token]");
    }

    #[test]
    fn a_secret_split_across_chunks_is_still_caught() {
        assert_eq!(
            String::from_utf8(through(&[
                b"line one CANARY-a",
                b"bcdef ok\nlast CANARY-",
                b"abcdef"
            ]))
            .unwrap(),
            "line one [redacted:gateway_token] ok\nlast [redacted:gateway_token]"
        );
    }

    #[test]
    fn every_split_point_of_a_long_unterminated_line() {
        let line = [
            &[0xffu8, 0x00][..],
            &b"x".repeat(100),
            b"CANARY-abcdef",
            &b"y".repeat(100),
        ]
        .concat();
        let want = [
            &[0xffu8, 0x00][..],
            &b"x".repeat(100),
            b"[redacted:gateway_token]",
            &b"y".repeat(100),
        ]
        .concat();
        for at in 0..line.len() {
            let (a, b) = line.split_at(at);
            assert_eq!(through(&[a, b]), want, "split at {at}");
        }
        // Byte by byte.
        let bytes: Vec<&[u8]> = line.chunks(1).collect();
        assert_eq!(through(&bytes), want);
    }

    #[test]
    fn a_finished_line_goes_out_at_once() {
        let mut out = Vec::new();
        let mut w = ScrubbedWriter::new(&mut out, Some(vault()));
        w.write_all(b"journal line\n").unwrap();
        assert_eq!(w.inner.as_slice(), b"journal line\n");
    }

    #[test]
    fn each_line_of_a_multi_line_secret_is_redacted() {
        let mut vault = Vault::new();
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAMwAAAAtzc2gtZWQyNTUxOQAAACB\n-----END OPENSSH PRIVATE KEY-----\n";
        vault.set("ssh_private_key", Secret::new(key)).unwrap();
        let mut out = Vec::new();
        {
            let mut w = ScrubbedWriter::new(&mut out, Some(vault));
            for chunk in key.as_bytes().chunks(7) {
                w.write_all(chunk).unwrap();
            }
        }
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"), "{out}");
        assert!(!out.contains("AAAAMwAAAAtzc2gtZWQyNTUxOQAAACB"), "{out}");
        assert_eq!(
            out.matches("[redacted:ssh_private_key]").count(),
            4,
            "{out}"
        );
    }

    #[test]
    fn without_a_vault_bytes_pass_as_they_come() {
        let mut out = Vec::new();
        ScrubbedWriter::new(&mut out, None)
            .write_all(b"\x1b[2Jraw\xff")
            .unwrap();
        assert_eq!(out, b"\x1b[2Jraw\xff");
    }
}
