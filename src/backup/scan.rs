//! Finding vault secret values in a file's content while it streams past,
//! without holding the file: each chunk is searched together with the
//! tail of the previous one, so a value split across chunks is still seen.
//!
//! What is searched for: every vault value, and each line of a multi-line
//! value (the SSH private key's base64 lines but the first, which all
//! such keys share), of at least [`MIN_LEN`]
//! bytes. Shorter values would match by chance in ordinary files and say
//! nothing; no vault value clawprov generates or asks for is that short.

use zeroize::Zeroizing;

use crate::secrets::Vault;

/// Shortest value searched for.
pub const MIN_LEN: usize = 12;

/// The vault's values, as byte patterns, each with its key's name.
pub struct SecretScan {
    needles: Vec<(String, Zeroizing<Vec<u8>>)>,
    longest: usize,
}

impl SecretScan {
    pub fn new(vault: &Vault) -> SecretScan {
        let mut needles = Vec::new();
        for key in vault.keys() {
            let Some(value) = vault.get(key) else {
                continue;
            };
            let value = value.expose();
            let mut parts = vec![value];
            if value.contains('\n') {
                // Not the armor lines, nor an OpenSSH key's first base64
                // line: every unencrypted ed25519 key starts with the same
                // one, so it would match any other key in the state.
                parts.extend(
                    value
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.starts_with("-----"))
                        .skip(1),
                );
            }
            for part in parts {
                if part.len() >= MIN_LEN {
                    needles.push((key.to_string(), Zeroizing::new(part.as_bytes().to_vec())));
                }
            }
        }
        let longest = needles.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
        SecretScan { needles, longest }
    }

    /// A scan of one file's content.
    pub fn file(&self) -> FileScan<'_> {
        FileScan {
            scan: self,
            tail: Zeroizing::new(Vec::new()),
            found: None,
        }
    }
}

/// The state of one file's scan.
pub struct FileScan<'a> {
    scan: &'a SecretScan,
    tail: Zeroizing<Vec<u8>>,
    found: Option<String>,
}

impl FileScan<'_> {
    /// Feed the next chunk of content.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.found.is_some() || self.scan.needles.is_empty() {
            return;
        }
        let mut window = Zeroizing::new(Vec::with_capacity(self.tail.len() + chunk.len()));
        window.extend_from_slice(&self.tail);
        window.extend_from_slice(chunk);
        for (key, needle) in &self.scan.needles {
            if contains(&window, needle) {
                self.found = Some(key.clone());
                return;
            }
        }
        let keep = (self.scan.longest - 1).min(window.len());
        self.tail = Zeroizing::new(window[window.len() - keep..].to_vec());
    }

    /// The vault key whose value the content held, if any.
    pub fn found(&self) -> Option<&str> {
        self.found.as_deref()
    }
}

/// Whether `needle` (non-empty) occurs in `hay`: candidates by the first
/// byte (a fast scan), then a compare; in content that is not the value,
/// the first byte rarely matches.
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(last) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    let mut from = 0;
    while from <= last {
        match hay[from..=last].iter().position(|&b| b == needle[0]) {
            None => return false,
            Some(p) => {
                let at = from + p;
                if &hay[at..at + needle.len()] == needle {
                    return true;
                }
                from = at + 1;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn finds_a_value_split_across_chunks_and_names_its_key() {
        let mut vault = Vault::new();
        vault
            .set("gateway_token", Secret::new("tok-0123456789abcdef"))
            .unwrap();
        let scan = SecretScan::new(&vault);
        let mut f = scan.file();
        for chunk in [&b"log line tok-01234"[..], b"56789a", b"bcdef end"] {
            f.feed(chunk);
        }
        assert_eq!(f.found(), Some("gateway_token"));
        let mut clean = scan.file();
        clean.feed(b"tok-0123456789abcde");
        clean.feed(b"X tok-0123456789abcdeX");
        assert_eq!(clean.found(), None);
    }

    #[test]
    fn contains_finds_at_every_position() {
        assert!(contains(b"abc", b"abc"));
        assert!(contains(b"xabc", b"abc"));
        assert!(contains(b"aababc", b"abc"));
        assert!(!contains(b"ab", b"abc"));
        assert!(!contains(b"abdabd", b"abc"));
    }

    #[test]
    fn a_line_of_a_multi_line_value_is_found_alone() {
        let mut vault = Vault::new();
        vault
            .set(
                "ssh_private_key",
                Secret::new(
                    "-----BEGIN KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAAbase64linenumberone\nshort\n-----END KEY-----\n",
                ),
            )
            .unwrap();
        let scan = SecretScan::new(&vault);
        let mut f = scan.file();
        f.feed(b"xx AAAAbase64linenumberone yy");
        assert_eq!(f.found(), Some("ssh_private_key"));
        for common in [
            &b"short"[..],
            b"-----BEGIN KEY-----",
            b"b3BlbnNzaC1rZXktdjEAAAAA",
        ] {
            let mut g = scan.file();
            g.feed(common);
            assert_eq!(g.found(), None);
        }
    }
}
