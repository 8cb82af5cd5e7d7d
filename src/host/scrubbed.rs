//! Output from the node on its way to the user's screen, every vault value
//! replaced by `[redacted:KEY]` (`service::scrub`).
//!
//! Bytes arrive in chunks that may split a secret in two, so the writer
//! holds back an unfinished line and scrubs whole lines only (no secret
//! holds a line break: `deliver::env_value` refuses one). What is left at
//! the end is scrubbed and written when the writer is dropped.

use std::io::{self, Write};

use super::service::scrub;
use crate::secrets::Vault;

pub struct ScrubbedWriter<W: Write> {
    inner: W,
    /// `None`: pass everything through as it comes.
    vault: Option<Vault>,
    held: Vec<u8>,
}

impl<W: Write> ScrubbedWriter<W> {
    pub fn new(inner: W, vault: Option<Vault>) -> Self {
        ScrubbedWriter {
            inner,
            vault,
            held: Vec::new(),
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> io::Result<()> {
        match &self.vault {
            Some(vault) => {
                let text = String::from_utf8_lossy(bytes);
                self.inner.write_all(scrub(&text, vault).as_bytes())
            }
            None => self.inner.write_all(bytes),
        }
    }
}

impl<W: Write> Write for ScrubbedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.vault.is_none() {
            return self.inner.write(buf);
        }
        self.held.extend_from_slice(buf);
        if let Some(end) = self.held.iter().rposition(|b| *b == b'\n') {
            let lines: Vec<u8> = self.held.drain(..=end).collect();
            self.emit(&lines)?;
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
            let rest = std::mem::take(&mut self.held);
            let _ = self.emit(&rest);
        }
        let _ = self.inner.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn a_secret_split_across_chunks_is_still_caught() {
        let mut vault = Vault::new();
        vault
            .set("gateway_token", Secret::new("CANARY-abcdef"))
            .unwrap();
        let mut out = Vec::new();
        {
            let mut w = ScrubbedWriter::new(&mut out, Some(vault));
            w.write_all(b"line one CANARY-a").unwrap();
            w.write_all(b"bcdef ok\nlast CANARY-").unwrap();
            w.write_all(b"abcdef").unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "line one [redacted:gateway_token] ok\nlast [redacted:gateway_token]"
        );
    }

    #[test]
    fn without_a_vault_bytes_pass_as_they_come() {
        let mut out = Vec::new();
        ScrubbedWriter::new(&mut out, None)
            .write_all(b"\x1b[2Jraw")
            .unwrap();
        assert_eq!(out, b"\x1b[2Jraw");
    }
}
