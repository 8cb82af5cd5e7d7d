//! The gateway's release: which Node runs which OpenClaw, where both are
//! installed, and how the host phase installs a new one beside the running
//! one (an upgrade in place) without touching the state directory.
//!
//! A release is (OpenClaw version, Node version, lock). Node comes from
//! nvm (`~/.nvm/versions/node/vV`, one directory per version, so versions
//! sit side by side by nature); OpenClaw's tree is installed by that Node's
//! npm from the release's lock (src/lock) into a directory of its own
//! ([`super::paths::release_dir`]): the lock's two files are written there
//! and `npm ci --ignore-scripts` installs exactly the locked packages,
//! checking each tarball against the lock's sha512, with no lifecycle
//! script run (none is needed: README, "The locked tree"). The unit's
//! `ExecStart` names Node and the CLI by absolute path, so switching
//! releases is writing the unit and restarting, and going back is writing
//! the old one.
//!
//! A release directory only exists once complete: npm installs into
//! `DIR.partial`, the installed CLI must report the pinned version, and
//! only then is it renamed to `DIR`. An interrupted install leaves a
//! `.partial` that the next run removes first.
//!
//! Servers set up before releases were locked run an unlocked release
//! (`lock: None`: `npm install -g --prefix`, `DIR/bin/openclaw`); it is
//! recognised in their unit, kept as the release to go back to, and
//! replaced by the locked one on the next `up`.

use std::time::Duration;

use serde::Serialize;

use super::account::Account;
use super::command::RemoteCommand;
use super::paths::{node_bin_dir, release_dir};
use super::progress::{HostStep, Progress};
use super::session::Session;
use super::HostError;
use crate::lock::Lock;
use crate::stack::Stack;

/// npm fetching OpenClaw and its dependencies, nvm fetching Node.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
const TIMEOUT: Duration = Duration::from_secs(60);

/// One (OpenClaw, Node, lock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Release {
    pub openclaw: String,
    pub node: String,
    /// The lock's [`Lock::hash`]; none: an unlocked release of a server
    /// set up before locks.
    pub lock: Option<String>,
}

impl std::fmt::Display for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OpenClaw {} on Node {}", self.openclaw, self.node)?;
        match &self.lock {
            Some(hash) => write!(f, " (lock {hash})"),
            None => write!(f, " (unlocked)"),
        }
    }
}

impl Release {
    /// The release `stack` pins.
    pub fn of(stack: &Stack) -> Release {
        Release {
            openclaw: stack.openclaw.version.clone(),
            node: stack.node.version.clone(),
            lock: stack.openclaw.lock().map(|l| l.hash().to_string()),
        }
    }

    /// nvm's `bin/` of this release's Node.
    pub fn node_bin_dir(&self, home: &str) -> String {
        node_bin_dir(home, &self.node)
    }

    pub fn node_bin(&self, home: &str) -> String {
        format!("{}/node", self.node_bin_dir(home))
    }

    /// The directory OpenClaw's tree is installed in.
    pub fn dir(&self, home: &str) -> String {
        release_dir(home, &self.openclaw, &self.node, self.lock.as_deref())
    }

    /// The `openclaw` package's own directory.
    pub fn package_dir(&self, home: &str) -> String {
        match self.lock {
            Some(_) => format!("{}/node_modules/openclaw", self.dir(home)),
            None => format!("{}/lib/node_modules/openclaw", self.dir(home)),
        }
    }

    /// npm's directory of links to the packages' commands.
    pub fn bin_dir(&self, home: &str) -> String {
        match self.lock {
            Some(_) => format!("{}/node_modules/.bin", self.dir(home)),
            None => format!("{}/bin", self.dir(home)),
        }
    }

    /// The `openclaw` CLI (npm's link to the package's entry script).
    pub fn openclaw_bin(&self, home: &str) -> String {
        format!("{}/openclaw", self.bin_dir(home))
    }

    /// The `PATH` the gateway and its CLI run with: this Node first (npm's
    /// scripts say `#!/usr/bin/env node`), then this release's commands.
    pub fn path_env(&self, home: &str) -> String {
        format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            self.node_bin_dir(home),
            self.bin_dir(home)
        )
    }

    /// The release a unit file runs, read back from its `ExecStart=`
    /// (`NODE OPENCLAW_BIN gateway ...`, both absolute, as the template
    /// writes them); `None` for a unit that is not one clawprov wrote.
    pub fn from_unit(unit: &str, home: &str) -> Option<Release> {
        let exec = unit
            .lines()
            .find_map(|l| l.trim().strip_prefix("ExecStart="))?;
        let mut words = exec.split_whitespace();
        let node = words.next()?;
        let cli = words.next()?;
        let node_version = node
            .strip_prefix(&format!("{home}/.nvm/versions/node/v"))?
            .strip_suffix("/bin/node")?;
        let base = format!("{home}/.local/lib/clawprov/openclaw-");
        let name = cli.strip_prefix(&base)?;
        let (pair, lock) = match name.strip_suffix("/node_modules/.bin/openclaw") {
            Some(locked) => {
                let (pair, hash) = locked.rsplit_once("-lock-")?;
                (pair, Some(hash.to_string()))
            }
            None => (name.strip_suffix("/bin/openclaw")?, None),
        };
        let openclaw = pair.strip_suffix(&format!("-node-{node_version}"))?;
        Some(Release {
            openclaw: openclaw.to_string(),
            node: node_version.to_string(),
            lock,
        })
    }

    /// `openclaw ARGS` as the service user with this release (HOME and
    /// PATH set, as the unit sets them).
    pub fn openclaw(&self, account: &Account) -> RemoteCommand {
        RemoteCommand::as_user(&account.name, "node")
            .env("HOME", account.home.clone())
            .env("NODE_COMPILE_CACHE", compile_cache(&account.home))
            .env("PATH", self.path_env(&account.home))
            .arg(self.openclaw_bin(&account.home))
    }
}

/// What [`ensure_installed`] found or did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Installed {
    /// Both were there already.
    Present,
    /// OpenClaw was installed now (and Node too, when `node` is true).
    Now { node: bool },
}

/// A command as the service user with the environment the bootstrap's
/// `as_service` gives (HOME, nvm's directory, this release's PATH), from
/// the home.
fn as_service(account: &Account, release: &Release, program: &'static str) -> RemoteCommand {
    as_service_in(account, release, &account.home, program)
}

/// [`as_service`] in the directory `dir`.
fn as_service_in(
    account: &Account,
    release: &Release,
    dir: &str,
    program: &'static str,
) -> RemoteCommand {
    RemoteCommand::as_user(&account.name, "env")
        .arg("-i")
        .arg("-C")
        .arg(dir.to_string())
        .arg(format!("HOME={}", account.home))
        .arg(format!("USER={}", account.name))
        .arg(format!("LOGNAME={}", account.name))
        .arg(format!("NVM_DIR={}/.nvm", account.home))
        .arg(format!(
            "NODE_COMPILE_CACHE={}",
            compile_cache(&account.home)
        ))
        .arg(format!("PATH={}", release.path_env(&account.home)))
        .arg(program)
}

/// Node's compile cache (npm turns it on) in the service user's home, as
/// the bootstrap and the unit have it: by default it is the shared
/// /tmp/node-compile-cache, which the service user would own and root's own
/// node would read cached code from.
fn compile_cache(home: &str) -> String {
    format!("{home}/.cache/node-compile-cache")
}

/// `test -e PATH` as the service user.
async fn exists(session: &Session, account: &Account, path: &str) -> Result<bool, HostError> {
    let test = RemoteCommand::as_user(&account.name, "test").args(["-e", path]);
    Ok(session.run(&test, None, TIMEOUT).await?.success())
}

/// Make sure `release` is installed, as the service user: Node through
/// the nvm the bootstrap installed, OpenClaw's tree from `lock` with that
/// Node's npm (`npm ci --ignore-scripts`) into `DIR.partial`, its
/// `--version` checked, then renamed to `DIR`. Nothing the running gateway
/// uses is touched.
pub async fn ensure_installed(
    session: &Session,
    account: &Account,
    release: &Release,
    lock: Option<&Lock>,
    progress: &dyn Progress,
) -> Result<Installed, HostError> {
    let lock = match (lock, &release.lock) {
        (Some(lock), Some(hash)) if lock.hash() == hash => lock,
        _ => {
            return Err(HostError::Release(format!(
                "no lock for {release}: clawprov installs only locked releases"
            )))
        }
    };
    let home = &account.home;
    let node_bin = release.node_bin(home);
    let dir = release.dir(home);
    let node_there = exists(session, account, &node_bin).await?;
    if node_there && exists(session, account, &dir).await? {
        return Ok(Installed::Present);
    }
    if !node_there {
        progress.detail(
            HostStep::Release,
            &format!("installing Node {} with nvm", release.node),
        );
        let install = as_service(account, release, "bash").args([
            "-c",
            ". \"$NVM_DIR/nvm.sh\" && nvm install \"$1\"",
            "nvm-install",
            release.node.as_str(),
        ]);
        session.check(&install, None, INSTALL_TIMEOUT).await?;
        if !exists(session, account, &node_bin).await? {
            return Err(HostError::Release(format!(
                "nvm installed Node {} but {node_bin} does not exist",
                release.node
            )));
        }
    }
    progress.detail(
        HostStep::Release,
        &format!(
            "installing OpenClaw {} from its lock ({} packages, lifecycle scripts off)",
            release.openclaw,
            lock.packages().len()
        ),
    );
    let partial = format!("{dir}.partial");
    let clear = RemoteCommand::as_user(&account.name, "rm").args(["-rf", "--", partial.as_str()]);
    session.check(&clear, None, TIMEOUT).await?;
    let parent = format!("{home}/.local/lib/clawprov");
    let mkdir = RemoteCommand::as_user(&account.name, "mkdir").args(["-p", "-m", "0700", "--"]);
    session
        .check(
            &mkdir.args([
                format!("{home}/.local"),
                format!("{home}/.local/lib"),
                parent,
                partial.clone(),
            ]),
            None,
            TIMEOUT,
        )
        .await?;
    // The lock's two files, written by the service user into the directory
    // it just made (nothing of root's touches it), by dd from its stdin
    // as it is (re-opening /dev/stdin as the service user is refused: the
    // pipe is the admin's SSH session's).
    for (name, text) in [
        ("package.json", lock.package_json()),
        ("package-lock.json", lock.lock_json()),
    ] {
        let of = format!("of={partial}/{name}");
        let write = RemoteCommand::as_user(&account.name, "dd").args([of.as_str(), "status=none"]);
        let bytes = zeroize::Zeroizing::new(text.as_bytes().to_vec());
        session.check(&write, Some(bytes), TIMEOUT).await?;
    }
    let npm = format!("{}/npm", release.node_bin_dir(home));
    let install = as_service_in(account, release, &partial, "node").args([
        npm.as_str(),
        "ci",
        "--ignore-scripts",
        "--no-fund",
        "--no-audit",
        "--no-update-notifier",
    ]);
    let out = session.run(&install, None, INSTALL_TIMEOUT).await?;
    if !out.success() {
        // What npm left is of no use (the next run clears it anyway): best
        // effort, the install's failure is the error to report.
        let _ = session.run(&clear, None, TIMEOUT).await;
        return Err(HostError::Release(install_failure(&out.stderr)));
    }
    let version = as_service(account, release, "node")
        .arg(format!("{partial}/node_modules/.bin/openclaw"))
        .arg("--version");
    let out = session.check(&version, None, TIMEOUT).await?;
    if !reports_version(&out.stdout, &release.openclaw) {
        return Err(HostError::Release(format!(
            "the OpenClaw npm installed reports {:?}, not {}",
            out.stdout.trim(),
            release.openclaw
        )));
    }
    let rename = RemoteCommand::as_user(&account.name, "mv").args([
        "-T",
        "--",
        partial.as_str(),
        dir.as_str(),
    ]);
    session.check(&rename, None, TIMEOUT).await?;
    Ok(Installed::Now { node: !node_there })
}

/// What a failed `npm ci` means, from its stderr (escaped: the service
/// user's npm wrote it). A download that is not what the lock says is
/// named first: npm says `Verification failed while extracting
/// NAME@VERSION` when the sha512 differs (EINTEGRITY), and `tarball data
/// for NAME@URL (sha512-…) seems to be corrupted` when the bytes are not
/// even a tarball (Z_DATA_ERROR, as a flipped byte makes them).
fn install_failure(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(|l| {
            l.trim_start_matches("npm error")
                .trim_start_matches("npm warn")
                .trim()
        })
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    let detail = crate::remote_text::escape(&tail).into_owned();
    let refused = lines.iter().find_map(|l| {
        l.split("while extracting ")
            .nth(1)
            .map(|p| p.trim_end_matches(':'))
            .or_else(|| {
                l.split("tarball data for ")
                    .nth(1)
                    .filter(|_| l.contains("corrupted"))
                    .and_then(|p| p.split(" (").next())
            })
    });
    if stderr.contains("EINTEGRITY") || refused.is_some() {
        let package = refused
            .map(|p| crate::remote_text::escape(p).into_owned())
            .unwrap_or_else(|| "a package".into());
        return format!(
            "npm ci refused {package}: its tarball does not match the lock's integrity \
             (a tampered, substituted or corrupted download; nothing was installed and the \
             running gateway was not touched):\n{detail}"
        );
    }
    format!("npm ci failed (the running gateway was not touched):\n{detail}")
}

/// Remove every release directory (and any `.partial` left by an
/// interrupted install) under `~/.local/lib/clawprov` except those of
/// `keep` (the running release and the one before it, for going back by
/// hand): an OpenClaw install is hundreds of MB, and a server lives through
/// many upgrades. Node versions under nvm are left alone (smaller, and nvm
/// may hold versions clawprov did not install). Returns the names removed.
pub async fn prune(
    session: &Session,
    account: &Account,
    keep: &[&Release],
) -> Result<Vec<String>, HostError> {
    let parent = format!("{}/.local/lib/clawprov", account.home);
    // From the home: sudo keeps the admin's working directory, which the
    // service user may not enter, and find fails when it cannot return.
    let list = RemoteCommand::as_user(&account.name, "env").args([
        "-C",
        account.home.as_str(),
        "find",
        parent.as_str(),
        "-mindepth",
        "1",
        "-maxdepth",
        "1",
        "-printf",
        "%f\\n",
    ]);
    let out = session.check(&list, None, TIMEOUT).await?;
    let kept: Vec<String> = keep
        .iter()
        .map(|r| {
            r.dir(&account.home)
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let mut removed = vec![];
    for name in out.stdout.lines().map(str::trim) {
        if name.is_empty() || !name.starts_with("openclaw-") || kept.iter().any(|k| k == name) {
            continue;
        }
        let path = format!("{parent}/{name}");
        let rm = RemoteCommand::as_user(&account.name, "rm").args(["-rf", "--", path.as_str()]);
        session.check(&rm, None, TIMEOUT).await?;
        removed.push(name.to_string());
    }
    Ok(removed)
}

/// `openclaw --version` prints `2026.9.6` (some builds `OpenClaw 2026.9.6
/// (abc123)`): the version must be one of its words.
fn reports_version(stdout: &str, version: &str) -> bool {
    stdout
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .any(|w| w.trim_start_matches('v') == version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(o: &str, n: &str) -> Release {
        Release {
            openclaw: o.into(),
            node: n.into(),
            lock: Some("d8eb1a638dda".into()),
        }
    }

    #[test]
    fn a_unit_written_from_a_release_reads_back_as_that_release() {
        let home = "/home/openclaw";
        let r = release("2026.9.6", "24.16.0");
        let unit = format!(
            "[Service]\nExecStart={} {} gateway --bind loopback --port 18789\n",
            r.node_bin(home),
            r.openclaw_bin(home)
        );
        assert_eq!(Release::from_unit(&unit, home), Some(r.clone()));
        // The unlocked layout of servers set up before locks.
        let unlocked = Release { lock: None, ..r };
        let unit = format!(
            "[Service]\nExecStart={} {} gateway --bind loopback --port 18789\n",
            unlocked.node_bin(home),
            unlocked.openclaw_bin(home)
        );
        assert!(
            unit.contains("/openclaw-2026.9.6-node-24.16.0/bin/openclaw "),
            "{unit}"
        );
        assert_eq!(Release::from_unit(&unit, home), Some(unlocked));
        // Not ours: another home, the nvm-global layout, no ExecStart.
        assert_eq!(Release::from_unit(&unit, "/home/other"), None);
        let old = "ExecStart=/home/openclaw/.nvm/versions/node/v24.16.0/bin/node \
                   /home/openclaw/.nvm/versions/node/v24.16.0/bin/openclaw gateway";
        assert_eq!(Release::from_unit(old, home), None);
        assert_eq!(Release::from_unit("[Unit]\n", home), None);
    }

    #[test]
    fn a_tampered_tarball_is_named() {
        let stderr = "npm error code EINTEGRITY\nnpm error Verification failed while extracting \
                      openclaw@2026.9.6:\nnpm error Verification failed while extracting \
                      openclaw@2026.9.6:\nnpm error sha512-AAA integrity checksum failed";
        let why = install_failure(stderr);
        assert!(
            why.starts_with("npm ci refused openclaw@2026.9.6: its tarball does not match"),
            "{why}"
        );
        // A flipped byte, as the real npm 11 reports it (the real-boot VM).
        let corrupt = "npm warn tarball tarball data for openclaw@https://registry.npmjs.org/openclaw/-/openclaw-2026.9.7.tgz \
                       (sha512-Y+fF==) seems to be corrupted. Trying again.\nnpm error code Z_DATA_ERROR";
        let why = install_failure(corrupt);
        assert!(
            why.starts_with("npm ci refused openclaw@https://registry.npmjs.org/openclaw/-/openclaw-2026.9.7.tgz: its tarball"),
            "{why}"
        );
        let other = install_failure("npm error code E404\nnpm error 404 \x1b[2Jx");
        assert!(other.starts_with("npm ci failed"), "{other}");
        assert!(!other.contains('\x1b'), "escaped: {other:?}");
    }

    #[test]
    fn the_version_check_wants_the_exact_version() {
        assert!(reports_version("2026.9.6\n", "2026.9.6"));
        assert!(reports_version("OpenClaw 2026.9.6 (9f1c2ab)\n", "2026.9.6"));
        assert!(!reports_version("2026.9.61\n", "2026.9.6"));
        assert!(!reports_version("", "2026.9.6"));
    }
}
