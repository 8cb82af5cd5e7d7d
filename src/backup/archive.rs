//! The local archive: a tar inside age encryption, written and read as a
//! stream (memory stays flat whatever the state's size: one 64 KiB buffer
//! per copy, never a whole file).
//!
//! Layout: `state/` (the state directory itself), `state/REL` for each
//! directory and regular file under it, then `manifest.json` as the last
//! entry (see [`super::manifest`]). Nothing else: no link, device or FIFO
//! is ever written, and reading refuses any (and absolute paths, `..`,
//! duplicates, anything after the manifest) before a byte reaches the host.
//!
//! The archive is sealed like the vault: to the vault's recipients (any of
//! their identities opens it, `age -d -i IDENTITY` too), or to the vault's
//! passphrase. The age payload is binary, not armored (a third smaller).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use sha2::{Digest, Sha256};

use super::headers::ExtensionLimit;
use super::manifest::{Entry, Kind, Manifest};
use super::scan::SecretScan;
use super::signature;
use super::BackupError;
use crate::secrets::{Recipient, Secret, Unlock, MAX_WORK_FACTOR, PASSPHRASE_WORK_FACTOR};

/// Where the state directory's entries live inside the archive.
pub const STATE: &str = "state";
/// The manifest, the archive's last entry.
pub const MANIFEST: &str = "manifest.json";

/// Who can open the archive: the vault's recipients, or its passphrase.
pub enum Seal {
    Recipients(Vec<Recipient>),
    Passphrase(Secret),
}

/// What an archive being written must satisfy, and how it is signed.
pub struct Rules {
    /// The most file content it may hold, in bytes.
    pub max_size: u64,
    /// The vault's `backup_signing_key`: the manifest is signed with it.
    pub signing_key: Secret,
}

/// Told how many content bytes have gone through so far.
pub trait Progress: Send + Sync {
    fn bytes(&self, so_far: u64);
}

/// Progress that shows nothing.
pub struct Quiet;

impl Progress for Quiet {
    fn bytes(&self, _: u64) {}
}

/// What the manifest says about where the state came from.
pub struct Origin {
    pub stack: String,
    /// The state directory's path on the host.
    pub state_dir: String,
    /// The state directory's name as the host's tar names it (`.openclaw`).
    pub root_name: String,
    pub created: String,
}

/// A complete archive in its temporary file beside the target, kept only
/// once the caller knows the host's side succeeded too (a stream cut short
/// can look like a shorter, valid tar). Dropped: deleted.
pub struct Pending(tempfile::NamedTempFile);

impl Pending {
    /// Move it into place at `out` (0600, as created).
    pub fn keep(self, out: &Path) -> Result<(), BackupError> {
        self.0.persist(out).map_err(|e| BackupError::Io {
            path: out.to_path_buf(),
            action: "move it into place",
            source: e.error,
        })?;
        Ok(())
    }
}

/// Read the host's tar stream (`source`: entries `ROOT/...`), check every
/// entry (only directories and regular files; no vault value in any
/// file's content), and write the sealed archive for `out`: into a
/// temporary file beside it (0600), returned as [`Pending`]; on any error
/// nothing is left behind.
pub fn write(
    source: impl Read,
    out: &Path,
    seal: &Seal,
    scan: &SecretScan,
    origin: &Origin,
    rules: &Rules,
    progress: &dyn Progress,
) -> Result<(Manifest, Pending), BackupError> {
    let max_size = rules.max_size;
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_at(dir, "create the directory"))?;
    let temp = tempfile::Builder::new()
        .prefix(".clawprov-backup-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(io_at(dir, "create a temporary file in it"))?;
    let file = temp.as_file().try_clone().map_err(io_at(out, "write it"))?;
    let encryptor = encryptor(seal, out)?;
    let sealed = encryptor
        .wrap_output(BufWriter::with_capacity(64 * 1024, file))
        .map_err(io_at(out, "encrypt it"))?;
    let mut builder = tar::Builder::new(sealed);
    let mut entries = Vec::new();
    let mut so_far = 0u64;
    let mut reader = tar::Archive::new(ExtensionLimit::new(source));
    let stream = |e: io::Error| BackupError::Stream(format!("not a readable tar stream: {e}"));
    for entry in reader.entries().map_err(stream)? {
        let mut entry = entry.map_err(stream)?;
        let name = String::from_utf8(entry.path_bytes().into_owned()).map_err(|_| {
            BackupError::Refused {
                path: format!("a file under {}", origin.state_dir),
                what: "named with bytes that are not UTF-8".into(),
            }
        })?;
        let shown = host_path(&origin.state_dir, &origin.root_name, &name);
        let rel = relative(&origin.root_name, &name).ok_or_else(|| BackupError::Refused {
            path: shown.clone(),
            what: "outside the state directory".into(),
        })?;
        let header = entry.header();
        let mode = header.mode().map_err(stream)? & 0o7777;
        let mtime = header.mtime().unwrap_or(0);
        let kind = match header.entry_type() {
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            other if rel.is_empty() => {
                return Err(BackupError::StateDirNotDir {
                    path: origin.state_dir.to_string(),
                    what: what_is(other, &entry),
                })
            }
            other => {
                return Err(BackupError::Refused {
                    path: shown,
                    what: what_is(other, &entry),
                })
            }
        };
        if entries.is_empty() && !rel.is_empty() {
            return Err(BackupError::Stream(format!(
                "the stream did not start with {}",
                origin.state_dir
            )));
        }
        let inside = if rel.is_empty() {
            format!("{STATE}/")
        } else {
            format!("{STATE}/{rel}")
        };
        let mut out_header = tar::Header::new_gnu();
        out_header.set_mode(mode);
        out_header.set_mtime(mtime);
        match kind {
            Kind::Dir => {
                out_header.set_entry_type(tar::EntryType::Directory);
                out_header.set_size(0);
                builder
                    .append_data(&mut out_header, &inside, io::empty())
                    .map_err(io_at(out, "write it"))?;
                entries.push(Entry {
                    path: rel,
                    kind,
                    mode,
                    size: 0,
                    sha256: None,
                });
            }
            Kind::File => {
                let size = entry.size();
                // Judged by the header, before a byte of the file is read.
                if so_far.saturating_add(size) > max_size {
                    return Err(BackupError::TooLarge {
                        limit: max_size,
                        path: shown,
                        size,
                        so_far,
                    });
                }
                out_header.set_entry_type(tar::EntryType::Regular);
                out_header.set_size(size);
                let mut seen = Inspect {
                    inner: &mut entry,
                    hash: Sha256::new(),
                    scan: scan.file(),
                    read: 0,
                    base: so_far,
                    progress,
                };
                builder
                    .append_data(&mut out_header, &inside, &mut seen)
                    .map_err(|e| BackupError::Stream(format!("{shown}: {e}")))?;
                if let Some(key) = seen.scan.found() {
                    return Err(BackupError::SecretInFile {
                        path: shown,
                        key: key.to_string(),
                    });
                }
                if seen.read != size {
                    return Err(BackupError::Stream(format!(
                        "{shown}: {} bytes arrived, its header said {size}",
                        seen.read
                    )));
                }
                so_far += size;
                entries.push(Entry {
                    path: rel,
                    kind,
                    mode,
                    size,
                    sha256: Some(hex::encode(seen.hash.finalize())),
                });
            }
        }
    }
    if entries.is_empty() {
        return Err(BackupError::Stream(format!(
            "the server sent no entry for {}",
            origin.state_dir
        )));
    }
    let mut manifest = Manifest::new(
        &origin.stack,
        &origin.state_dir,
        origin.created.clone(),
        entries,
    );
    signature::sign(&mut manifest, &rules.signing_key)
        .map_err(|e| BackupError::Stream(e.to_string()))?;
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| BackupError::Stream(format!("cannot serialize the manifest: {e}")))?;
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o600);
    header.set_size(json.len() as u64);
    header.set_entry_type(tar::EntryType::Regular);
    builder
        .append_data(&mut header, MANIFEST, &json[..])
        .map_err(io_at(out, "write it"))?;
    let sealed = builder.into_inner().map_err(io_at(out, "write it"))?;
    let buffered = sealed.finish().map_err(io_at(out, "encrypt it"))?;
    let file = buffered.into_inner().map_err(|e| BackupError::Io {
        path: out.to_path_buf(),
        action: "write it",
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_at(out, "write it"))?;
    Ok((manifest, Pending(temp)))
}

/// First pass of a restore: read the whole archive, refuse anything but
/// directories and regular files under `state/` (and absolute paths,
/// `..`, duplicates, a missing or misplaced manifest), and check every
/// entry against the manifest. Returns the manifest.
pub fn check(path: &Path, unlock: &Unlock) -> Result<Manifest, BackupError> {
    let bad = |reason: String| BackupError::Archive {
        path: path.to_path_buf(),
        reason,
    };
    let mut archive = tar::Archive::new(ExtensionLimit::new(open(path, unlock)?));
    let mut entries = Vec::new();
    let mut seen = BTreeSet::new();
    let mut manifest = None;
    for entry in archive
        .entries()
        .map_err(|e| bad(format!("not a clawprov backup (tar): {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("damaged or truncated: {e}")))?;
        let (rel, kind, mode) = classify(&entry).map_err(&bad)?;
        if manifest.is_some() {
            return Err(bad(format!(
                "entry {} comes after the manifest (which must be last)",
                shown_rel(rel.as_deref())
            )));
        }
        let Some(rel) = rel else {
            let mut json = Vec::new();
            (&mut entry)
                .take(64 * 1024 * 1024)
                .read_to_end(&mut json)
                .map_err(|e| bad(format!("damaged or truncated: {e}")))?;
            manifest = Some(Manifest::parse(&json).map_err(|e| bad(format!("{MANIFEST}: {e}")))?);
            continue;
        };
        if !seen.insert(rel.clone()) {
            return Err(bad(format!(
                "entry {} appears twice",
                shown_rel(Some(&rel))
            )));
        }
        let (size, sha256) = match kind {
            Kind::Dir => (0, None),
            Kind::File => {
                let mut hash = Sha256::new();
                let n = io::copy(&mut entry, &mut HashSink(&mut hash))
                    .map_err(|e| bad(format!("damaged or truncated: {e}")))?;
                (n, Some(hex::encode(hash.finalize())))
            }
        };
        entries.push(Entry {
            path: rel,
            kind,
            mode,
            size,
            sha256,
        });
    }
    let manifest = manifest.ok_or_else(|| {
        bad(format!(
            "no {MANIFEST}: not a clawprov backup, or cut short"
        ))
    })?;
    if !entries
        .iter()
        .any(|e| e.path.is_empty() && e.kind == Kind::Dir)
    {
        return Err(bad(format!("no {STATE}/ directory entry")));
    }
    let differences = manifest.differences(&entries, 5);
    if !differences.is_empty() {
        return Err(bad(format!(
            "does not match its manifest: {}",
            differences.join("; ")
        )));
    }
    Ok(manifest)
}

/// Second pass of a restore: the archive's state entries as a plain tar
/// stream for the host's `tar --extract` (`./` is the state directory,
/// `REL` the rest), into `sink`. Every entry is checked again as in
/// [`check`]; the host checks the result against the manifest anyway.
pub fn replay(
    path: &Path,
    unlock: &Unlock,
    sink: impl Write,
    progress: &dyn Progress,
) -> Result<(), BackupError> {
    let bad = |reason: String| BackupError::Archive {
        path: path.to_path_buf(),
        reason,
    };
    let mut archive = tar::Archive::new(ExtensionLimit::new(open(path, unlock)?));
    let mut builder = tar::Builder::new(sink);
    let mut so_far = 0u64;
    let pipe =
        |e: io::Error| BackupError::Stream(format!("sending the archive to the server: {e}"));
    for entry in archive
        .entries()
        .map_err(|e| bad(format!("not a clawprov backup (tar): {e}")))?
    {
        let mut entry = entry.map_err(|e| bad(format!("damaged or truncated: {e}")))?;
        let (rel, kind, mode) = classify(&entry).map_err(&bad)?;
        let Some(rel) = rel else { break };
        let name = if rel.is_empty() {
            "./".to_string()
        } else {
            rel
        };
        let mut header = tar::Header::new_gnu();
        header.set_mode(mode);
        header.set_mtime(entry.header().mtime().unwrap_or(0));
        match kind {
            Kind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder
                    .append_data(&mut header, &name, io::empty())
                    .map_err(pipe)?;
            }
            Kind::File => {
                let size = entry.size();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(size);
                let mut counted = Counted {
                    inner: &mut entry,
                    base: so_far,
                    read: 0,
                    progress,
                };
                builder
                    .append_data(&mut header, &name, &mut counted)
                    .map_err(pipe)?;
                so_far += size;
            }
        }
    }
    builder
        .into_inner()
        .and_then(|mut w| w.flush())
        .map_err(pipe)?;
    Ok(())
}

/// An archive entry's place and kind: `(None, ..)` is the manifest,
/// `Some("")` the state directory, `Some(REL)` the rest. Refuses every
/// other kind of entry and every path that could leave the directory.
fn classify<R: Read>(entry: &tar::Entry<R>) -> Result<(Option<String>, Kind, u32), String> {
    let name = String::from_utf8(entry.path_bytes().into_owned())
        .map_err(|_| "an entry's name is not UTF-8: refused".to_string())?;
    let header = entry.header();
    let mode = header.mode().map_err(|e| format!("entry {name}: {e}"))? & 0o7777;
    let kind = match header.entry_type() {
        tar::EntryType::Directory => Kind::Dir,
        tar::EntryType::Regular => Kind::File,
        other => {
            return Err(format!(
                "entry {name} is {}: refused (a clawprov backup holds only directories and regular files)",
                what_is(other, entry)
            ))
        }
    };
    if name == MANIFEST && kind == Kind::File {
        return Ok((None, kind, mode));
    }
    let rel = relative(STATE, &name).ok_or_else(|| {
        format!("entry {name}: not under {STATE}/ (absolute, `..`, or foreign): refused")
    })?;
    if rel.is_empty() && kind != Kind::Dir {
        return Err(format!(
            "entry {name}: the state directory must be a directory"
        ));
    }
    Ok((Some(rel), kind, mode))
}

/// `name` relative to the directory `root` (`""` for `root` itself), if
/// it is inside it and every component is a plain name.
fn relative(root: &str, name: &str) -> Option<String> {
    let name = name.trim_end_matches('/');
    let rest = if name == root {
        ""
    } else {
        name.strip_prefix(root)?.strip_prefix('/')?
    };
    if !rest.is_empty()
        && rest
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == ".." || c.contains('\0'))
    {
        return None;
    }
    Some(rest.to_string())
}

fn host_path(state_dir: &str, root: &str, name: &str) -> String {
    match relative(root, name) {
        Some(rel) if rel.is_empty() => state_dir.to_string(),
        Some(rel) => format!("{state_dir}/{rel}"),
        None => format!("{state_dir}/../{name}"),
    }
}

fn shown_rel(rel: Option<&str>) -> String {
    match rel {
        None => MANIFEST.to_string(),
        Some("") => format!("{STATE}/"),
        Some(r) => format!("{STATE}/{r}"),
    }
}

fn what_is<R: Read>(kind: tar::EntryType, entry: &tar::Entry<R>) -> String {
    let target = || {
        entry
            .link_name_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    };
    match kind {
        tar::EntryType::Symlink => format!("a symbolic link (to {})", target()),
        tar::EntryType::Link => format!("a hard link (to {})", target()),
        tar::EntryType::Char => "a character device".into(),
        tar::EntryType::Block => "a block device".into(),
        tar::EntryType::Fifo => "a FIFO".into(),
        tar::EntryType::GNUSparse => "a sparse file".into(),
        other => format!("a tar entry of type {:?}", other.as_byte() as char),
    }
}

fn encryptor(seal: &Seal, out: &Path) -> Result<age::Encryptor, BackupError> {
    let keys = |reason: String| BackupError::Keys {
        path: out.to_path_buf(),
        reason,
    };
    match seal {
        Seal::Recipients(r) if r.is_empty() => Err(keys("the vault has no recipients".into())),
        Seal::Recipients(r) => {
            age::Encryptor::with_recipients(r.iter().map(|r| r.as_age() as &dyn age::Recipient))
                .map_err(|e| keys(e.to_string()))
        }
        Seal::Passphrase(pass) => {
            let mut recipient =
                age::scrypt::Recipient::new(SecretString::from(pass.expose().to_owned()));
            recipient.set_work_factor(PASSPHRASE_WORK_FACTOR);
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| keys(e.to_string()))
        }
    }
}

/// The archive's plaintext, decrypted as it is read.
fn open(path: &Path, unlock: &Unlock) -> Result<impl Read, BackupError> {
    let file = File::open(path).map_err(io_at(path, "open it"))?;
    let bad = |reason: String| BackupError::Archive {
        path: path.to_path_buf(),
        reason,
    };
    let decryptor = age::Decryptor::new(BufReader::with_capacity(64 * 1024, file))
        .map_err(|e| bad(format!("not an age file: {e}")))?;
    let scrypt = decryptor.is_scrypt();
    let reader = match unlock {
        Unlock::Identities(_) if scrypt => {
            return Err(BackupError::Keys {
                path: path.to_path_buf(),
                reason: "sealed to a passphrase, but the vault uses identities".into(),
            })
        }
        Unlock::Passphrase(_) if !scrypt => {
            return Err(BackupError::Keys {
                path: path.to_path_buf(),
                reason: "sealed to recipients, but the vault uses a passphrase".into(),
            })
        }
        Unlock::Identities(ids) => decryptor.decrypt(ids.iter().map(|i| &**i)),
        Unlock::Passphrase(pass) => {
            let mut id = age::scrypt::Identity::new(SecretString::from(pass.expose().to_owned()));
            id.set_max_work_factor(MAX_WORK_FACTOR);
            decryptor.decrypt(std::iter::once(&id as &dyn age::Identity))
        }
    }
    .map_err(|e| BackupError::Keys {
        path: path.to_path_buf(),
        reason: format!("cannot decrypt it with the vault's keys: {e}"),
    })?;
    Ok(BufReader::with_capacity(64 * 1024, reader))
}

fn io_at(path: &Path, action: &'static str) -> impl Fn(io::Error) -> BackupError {
    let path: PathBuf = path.to_path_buf();
    move |source| BackupError::Io {
        path: path.clone(),
        action,
        source,
    }
}

/// A file's content on its way into the archive: hashed, scanned for
/// vault values, counted.
struct Inspect<'a, 's, R> {
    inner: R,
    hash: Sha256,
    scan: super::scan::FileScan<'s>,
    read: u64,
    base: u64,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Inspect<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.scan.feed(&buf[..n]);
        self.read += n as u64;
        self.progress.bytes(self.base + self.read);
        Ok(n)
    }
}

struct Counted<'a, R> {
    inner: R,
    base: u64,
    read: u64,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.bytes(self.base + self.read);
        Ok(n)
    }
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::relative;

    #[test]
    fn relative_paths_stay_inside() {
        assert_eq!(relative(".openclaw", ".openclaw/").as_deref(), Some(""));
        assert_eq!(
            relative(".openclaw", ".openclaw/a/b").as_deref(),
            Some("a/b")
        );
        assert_eq!(relative("state", "state/a/").as_deref(), Some("a"));
        for bad in [
            "state/../x",
            "/state/a",
            "statex/a",
            "state/a//b",
            "state/./a",
            "other",
        ] {
            assert_eq!(relative("state", bad), None, "{bad}");
        }
    }
}
