//! Shredding what the bootstrap leaves behind.
//!
//! The user-data carried the Tailscale auth key (the only secret it may
//! hold, invariant 3), and the bootstrap's log records everything it did.
//! Once the gateway runs, both are shredded (`shred -u`: overwrite, then
//! unlink) and their absence is confirmed:
//! - the bootstrap log;
//! - cloud-init's copies of the user-data in the instance directory:
//!   `user-data.txt`, `user-data.txt.i`, `cloud-config.txt`,
//!   `scripts/runcmd`, `scripts/part-*`;
//! - `/run/cloud-init/combined-cloud-config.json` (the merged config of
//!   this boot);
//! - `/var/log/cloud-init-output.log`, only if it holds bootstrap output
//!   (it mentions clawprov); otherwise it stays for debugging.
//!
//! Left alone on purpose:
//! - `obj.pkl`: cloud-init's pickled datasource (0400 root). It holds the
//!   user-data too, but cloud-init loads it at every boot to decide whether
//!   this is the same instance; without it cloud-init re-crawls the
//!   datasource, and the metadata service keeps serving the user-data to
//!   root anyway (FACTS.md). Removing it buys nothing and risks a boot
//!   that treats the server as new.
//! - `cloud-init clean`: it re-runs cloud-init on the next boot.
//!
//! Also true, and why the auth key must be single-use and short-lived:
//! cloud-init rewrites `user-data.txt` (and `.i`, `cloud-config.txt`) from
//! the datasource at every boot, so after a reboot they are back until the
//! next `up` shreds them again. By then the key is spent.

use std::time::Duration;

use super::command::RemoteCommand;
use super::paths::HostPaths;
use super::session::Session;
use super::HostError;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Shred every trace that exists; return what was shredded (empty on a
/// clean host). Fails if anything is still there afterwards.
pub async fn shred(session: &Session, paths: &HostPaths) -> Result<Vec<String>, HostError> {
    let found = traces(session, paths).await?;
    if found.is_empty() {
        return Ok(found);
    }
    let cmd = RemoteCommand::root("shred")
        .args(["-u", "--"])
        .args(found.iter().map(String::as_str));
    session.check(&cmd, None, TIMEOUT).await?;
    let left = traces(session, paths).await?;
    if !left.is_empty() {
        return Err(HostError::NotShredded(left.join(", ")));
    }
    Ok(found)
}

/// `find` over paths that may be missing, as root, in the C locale so its
/// complaints can be read. Exit 1 with nothing but "No such file or
/// directory" complaints means some paths were absent; anything else (sudo
/// refusing, a permission error, a bad option) is an error, so a failed
/// search never reads as "nothing left to shred".
async fn find(session: &Session, args: &[&str]) -> Result<Vec<String>, HostError> {
    let cmd = RemoteCommand::root("env")
        .args(["LC_ALL=C", "find"])
        .args(args.iter().copied());
    let out = session.run(&cmd, None, TIMEOUT).await?;
    let only_missing = out.status == 1
        && !out.stderr.trim().is_empty()
        && out
            .stderr
            .lines()
            .all(|l| l.starts_with("find: ") && l.ends_with("No such file or directory"));
    if out.success() || only_missing {
        return Ok(nul_list(&out.stdout));
    }
    Err(HostError::Remote {
        command: format!("{cmd} (searching for bootstrap traces)"),
        status: format!("exit {}", out.status),
        stderr: out.stderr,
    })
}

/// The traces present on the server now.
async fn traces(session: &Session, paths: &HostPaths) -> Result<Vec<String>, HostError> {
    let mut found = Vec::new();
    // The fixed files: `find -maxdepth 0` prints those that exist.
    let fixed = find(
        session,
        &[
            "-H",
            paths.bootstrap_log.as_str(),
            paths.combined_cloud_config.as_str(),
            paths.cloud_init_output_log.as_str(),
            "-maxdepth",
            "0",
            "-type",
            "f",
            "-print0",
        ],
    )
    .await?;
    let output_log_exists = fixed.contains(&paths.cloud_init_output_log);
    found.extend(
        fixed
            .into_iter()
            .filter(|f| f != &paths.cloud_init_output_log),
    );

    // The user-data copies. The patterns are find's, not the shell's: each
    // is one quoted argument.
    let instance = format!("{}/", paths.cloud_instance_dir);
    found.extend(
        find(
            session,
            &[
                "-H",
                instance.as_str(),
                "-maxdepth",
                "2",
                "-type",
                "f",
                "(",
                "-name",
                "user-data.txt",
                "-o",
                "-name",
                "user-data.txt.i",
                "-o",
                "-name",
                "cloud-config.txt",
                "-o",
                "-path",
                "*/scripts/runcmd",
                "-o",
                "-path",
                "*/scripts/part-*",
                ")",
                "-print0",
            ],
        )
        .await?,
    );

    // cloud-init's output log only if it holds bootstrap output. grep: 0
    // match, 1 no match, anything else an error (the file exists).
    if output_log_exists {
        let grep = RemoteCommand::root("grep").args([
            "-q",
            "-F",
            "-e",
            "clawprov",
            "--",
            paths.cloud_init_output_log.as_str(),
        ]);
        let out = session.run(&grep, None, TIMEOUT).await?;
        match out.status {
            0 => found.push(paths.cloud_init_output_log.clone()),
            1 => {}
            _ => {
                return Err(HostError::Remote {
                    command: format!("{grep} (searching for bootstrap traces)"),
                    status: format!("exit {}", out.status),
                    stderr: out.stderr,
                })
            }
        }
    }
    Ok(found)
}

fn nul_list(stdout: &str) -> Vec<String> {
    stdout
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
