//! What a backup holds, file by file: the record `restore` checks the
//! archive against before anything is written on the host, and checks the
//! host against after extracting.
//!
//! Paths are relative to the state directory (`""` is the directory
//! itself). The digest is a sha256 over one canonical line per entry,
//! sorted by path, so two manifests of the same state are equal whatever
//! order tar walked the tree in, and when they were taken.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Format version of the manifest JSON.
pub const VERSION: u32 = 1;

/// A directory or a regular file: the only kinds a backup holds (links,
/// devices and FIFOs are refused, see [`super::archive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Dir,
    File,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Relative to the state directory, `/`-separated; `""` is the directory.
    pub path: String,
    pub kind: Kind,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    /// Bytes (0 for a directory).
    pub size: u64,
    /// Hex sha256 of the content (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

impl Entry {
    fn line(&self) -> String {
        let kind = match self.kind {
            Kind::Dir => 'd',
            Kind::File => 'f',
        };
        format!(
            "{kind} {:04o} {} {} {}\n",
            self.mode,
            self.size,
            self.sha256.as_deref().unwrap_or("-"),
            self.path
        )
    }
}

/// The manifest stored as the archive's last entry and printed by `backup`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub stack: String,
    /// The state directory on the host it was taken from.
    pub state_dir: String,
    /// UTC, RFC 3339.
    pub created: String,
    pub files: u64,
    pub dirs: u64,
    /// Sum of the files' sizes.
    pub bytes: u64,
    /// sha256 over the entries' canonical lines (see the module docs).
    pub sha256: String,
    pub entries: Vec<Entry>,
    /// OpenSSH signature (SSHSIG, armored) over [`Manifest::signed_bytes`]
    /// with the vault's backup signing key ([`super::signature`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

impl Manifest {
    /// The manifest of `entries` (in any order; stored sorted by path).
    pub fn new(stack: &str, state_dir: &str, created: String, entries: Vec<Entry>) -> Manifest {
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|e| (e.path.clone(), e))
            .collect::<BTreeMap<_, _>>()
            .into_values()
            .collect();
        Manifest {
            version: VERSION,
            stack: stack.to_string(),
            state_dir: state_dir.to_string(),
            created,
            files: entries.iter().filter(|e| e.kind == Kind::File).count() as u64,
            dirs: entries.iter().filter(|e| e.kind == Kind::Dir).count() as u64,
            bytes: entries.iter().map(|e| e.size).sum(),
            sha256: digest(&entries),
            entries,
            signature: None,
        }
    }

    /// What the signature covers: this manifest's JSON without the
    /// signature (the same bytes however often it is parsed and written).
    pub fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = Manifest {
            signature: None,
            ..self.clone()
        };
        serde_json::to_vec(&unsigned).unwrap_or_default()
    }

    /// Whether `entries` are exactly this manifest's (same paths, kinds,
    /// modes, sizes and contents); else the first differences, for the
    /// error (at most `limit`, by path, never content).
    pub fn differences(&self, entries: &[Entry], limit: usize) -> Vec<String> {
        let mine: BTreeMap<&str, &Entry> =
            self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let theirs: BTreeMap<&str, &Entry> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut out = Vec::new();
        for (path, want) in &mine {
            let shown = if path.is_empty() { "." } else { path };
            match theirs.get(path) {
                None => out.push(format!("{shown}: missing")),
                Some(got) if got.kind != want.kind => {
                    out.push(format!("{shown}: not a {:?}", want.kind).to_lowercase())
                }
                Some(got) if got.mode != want.mode => out.push(format!(
                    "{shown}: mode {:04o}, expected {:04o}",
                    got.mode, want.mode
                )),
                Some(got) if got.size != want.size => out.push(format!(
                    "{shown}: {} bytes, expected {}",
                    got.size, want.size
                )),
                Some(got) if got.sha256 != want.sha256 => {
                    out.push(format!("{shown}: content differs (sha256)"))
                }
                Some(_) => {}
            }
        }
        for path in theirs.keys().filter(|p| !mine.contains_key(*p)) {
            out.push(format!("{path}: not in the manifest"));
        }
        out.truncate(limit);
        out
    }

    /// Parse the JSON stored in an archive, checking its own digest.
    pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
        let m: Manifest =
            serde_json::from_slice(bytes).map_err(|e| format!("not a manifest: {e}"))?;
        if m.version != VERSION {
            return Err(format!(
                "manifest version {} (this clawprov reads {VERSION})",
                m.version
            ));
        }
        let fresh = Manifest::new(&m.stack, &m.state_dir, m.created.clone(), m.entries.clone());
        if fresh.entries != m.entries
            || fresh.sha256 != m.sha256
            || (fresh.files, fresh.dirs, fresh.bytes) != (m.files, m.dirs, m.bytes)
        {
            return Err("the manifest's totals or digest do not match its entries".into());
        }
        Ok(m)
    }
}

fn digest(sorted: &[Entry]) -> String {
    let mut h = Sha256::new();
    for e in sorted {
        h.update(e.line().as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: u32, body: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            kind: Kind::File,
            mode,
            size: body.len() as u64,
            sha256: Some(hex::encode(Sha256::digest(body))),
        }
    }

    fn dir(path: &str) -> Entry {
        Entry {
            path: path.into(),
            kind: Kind::Dir,
            mode: 0o700,
            size: 0,
            sha256: None,
        }
    }

    #[test]
    fn the_digest_ignores_order_and_time_but_not_content() {
        let a = Manifest::new(
            "s",
            "/h/.openclaw",
            "t1".into(),
            vec![dir(""), file("a", 0o600, b"x"), file("b/c", 0o644, b"y")],
        );
        let b = Manifest::new(
            "s",
            "/h/.openclaw",
            "t2".into(),
            vec![file("b/c", 0o644, b"y"), dir(""), file("a", 0o600, b"x")],
        );
        assert_eq!(a.sha256, b.sha256);
        assert_eq!((a.files, a.dirs, a.bytes), (2, 1, 2));
        let c = Manifest::new(
            "s",
            "/h/.openclaw",
            "t1".into(),
            vec![dir(""), file("a", 0o600, b"z"), file("b/c", 0o644, b"y")],
        );
        assert_ne!(a.sha256, c.sha256);
        assert_eq!(
            a.differences(&c.entries, 10),
            vec!["a: content differs (sha256)"]
        );
        let d = vec![dir(""), file("a", 0o644, b"x")];
        assert_eq!(
            a.differences(&d, 10),
            vec!["a: mode 0644, expected 0600", "b/c: missing"]
        );
    }

    #[test]
    fn a_manifest_whose_totals_were_edited_is_refused() {
        let m = Manifest::new("s", "/h", "t".into(), vec![dir(""), file("a", 0o600, b"x")]);
        let json = serde_json::to_vec(&m).unwrap();
        assert_eq!(Manifest::parse(&json).unwrap(), m);
        let mut edited = m.clone();
        edited.entries[1].size = 5;
        let json = serde_json::to_vec(&edited).unwrap();
        assert!(Manifest::parse(&json).is_err());
    }
}
