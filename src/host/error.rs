//! What can go wrong in the host phase, and whose fault it is.
//!
//! No variant carries a secret value: remote output that reaches an error is
//! either the bootstrap log (which holds no secret: the auth key lives in a
//! tmpfs file and is never printed) or stderr of a command whose input was
//! not secret.

use std::path::PathBuf;

use crate::error::Error;

/// What to do when the bootstrap failed: it runs once, at first boot, and
/// has already spent the auth key, so re-running `up` cannot finish it.
pub const REPLACE_ADVICE: &str = "The bootstrap runs once, at the server's first boot, and its \
     Tailscale auth key is spent: fix the cause above, put a fresh key in the vault \
     (`clawprov secrets set tailscale_auth_key`), then start over with a new server: \
     `clawprov destroy` and `clawprov up` (the failed server holds no gateway state yet).";

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// `--ssh-host` did not parse as `HOST[:PORT]`.
    #[error("--ssh-host {given:?}: {reason} (expected HOST or HOST:PORT, IPv6 as [ADDR]:PORT)")]
    BadTarget { given: String, reason: String },

    /// The node resolved to an address outside the tailnet ranges.
    #[error(
        "{target} resolves to {addr}, which is outside the tailnet ranges \
         (100.64.0.0/10, fd7a:115c:a1e0::/48): refusing to send secrets there. \
         If this really is the node (an SSH tunnel, an odd network), pass \
         --allow-non-tailnet"
    )]
    OutsideTailnet {
        target: String,
        addr: std::net::IpAddr,
    },

    /// The node did not answer on its SSH port before the deadline.
    #[error(
        "the node {target} was not reachable over SSH within {waited_s} s: {seen}. \
         Check that the server is running and has joined the tailnet \
         (`tailscale status` on this machine), or point --ssh-host at it"
    )]
    Unreachable {
        target: String,
        waited_s: u64,
        /// What the last attempts saw: name resolving? port answering?
        seen: String,
    },

    /// The server presented a host key different from the pinned one.
    #[error(
        "HOST KEY MISMATCH for {host}: {known_hosts} pins {pinned}, but the server \
         presented {presented}. This may be a different server (rebuilt, or someone \
         in the middle). If the server was rebuilt on purpose, delete the line for \
         {host} from {known_hosts} and run again"
    )]
    HostKeyMismatch {
        host: String,
        known_hosts: PathBuf,
        pinned: String,
        presented: String,
    },

    #[error("{path}: {reason}")]
    KnownHostsFile { path: PathBuf, reason: String },

    /// SSH transport, handshake or authentication failed.
    #[error("SSH to {target}: {stage}: {detail}")]
    Ssh {
        target: String,
        stage: &'static str,
        detail: String,
    },

    /// The vault lacks a secret the host phase needs.
    #[error("the vault has no {key}: {why} (set it with `clawprov secrets set {key}`)")]
    MissingSecret { key: String, why: String },

    /// The vault's SSH key cannot be used.
    #[error("the vault's ssh_private_key: {reason}")]
    BadKey { reason: String },

    /// A secret value cannot be written safely to its file.
    #[error("the vault's {key} cannot go into {file}: {reason}")]
    BadSecretValue {
        key: String,
        file: &'static str,
        reason: &'static str,
    },

    /// Something other than a real directory (or regular file) owned by the
    /// service user stands where clawprov writes the gateway's files.
    #[error(
        "refusing to write under the service user's home: {path} is {found}, not a {want} \
         owned by {user}. Whatever runs as {user} (the gateway runs third-party code) may have \
         planted it: inspect it on the server, remove it, and run up again"
    )]
    UnsafePath {
        path: String,
        found: String,
        want: &'static str,
        user: String,
    },

    /// A remote command argument failed validation (a clawprov bug or a
    /// value that slipped past the stack's validation).
    #[error("refusing to build the remote command `{program}`: {reason}")]
    BadCommand { program: String, reason: String },

    /// A remote command failed.
    #[error("on the server, `{command}` failed ({status}){stderr}",
        stderr = if stderr.trim().is_empty() { String::new() } else { format!(": {}", stderr.trim()) })]
    Remote {
        /// The command's program and non-secret arguments.
        command: String,
        status: String,
        stderr: String,
    },

    /// A remote command printed more than clawprov reads from one: what
    /// the host sends back is bounded, so a host (or a hostile service
    /// user) cannot exhaust this machine's memory.
    #[error(
        "on the server, `{command}` printed more than {limit} bytes on its {stream}: \
         stopped reading (clawprov reads at most that much of a command's output)"
    )]
    TooMuchOutput {
        command: String,
        stream: &'static str,
        limit: u64,
    },

    /// cloud-init finished with an error or degraded.
    #[error(
        "cloud-init on the server finished {status} (exit {code}){failing}\n\
         last lines of the bootstrap log ({log}):\n{excerpt}\n{REPLACE_ADVICE}"
    )]
    CloudInit {
        status: String,
        code: i32,
        failing: String,
        log: String,
        excerpt: String,
    },

    /// cloud-init reported success but the bootstrap did not leave its marker.
    #[error(
        "cloud-init is done but the bootstrap never finished ({marker} is missing); \
         last lines of the bootstrap log ({log}):\n{excerpt}\n{REPLACE_ADVICE}"
    )]
    BootstrapIncomplete {
        marker: String,
        log: String,
        excerpt: String,
    },

    /// The server answered with something clawprov cannot read.
    #[error("on the server, `{command}` printed something unexpected: {detail}")]
    Unexpected { command: String, detail: String },

    /// The gateway did not listen, or listened in the wrong place.
    #[error("the gateway: {0}")]
    Gateway(String),

    /// Tailscale Serve is missing, wrong, or exposes the gateway to the internet.
    #[error("Tailscale Serve: {0}")]
    Serve(String),

    /// A file that must be shredded is still there.
    #[error("shredding left {0} on the server")]
    NotShredded(String),

    /// Installing the stack's release (Node, OpenClaw) did not complete.
    #[error("installing the release: {0}")]
    Release(String),

    /// The new release (or the new files) did not come up, or failed its
    /// probes; what ran before was put back and answers again.
    #[error(
        "the {what} from {from} to {to} failed, so the gateway was rolled back to {from}, \
         which runs and passes its probes again; nothing in the state directory was touched. \
         Why it failed: {cause}"
    )]
    RolledBack {
        /// `upgrade` (a new release) or `change` (new files only).
        what: &'static str,
        from: String,
        to: String,
        cause: Box<HostError>,
    },

    /// The new release failed and so did going back.
    #[error(
        "the {what} from {from} to {to} failed ({cause}), and rolling back to {from} failed \
         too ({rollback}); the gateway may be down: `clawprov logs` shows its journal, and \
         `clawprov up` tries again"
    )]
    RollbackFailed {
        what: &'static str,
        from: String,
        to: String,
        cause: Box<HostError>,
        rollback: Box<HostError>,
    },

    /// A step took longer than its deadline.
    #[error("{what} did not finish within {waited_s} s")]
    Timeout { what: String, waited_s: u64 },

    /// The blocking SSH worker panicked or was cancelled.
    #[error("the SSH worker stopped: {0}")]
    Worker(String),
}

impl HostError {
    /// Whether the user can fix this by changing their input (flags, the
    /// vault, the known_hosts file) rather than the server or the network.
    fn is_bad_input(&self) -> bool {
        matches!(
            self,
            HostError::BadTarget { .. }
                | HostError::OutsideTailnet { .. }
                | HostError::MissingSecret { .. }
                | HostError::BadKey { .. }
                | HostError::BadSecretValue { .. }
                | HostError::KnownHostsFile { .. }
        )
    }
}

/// A mismatched host key is `Failed`, not `BadInput`: the input (the pin) is
/// right until proven otherwise; the server is what changed. The same for
/// unreachable nodes and timeouts.
impl From<HostError> for Error {
    fn from(e: HostError) -> Self {
        if e.is_bad_input() {
            Error::bad_input(e)
        } else {
            Error::failed(e)
        }
    }
}
