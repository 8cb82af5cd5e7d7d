//! The commands `backup` and `restore` run on the host. All of them run as
//! the service user, never as root: the state directory is the gateway's,
//! and the gateway runs third-party code (plugins, tools) that may plant a
//! link in it to make a privileged copy read or write elsewhere. As the
//! service user, a link can reach only what the service user could anyway.

use std::time::Duration;

use super::manifest::{Entry, Kind};
use crate::host::command::RemoteCommand;
use crate::host::{Account, HostError, Session, GATEWAY_UNIT};

/// The gateway's state directory under the service user's home.
pub const STATE_DIR_NAME: &str = ".openclaw";

const TIMEOUT: Duration = Duration::from_secs(60);

/// `HOME/.openclaw`.
pub fn state_dir(account: &Account) -> String {
    format!("{}/{STATE_DIR_NAME}", account.home)
}

/// What `path` is, as `stat` names it without following a link
/// ("directory", "symbolic link", "regular file", ...); `None` if absent.
pub async fn kind_of(
    session: &Session,
    account: &Account,
    path: &str,
) -> Result<Option<String>, HostError> {
    let stat = RemoteCommand::as_user(&account.name, "stat").args(["-c", "%F", "--", path]);
    let out = session.run(&stat, None, TIMEOUT).await?;
    if out.success() {
        return Ok(Some(out.stdout.trim().to_string()));
    }
    if out.stderr.contains("No such file or directory") {
        return Ok(None);
    }
    Err(HostError::Remote {
        command: stat.to_string(),
        status: format!("exit {}", out.status),
        stderr: out.stderr,
    })
}

/// `tar --create` of the state directory to stdout, named `.openclaw/...`
/// (run from the home, so a state directory that is itself a link arrives
/// as a link entry, not as what it points to). GNU tar follows no symlink
/// unless asked (`-h`), and stores a second name of a file as a hard link.
pub fn create(account: &Account) -> RemoteCommand {
    RemoteCommand::as_user(&account.name, "tar")
        .args(["--create", "--file=-", "--format=posix", "--numeric-owner"])
        .arg(format!("--directory={}", account.home))
        .args(["--", STATE_DIR_NAME])
}

/// `systemctl --user stop` of the gateway: nothing writes the state while
/// it is replaced.
pub async fn stop_gateway(session: &Session, account: &Account) -> Result<(), HostError> {
    let stop = RemoteCommand::as_user(&account.name, "systemctl")
        .env("XDG_RUNTIME_DIR", account.runtime_dir())
        .args(["--user", "stop", GATEWAY_UNIT]);
    session.check(&stop, None, TIMEOUT).await?;
    Ok(())
}

/// A new, empty, private directory (`mkdir` fails if anything is there).
pub async fn make_dir(session: &Session, account: &Account, path: &str) -> Result<(), HostError> {
    let mkdir = RemoteCommand::as_user(&account.name, "mkdir").args(["-m", "0700", "--", path]);
    session.check(&mkdir, None, TIMEOUT).await?;
    Ok(())
}

/// `tar --extract` from stdin into `dir`, modes as in the archive (no
/// umask), owned by the service user (who runs it).
pub fn extract(account: &Account, dir: &str) -> RemoteCommand {
    RemoteCommand::as_user(&account.name, "tar")
        .args([
            "--extract",
            "--file=-",
            "--preserve-permissions",
            "--no-same-owner",
        ])
        .arg(format!("--directory={dir}"))
}

/// What is under `dir` on the host, as manifest entries (paths relative to
/// `dir`), read by `find` and `sha256sum` as the service user; entries not
/// owned by `account` or of another kind are returned as errors by path.
pub async fn survey(
    session: &Session,
    account: &Account,
    dir: &str,
) -> Result<(Vec<Entry>, Vec<String>), HostError> {
    // From the service user's home: sudo keeps the admin's working
    // directory, which the service user may not enter, and find fails at
    // the end when it cannot return there (found on the real guest).
    let find = find_as(account).args([dir, "-printf", "%y %U %m %s %P\\0"]);
    let listing = session.check(&find, None, TIMEOUT).await?;
    let sums = find_as(account).args([
        dir,
        "-type",
        "f",
        "-exec",
        "sha256sum",
        "-z",
        "--",
        "{}",
        "+",
    ]);
    let hashes = session.check(&sums, None, Duration::from_secs(600)).await?;
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut sha = std::collections::HashMap::new();
    for record in hashes.stdout.split('\0').filter(|r| !r.is_empty()) {
        let Some((hash, path)) = record.split_once("  ") else {
            return Err(unexpected(&sums, "a sha256sum line without two spaces"));
        };
        let rel = path.strip_prefix(&prefix).unwrap_or(path);
        sha.insert(rel.to_string(), hash.to_string());
    }
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    for record in listing.stdout.split('\0').filter(|r| !r.is_empty()) {
        let mut f = record.splitn(5, ' ');
        let (Some(kind), Some(uid), Some(mode), Some(size), Some(path)) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return Err(unexpected(
                &find,
                "a listing line with fewer than five fields",
            ));
        };
        let shown = if path.is_empty() { "." } else { path };
        if uid != account.uid.to_string() {
            problems.push(format!("{shown}: owned by uid {uid}, not {}", account.name));
        }
        let mode = u32::from_str_radix(mode, 8)
            .map_err(|_| unexpected(&find, "a mode that is not octal"))?;
        let size: u64 = size
            .parse()
            .map_err(|_| unexpected(&find, "a size that is not a number"))?;
        let entry = match kind {
            "d" => Entry {
                path: path.to_string(),
                kind: Kind::Dir,
                mode,
                size: 0,
                sha256: None,
            },
            "f" => Entry {
                path: path.to_string(),
                kind: Kind::File,
                mode,
                size,
                sha256: sha.get(path).cloned(),
            },
            other => {
                problems.push(format!(
                    "{shown}: of find type {other}, not a file or directory"
                ));
                continue;
            }
        };
        entries.push(entry);
    }
    Ok((entries, problems))
}

/// Rename `from` to `to` (`mv -T`: `to` must not be a directory to move
/// into; a link is renamed, never followed).
pub async fn rename(
    session: &Session,
    account: &Account,
    from: &str,
    to: &str,
) -> Result<(), HostError> {
    let mv = RemoteCommand::as_user(&account.name, "mv").args(["-T", "--", from, to]);
    session.check(&mv, None, TIMEOUT).await?;
    Ok(())
}

fn unexpected(command: &RemoteCommand, detail: &str) -> HostError {
    HostError::Unexpected {
        command: command.to_string(),
        detail: detail.to_string(),
    }
}

/// `find` as the service user, started in its home (`env -C`).
fn find_as(account: &Account) -> RemoteCommand {
    RemoteCommand::as_user(&account.name, "env").args(["-C", account.home.as_str(), "find"])
}
