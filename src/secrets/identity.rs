//! The operator's age identity: where it lives, loading it, creating it.
//!
//! Accepts what the `age` CLI's `-i` accepts that matters here: age-keygen
//! files (`AGE-SECRET-KEY-1...` lines, `#` comments) and OpenSSH private
//! keys (ed25519, and RSA as age supports it).

use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use age::secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::VaultError;

/// The environment variable naming the identity file.
pub const IDENTITY_ENV: &str = "CLAWPROV_AGE_IDENTITY";

/// Identity files are small; anything larger is not one.
const MAX_IDENTITY_BYTES: u64 = 1024 * 1024;

/// `$XDG_CONFIG_HOME/clawprov/identity.txt`, else
/// `$HOME/.config/clawprov/identity.txt`.
pub fn default_path() -> Result<PathBuf, VaultError> {
    default_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

/// The identity to use: `--identity`, else `$CLAWPROV_AGE_IDENTITY`, else
/// [`default_path`].
pub fn resolve(flag: Option<&Path>) -> Result<PathBuf, VaultError> {
    resolve_from(flag, std::env::var_os(IDENTITY_ENV), default_path)
}

fn default_path_from(
    xdg_config_home: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, VaultError> {
    // The XDG spec says a relative $XDG_CONFIG_HOME is invalid and ignored.
    let config = match xdg_config_home.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => match home {
            Some(home) if !home.is_empty() => PathBuf::from(home).join(".config"),
            _ => return Err(VaultError::NoConfigHome),
        },
    };
    Ok(config.join("clawprov").join("identity.txt"))
}

fn resolve_from(
    flag: Option<&Path>,
    env: Option<OsString>,
    default: impl FnOnce() -> Result<PathBuf, VaultError>,
) -> Result<PathBuf, VaultError> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }
    match env {
        Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
        _ => default(),
    }
}

/// Load every identity in `path`.
pub fn load(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, VaultError> {
    let text = read_identity_file(path)?;
    if is_ssh_key(&text) {
        return Ok(vec![load_ssh(path, &text)?]);
    }
    let file = age::IdentityFile::from_buffer(text.as_bytes())
        // age's message names the line number, never the line.
        .map_err(|e| malformed(path, e.to_string()))?;
    let identities = file
        .into_identities()
        .map_err(|e| malformed(path, e.to_string()))?;
    if identities.is_empty() {
        return Err(malformed(
            path,
            "contains no age identity (AGE-SECRET-KEY-1...)".into(),
        ));
    }
    Ok(identities
        .into_iter()
        .map(|i| i as Box<dyn age::Identity>)
        .collect())
}

/// Create a new X25519 identity at `path` in age-keygen's format; returns
/// its public recipient (`age1...`). The file is 0600; directories created
/// for it are 0700. Never overwrites an existing file.
pub fn create(path: &Path) -> Result<String, VaultError> {
    let io_err = |action| {
        move |source| VaultError::IdentityIo {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_err("create its directory"))?;
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let created = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let contents = Zeroizing::new(format!(
        "# created: {created}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    ));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                VaultError::IdentityExists {
                    path: path.to_path_buf(),
                }
            } else {
                io_err("create it")(source)
            }
        })?;
    let written = file
        .write_all(contents.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        // A half-written identity is worse than none: the next run would
        // refuse to overwrite it.
        let _ = std::fs::remove_file(path);
        return Err(io_err("write it")(source));
    }
    Ok(recipient)
}

/// The public recipient of the identity in `path`: `age1...` for an
/// age-keygen file (its first identity), `ssh-ed25519 AAAA...` for an
/// OpenSSH ed25519 key. This is what goes into the stack's
/// `secrets.recipients`.
pub fn recipient_of(path: &Path) -> Result<String, VaultError> {
    let text = read_identity_file(path)?;
    if is_ssh_key(&text) {
        let key = ssh_key::PrivateKey::from_openssh(text.as_bytes())
            .map_err(|_| malformed(path, "not a readable OpenSSH private key".into()))?;
        if key.algorithm() != ssh_key::Algorithm::Ed25519 {
            return Err(malformed(
                path,
                "only ssh-ed25519 keys can be vault recipients".into(),
            ));
        }
        let mut public = key.public_key().clone();
        public.set_comment("");
        return public
            .to_openssh()
            .map(|s| s.trim_end().to_string())
            .map_err(|_| malformed(path, "cannot encode its public key".into()));
    }
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .find_map(|l| age::x25519::Identity::from_str(l).ok())
        .map(|id| id.to_public().to_string())
        .ok_or_else(|| {
            malformed(
                path,
                "contains no age identity (AGE-SECRET-KEY-1...)".into(),
            )
        })
}

fn read_identity_file(path: &Path) -> Result<Zeroizing<String>, VaultError> {
    let file = std::fs::File::open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            VaultError::IdentityNotFound {
                path: path.to_path_buf(),
            }
        } else {
            VaultError::IdentityIo {
                path: path.to_path_buf(),
                action: "read it",
                source,
            }
        }
    })?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_IDENTITY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| VaultError::IdentityIo {
            path: path.to_path_buf(),
            action: "read it",
            source,
        })?;
    if bytes.len() as u64 > MAX_IDENTITY_BYTES {
        return Err(malformed(
            path,
            "larger than 1 MiB; not an identity file".into(),
        ));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| malformed(path, "not UTF-8 text".into()))?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn is_ssh_key(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN ")
}

fn load_ssh(path: &Path, text: &str) -> Result<Box<dyn age::Identity>, VaultError> {
    let filename = path.display().to_string();
    let identity = age::ssh::Identity::from_buffer(text.as_bytes(), Some(filename.clone()))
        .map_err(|_| malformed(path, "not a readable SSH private key".into()))?;
    match identity {
        age::ssh::Identity::Unencrypted(_) => Ok(Box::new(identity)),
        age::ssh::Identity::Encrypted(_) => Ok(Box::new(identity.with_callbacks(TerminalPrompt))),
        age::ssh::Identity::Unsupported(key) => {
            struct Reason<'a>(&'a age::ssh::UnsupportedKey, &'a str);
            impl std::fmt::Display for Reason<'_> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.display(f, Some(self.1))
                }
            }
            Err(malformed(path, Reason(&key, &filename).to_string()))
        }
    }
}

/// Asks for the passphrase of an encrypted SSH key on the terminal; with no
/// terminal, declines (the key then matches nothing and the error says so).
#[derive(Clone, Copy)]
struct TerminalPrompt;

impl age::Callbacks for TerminalPrompt {
    fn display_message(&self, message: &str) {
        eprintln!("{message}");
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        if !io::stdin().is_terminal() {
            return None;
        }
        rpassword::prompt_password(format!("{description}: "))
            .ok()
            .map(SecretString::from)
    }
}

fn malformed(path: &Path, reason: String) -> VaultError {
    VaultError::IdentityMalformed {
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_prefers_an_absolute_xdg_config_home() {
        let p = default_path_from(Some("/x/cfg".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p, Path::new("/x/cfg/clawprov/identity.txt"));
        let p = default_path_from(Some("relative".into()), Some("/home/u".into())).unwrap();
        assert_eq!(p, Path::new("/home/u/.config/clawprov/identity.txt"));
        let p = default_path_from(None, Some("/home/u".into())).unwrap();
        assert_eq!(p, Path::new("/home/u/.config/clawprov/identity.txt"));
        assert!(matches!(
            default_path_from(None, None),
            Err(VaultError::NoConfigHome)
        ));
    }

    #[test]
    fn resolve_order_is_flag_env_default() {
        let default = || Ok(PathBuf::from("/default"));
        let flag = Path::new("/flag");
        assert_eq!(
            resolve_from(Some(flag), Some("/env".into()), default).unwrap(),
            flag
        );
        assert_eq!(
            resolve_from(None, Some("/env".into()), default).unwrap(),
            Path::new("/env")
        );
        assert_eq!(
            resolve_from(None, Some("".into()), default).unwrap(),
            Path::new("/default")
        );
        assert_eq!(
            resolve_from(None, None, default).unwrap(),
            Path::new("/default")
        );
    }

    #[test]
    fn a_non_identity_line_is_reported_by_number_not_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id.txt");
        std::fs::write(&path, "# comment\nCANARY-not-a-key-55\n").unwrap();
        let err = load(&path).err().unwrap();
        let msg = err.to_string();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(!msg.contains("CANARY"), "{msg}");
        assert_eq!(err.kind(), crate::error::Kind::BadInput);
    }
}
