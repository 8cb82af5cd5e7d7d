//! Re-authenticating the node with a new auth key without cutting the SSH
//! session that rides the tailnet.
//!
//! What the client does (`cmd/tailscale/cli/up.go`, read at v1.90.9 and
//! v1.102.3): a logged-in node ignores a new `--auth-key` unless
//! `--force-reauth` is given; over an SSH session from a tailnet peer with
//! no TTY that aborts unless `--accept-risk=lose-ssh`, and it drops the
//! connection. `up` refuses ("requires mentioning all non-default flags")
//! once any setting differs from its default and is not repeated, and an
//! `up` with an auth key replaces every setting anyway (set-only ones such
//! as `webclient` go back to their defaults whatever is passed). So the
//! re-auth runs `up --reset` with the bootstrap's flags: the node comes
//! back to clawprov's declared settings, and the caller reports which
//! settings that changed ([`read_prefs`] before and after).
//!
//! The key goes to a root-only file on tmpfs (over stdin), `tailscale up`
//! runs detached from the session (`setsid -f`, all of its descriptors off
//! the channel, its output in a root-only log on tmpfs), removes the key
//! file when done, and the caller reconnects, asks the API which device the
//! node is now, and reads the log ([`take_log`]) when the node did not use
//! the key.

use std::time::Duration;

use zeroize::Zeroizing;

use super::command::RemoteCommand;
use super::node_prefs::{self, NodePrefs};
use super::paths::HostPaths;
use super::session::Session;
use super::HostError;
use crate::secrets::Secret;
use crate::stack::Stack;

/// How long the detached `tailscale up` may take before it gives up.
pub const REAUTH_TIMEOUT: &str = "120s";

/// The most of the log [`take_log`] reads back.
const LOG_CAP: &str = "16384";

/// The detached script: `$1` key file, `$2` hostname, `$3` tags, `$4`
/// timeout, `$5` log (root-only, made empty by [`start`]). The key file
/// goes however the shell ends (but SIGKILL; the next run removes it before
/// it writes a new one). Public so the real-tailnet test runs this very
/// script against a real tailscaled (tests/tailnet_real.rs).
pub const SCRIPT: &str = "exec </dev/null >>\"$5\" 2>&1; \
    trap 'rm -f -- \"$1\"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; \
    tailscale up --reset --force-reauth --accept-risk=lose-ssh --auth-key=\"file:$1\" \
    --hostname=\"$2\" --advertise-tags=\"$3\" --timeout=\"$4\"; \
    echo \"tailscale up exited $?\"";

/// The node's settings as its CLI prints them (`None`: it printed neither
/// form; the rotation goes on, it only cannot say what changed).
pub async fn read_prefs(session: &Session, timeout: Duration) -> Option<NodePrefs> {
    let cmd = RemoteCommand::root("sh").args(["-c", node_prefs::READ]);
    let out = session.check(&cmd, None, timeout).await.ok()?;
    NodePrefs::from_read(&out.stdout)
}

/// What the detached `tailscale up` printed (bounded, control characters
/// escaped), and the log removed. Empty when there is none.
pub async fn take_log(session: &Session, paths: &HostPaths, timeout: Duration) -> String {
    let read = RemoteCommand::root("sh").args([
        "-c",
        "[ -f \"$1\" ] && head -c \"$2\" -- \"$1\"; rm -f -- \"$1\"",
        "sh",
        paths.rotate_log.as_str(),
        LOG_CAP,
    ]);
    match session.run(&read, None, timeout).await {
        Ok(out) => crate::remote_text::escape(out.stdout.trim()).into_owned(),
        Err(_) => String::new(),
    }
}

/// Put `key` on the server and start the re-authentication, detached.
/// Returns as soon as it started; the session may drop any moment after.
pub async fn start(
    session: &Session,
    paths: &HostPaths,
    stack: &Stack,
    key: &Secret,
    timeout: Duration,
) -> Result<(), HostError> {
    // A key file an earlier run left (a killed detached shell) goes first:
    // written afresh, never appended to or reused.
    let write = RemoteCommand::root("sh").args([
        "-c",
        "rm -f -- \"$1\" \"$2\" && umask 077 && : > \"$2\" && cat > \"$1\"",
        "sh",
        paths.rotate_key.as_str(),
        paths.rotate_log.as_str(),
    ]);
    let body = Zeroizing::new(key.expose().as_bytes().to_vec());
    session.check(&write, Some(body), timeout).await?;
    let detach = RemoteCommand::root("setsid").args([
        "-f",
        "sh",
        "-c",
        SCRIPT,
        "sh",
        paths.rotate_key.as_str(),
        stack.tailscale.hostname.as_str(),
        &stack.tailscale.tags.join(","),
        REAUTH_TIMEOUT,
        paths.rotate_log.as_str(),
    ]);
    if let Err(e) = session.check(&detach, None, timeout).await {
        // Nothing was started that would remove it.
        let remove = RemoteCommand::root("rm").args(["-f", "--", paths.rotate_key.as_str()]);
        let _ = session.run(&remove, None, timeout).await;
        return Err(e);
    }
    Ok(())
}
