//! The server's host key, pinned on first use in `stacks/<name>.known_hosts`.
//!
//! The file is in OpenSSH's known_hosts format (`name keytype base64`), so
//! `ssh -o UserKnownHostsFile=stacks/<name>.known_hosts` trusts the same key.
//! It holds public keys only and is meant to be committed next to the stack:
//! whoever runs `up` next checks against the same pin. Hashed entries
//! (`|1|...`) and markers (`@revoked`) are left alone; clawprov writes plain
//! names so a reviewer can read the file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::HostError;

/// A host key as the server presented it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, ...
    pub kind: String,
    /// The key blob in SSH wire format.
    pub blob: Vec<u8>,
}

impl HostKey {
    /// OpenSSH's fingerprint: `SHA256:` + unpadded base64 of sha256(blob).
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.blob)
    }
}

fn fingerprint(blob: &[u8]) -> String {
    format!("SHA256:{}", STANDARD_NO_PAD.encode(Sha256::digest(blob)))
}

/// What checking a key against the file did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pin {
    /// The key matched the pinned one.
    Matched,
    /// No key was pinned for this name; this one is now.
    PinnedNow,
    /// The name's pin belonged to another server of the stack (it was
    /// replaced): that pin was dropped and this server's key pinned.
    Repinned { replaced_server: i64 },
}

/// The alias a pin carries for the Hetzner server it belongs to. Server ids
/// are never reused, so a pin can tell "the same server with another key"
/// (an attack, or a rebuilt host key: a hard error) from "a new server
/// under the same name" (a replace: pinned again, deliberately).
fn server_alias(id: i64) -> String {
    format!("clawprov-server-{id}")
}

fn server_of(names: &str) -> Option<i64> {
    names
        .split(',')
        .find_map(|n| n.strip_prefix("clawprov-server-")?.parse().ok())
}

/// A known_hosts file.
#[derive(Debug, Clone)]
pub struct KnownHosts {
    path: PathBuf,
}

impl KnownHosts {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        KnownHosts { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The servers the file pins a host key for (`clawprov-server-ID`).
    pub fn pinned_servers(&self) -> Vec<i64> {
        std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| server_of(l.split_whitespace().next()?))
            .collect()
    }

    /// Check `key` for `name` (see [`super::target::Target::known_hosts_name`])
    /// on the Hetzner server `server` (when known): match; pin if nothing is
    /// pinned; re-pin if the pin belongs to another server (a replace); else
    /// a hard error naming both fingerprints.
    pub fn check_or_pin(
        &self,
        name: &str,
        key: &HostKey,
        server: Option<i64>,
    ) -> Result<Pin, HostError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.file_error(format!("cannot read: {e}"))),
        };
        let mut pinned: Option<Vec<u8>> = None;
        let mut replaced: Option<i64> = None;
        let mut kept = String::new();
        for raw in text.lines() {
            let line = raw.trim();
            let mut fields = line.split_whitespace();
            let entry = if line.is_empty() || line.starts_with('#') || line.starts_with('@') {
                None
            } else {
                match (fields.next(), fields.next(), fields.next()) {
                    (Some(names), Some(_kind), Some(b64)) => Some((names, b64)),
                    _ => None,
                }
            };
            let Some((names, b64)) = entry else {
                kept.push_str(raw);
                kept.push('\n');
                continue;
            };
            let for_name = names.split(',').any(|n| n == name);
            let pinned_server = server_of(names);
            let for_server = server.is_some() && pinned_server == server;
            if !(for_name || for_server) {
                kept.push_str(raw);
                kept.push('\n');
                continue;
            }
            let Ok(blob) = STANDARD.decode(b64) else {
                return Err(self.file_error(format!("the key for {name} is not valid base64")));
            };
            // The name's pin for another server of this stack: replaced.
            if let (Some(now), Some(then)) = (server, pinned_server) {
                if now != then && !for_server {
                    replaced = Some(then);
                    continue;
                }
            }
            kept.push_str(raw);
            kept.push('\n');
            if blob == key.blob {
                return Ok(Pin::Matched);
            }
            pinned.get_or_insert(blob);
        }
        if let Some(blob) = pinned {
            return Err(HostError::HostKeyMismatch {
                host: name.to_string(),
                known_hosts: self.path.clone(),
                pinned: fingerprint(&blob),
                presented: key.fingerprint(),
            });
        }
        let names = match server {
            Some(id) => format!("{name},{}", server_alias(id)),
            None => name.to_string(),
        };
        let base = if replaced.is_some() { &kept } else { &text };
        self.append(base, &names, key)?;
        Ok(match replaced {
            Some(replaced_server) => Pin::Repinned { replaced_server },
            None => Pin::PinnedNow,
        })
    }

    /// Add a line atomically: write the whole file to a temp file beside it,
    /// fsync, rename. An interrupted write leaves the old pins intact.
    fn append(&self, existing: &str, name: &str, key: &HostKey) -> Result<(), HostError> {
        let mut text = existing.to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if text.is_empty() {
            text.push_str(
                "# Host keys of this stack's server, pinned by clawprov on first contact.\n",
            );
        }
        text.push_str(&format!(
            "{name} {} {}\n",
            key.kind,
            STANDARD.encode(&key.blob)
        ));
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let write = || -> std::io::Result<()> {
            let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
            tmp.write_all(text.as_bytes())?;
            tmp.as_file().sync_all()?;
            use std::os::unix::fs::PermissionsExt as _;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))?;
            tmp.persist(&self.path).map_err(|e| e.error)?;
            Ok(())
        };
        write().map_err(|e| self.file_error(format!("cannot write: {e}")))
    }

    fn file_error(&self, reason: String) -> HostError {
        HostError::KnownHostsFile {
            path: self.path.clone(),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> HostKey {
        HostKey {
            kind: "ssh-ed25519".into(),
            blob: vec![byte; 51],
        }
    }

    #[test]
    fn pins_on_first_use_then_matches_then_refuses_another_key() {
        let dir = tempfile::tempdir().unwrap();
        let kh = KnownHosts::new(dir.path().join("s.known_hosts"));
        assert_eq!(
            kh.check_or_pin("[127.0.0.1]:2222", &key(1), None).unwrap(),
            Pin::PinnedNow
        );
        assert_eq!(
            kh.check_or_pin("[127.0.0.1]:2222", &key(1), None).unwrap(),
            Pin::Matched
        );
        // Another name is another pin.
        assert_eq!(
            kh.check_or_pin("node.ts.net", &key(2), None).unwrap(),
            Pin::PinnedNow
        );
        let err = kh
            .check_or_pin("[127.0.0.1]:2222", &key(3), None)
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&key(1).fingerprint()), "{msg}");
        assert!(msg.contains(&key(3).fingerprint()), "{msg}");
        assert!(matches!(err, HostError::HostKeyMismatch { .. }));
        let text = std::fs::read_to_string(kh.path()).unwrap();
        assert_eq!(
            text.lines().filter(|l| !l.starts_with('#')).count(),
            2,
            "{text}"
        );
    }

    #[test]
    fn a_pin_is_kept_per_server_and_a_replace_repins_deliberately() {
        let dir = tempfile::tempdir().unwrap();
        let kh = KnownHosts::new(dir.path().join("s.known_hosts"));
        let name = "gw.tail1.ts.net";
        assert_eq!(
            kh.check_or_pin(name, &key(1), Some(10)).unwrap(),
            Pin::PinnedNow
        );
        let text = std::fs::read_to_string(kh.path()).unwrap();
        assert!(
            text.contains("gw.tail1.ts.net,clawprov-server-10 ssh-ed25519 "),
            "{text}"
        );
        assert_eq!(
            kh.check_or_pin(name, &key(1), Some(10)).unwrap(),
            Pin::Matched
        );
        // The same server presenting another key: a hard error.
        assert!(matches!(
            kh.check_or_pin(name, &key(2), Some(10)),
            Err(HostError::HostKeyMismatch { .. })
        ));
        // Server 10 was replaced by server 11 under the same name.
        assert_eq!(
            kh.check_or_pin(name, &key(2), Some(11)).unwrap(),
            Pin::Repinned {
                replaced_server: 10
            }
        );
        let text = std::fs::read_to_string(kh.path()).unwrap();
        assert!(!text.contains("clawprov-server-10"), "{text}");
        assert!(
            text.contains("gw.tail1.ts.net,clawprov-server-11 "),
            "{text}"
        );
        // Server 11 reached under another name (a port forward) is still server 11.
        assert_eq!(
            kh.check_or_pin("[127.0.0.1]:2222", &key(2), Some(11))
                .unwrap(),
            Pin::Matched
        );
        assert!(matches!(
            kh.check_or_pin("[127.0.0.1]:2222", &key(3), Some(11)),
            Err(HostError::HostKeyMismatch { .. })
        ));
        // A pin without a server (older clawprov) is not assumed replaced.
        let legacy = KnownHosts::new(dir.path().join("l.known_hosts"));
        legacy.check_or_pin(name, &key(1), None).unwrap();
        assert!(matches!(
            legacy.check_or_pin(name, &key(2), Some(12)),
            Err(HostError::HostKeyMismatch { .. })
        ));
    }

    #[test]
    fn fingerprint_matches_openssh_form() {
        // sha256 of the empty blob, as `ssh-keygen -l` would print it.
        assert_eq!(
            fingerprint(b""),
            "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
        );
    }
}
