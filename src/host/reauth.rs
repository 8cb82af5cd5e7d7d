//! Re-authenticating the node with a new auth key without cutting the SSH
//! session that rides the tailnet.
//!
//! A logged-in node ignores a new `--auth-key` unless `--force-reauth` is
//! given; over an SSH session from a tailnet peer with no TTY that aborts
//! unless `--accept-risk=lose-ssh`, and it drops the connection. So the key
//! goes to a root-only file on tmpfs (over stdin), `tailscale up` runs
//! detached from the session (`setsid -f`, all of its descriptors off the
//! channel) with every non-default flag the bootstrap used (a subset would
//! fail), removes the key file when done, and the caller reconnects and
//! asks the API which device the node is now.

use std::time::Duration;

use zeroize::Zeroizing;

use super::command::RemoteCommand;
use super::paths::HostPaths;
use super::session::Session;
use super::HostError;
use crate::secrets::Secret;
use crate::stack::Stack;

/// How long the detached `tailscale up` may take before it gives up.
pub const REAUTH_TIMEOUT: &str = "120s";

/// The detached script: `$1` key file, `$2` hostname, `$3` tags. The key
/// file goes however the shell ends (but SIGKILL; the next run removes it
/// before it writes a new one).
const SCRIPT: &str = "exec </dev/null >/dev/null 2>&1; \
    trap 'rm -f -- \"$1\"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; \
    tailscale up --force-reauth --accept-risk=lose-ssh --auth-key=\"file:$1\" \
    --hostname=\"$2\" --advertise-tags=\"$3\" --timeout=\"$4\"";

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
        "rm -f -- \"$1\" && umask 077 && cat > \"$1\"",
        "sh",
        paths.rotate_key.as_str(),
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
    ]);
    if let Err(e) = session.check(&detach, None, timeout).await {
        // Nothing was started that would remove it.
        let remove = RemoteCommand::root("rm").args(["-f", "--", paths.rotate_key.as_str()]);
        let _ = session.run(&remove, None, timeout).await;
        return Err(e);
    }
    Ok(())
}
