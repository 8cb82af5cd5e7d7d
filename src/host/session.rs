//! One SSH session to the node, over libssh2 (the `ssh2` crate).
//!
//! libssh2 is blocking, so every call runs in `tokio::task::spawn_blocking`
//! on a clone of the session (`ssh2::Session` is a shared handle).
//!
//! Order matters: handshake, then the host-key check against the pin, and
//! only then authentication. A server that fails the pin never sees a
//! login attempt, let alone a secret.
//!
//! Authentication uses the vault's `ssh_private_key` straight from memory
//! (`userauth_pubkey_memory`). The key is an OpenSSH-format ed25519 key;
//! libssh2 1.11 (bundled by libssh2-sys 0.3, built against OpenSSL) reads
//! that format from memory, which the integration tests prove against a
//! real sshd, so the key never touches disk.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use zeroize::Zeroizing;

use super::command::RemoteCommand;
use super::known_hosts::{HostKey, KnownHosts, Pin};
use super::HostError;
use crate::secrets::Secret;

/// How long the handshake and login may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The most [`Session::run`] reads of a command's stdout, and of its
/// stderr: far above anything clawprov's commands print (the host probe's
/// few hundred KiB, an OpenClaw plugin list), far below what would hurt.
pub const OUTPUT_LIMIT: u64 = 16 * 1024 * 1024;
/// A live sshd sends its banner at once; a port forward or a half-started
/// sshd that accepted but stays silent is given up on after this, and the
/// caller (`connect`) tries again while its deadline allows.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What a remote command produced. Never holds a secret: secrets only go
/// in on stdin, and no command clawprov runs echoes its input.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// A logged-in session.
pub struct Session {
    ssh: ssh2::Session,
    target: String,
}

/// What opening a session established.
#[derive(Debug, Clone)]
pub struct Opened {
    pub session_target: String,
    pub host_key: HostKey,
    pub pin: Pin,
}

impl Session {
    /// Handshake on `stream`, check the host key against `known_hosts`
    /// under `pin_name`, and log in as `user` with `key`.
    pub async fn open(
        stream: std::net::TcpStream,
        target: String,
        pin_name: String,
        known_hosts: KnownHosts,
        server: Option<i64>,
        user: String,
        key: Secret,
    ) -> Result<(Session, Opened), HostError> {
        let t = target.clone();
        blocking(move || {
            let ssh_err = |stage: &'static str| {
                let target = t.clone();
                move |e: ssh2::Error| HostError::Ssh {
                    target,
                    stage,
                    detail: e.message().to_string(),
                }
            };
            let mut ssh = ssh2::Session::new().map_err(ssh_err("session"))?;
            ssh.set_timeout(HANDSHAKE_TIMEOUT.as_millis() as u32);
            ssh.set_tcp_stream(stream);
            ssh.handshake().map_err(ssh_err("handshake"))?;
            ssh.set_timeout(LOGIN_TIMEOUT.as_millis() as u32);

            let (blob, _) = ssh.host_key().ok_or_else(|| HostError::Ssh {
                target: t.clone(),
                stage: "host key",
                detail: "the server presented no host key".into(),
            })?;
            let host_key = HostKey {
                kind: key_kind(blob).unwrap_or_else(|| "unknown".into()),
                blob: blob.to_vec(),
            };
            let pin = known_hosts.check_or_pin(&pin_name, &host_key, server)?;

            ssh.userauth_pubkey_memory(&user, None, key.expose(), None)
                .map_err(|e| HostError::Ssh {
                    target: t.clone(),
                    stage: "login",
                    // libssh2's message names the failing step, never the key.
                    detail: format!(
                        "as {user} with the vault's ssh_private_key: {} \
                         (is its public half in ~{user}/.ssh/authorized_keys?)",
                        e.message()
                    ),
                })?;
            if !ssh.authenticated() {
                return Err(HostError::Ssh {
                    target: t.clone(),
                    stage: "login",
                    detail: format!("the server did not accept {user}'s key"),
                });
            }
            Ok((
                Session {
                    ssh,
                    target: t.clone(),
                },
                Opened {
                    session_target: t,
                    host_key,
                    pin,
                },
            ))
        })
        .await
    }

    /// Open a channel, exec `command` on it and hand it to `work`, on the
    /// blocking pool; `timeout` bounds every single read or write.
    async fn on_channel<T: Send + 'static>(
        &self,
        command: &RemoteCommand,
        timeout: Duration,
        work: impl FnOnce(&mut ssh2::Channel, &ChannelErrors, &ssh2::Session) -> Result<T, HostError>
            + Send
            + 'static,
    ) -> Result<T, HostError> {
        let line = command.line()?;
        let errors = ChannelErrors {
            target: self.target.clone(),
            name: command.to_string(),
            timeout,
        };
        let ssh = self.ssh.clone();
        blocking(move || {
            ssh.set_timeout(timeout.as_millis().min(u32::MAX as u128) as u32);
            let mut channel = ssh.channel_session().map_err(errors.ssh("open channel"))?;
            channel.exec(&line).map_err(errors.ssh("exec"))?;
            work(&mut channel, &errors, &ssh)
        })
        .await
    }

    /// Run `command`; feed it `stdin` (then EOF) if given; wait at most
    /// `timeout` for any single read or write. At most [`OUTPUT_LIMIT`]
    /// bytes of each of stdout and stderr are read: more is an error
    /// ([`HostError::TooMuchOutput`]), never held in memory.
    pub async fn run(
        &self,
        command: &RemoteCommand,
        stdin: Option<Zeroizing<Vec<u8>>>,
        timeout: Duration,
    ) -> Result<Output, HostError> {
        self.run_limited(command, stdin, timeout, OUTPUT_LIMIT)
            .await
    }

    /// [`run`](Self::run) with another limit (the tests use a small one).
    pub async fn run_limited(
        &self,
        command: &RemoteCommand,
        stdin: Option<Zeroizing<Vec<u8>>>,
        timeout: Duration,
        limit: u64,
    ) -> Result<Output, HostError> {
        let name = command.to_string();
        self.on_channel(command, timeout, move |channel, errors, ssh| {
            let fail = |stage| errors.ssh(stage);
            let io = |stage| errors.io(stage);
            if let Some(input) = stdin {
                channel.write_all(&input).map_err(io("stdin"))?;
            }
            channel.send_eof().map_err(fail("stdin"))?;
            let (stdout, stderr) =
                read_both(channel, ssh, timeout, limit, errors).map_err(|e| match e {
                    Overflow::Stream(stream) => HostError::TooMuchOutput {
                        command: name.clone(),
                        stream,
                        limit,
                    },
                    Overflow::Failed(e) => e,
                })?;
            ssh.set_timeout(timeout.as_millis().min(u32::MAX as u128) as u32);
            channel.wait_close().map_err(fail("close"))?;
            let status = channel.exit_status().map_err(fail("exit status"))?;
            Ok(Output {
                status,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            })
        })
        .await
    }

    /// Run `command` with its stdout streamed into `sink` as it arrives
    /// (never held whole in memory) and, if given, `source` copied to its
    /// stdin (then EOF) first; for archives and journals. `timeout` bounds
    /// each single read or write. Returns the exit status and stderr (at
    /// most the first 64 KiB of it).
    ///
    /// stdin is written before stdout is read: a command that answers
    /// while it still reads (more than the channel's window of output
    /// before its input ends) needs its output in a file instead.
    pub async fn stream(
        &self,
        command: &RemoteCommand,
        source: Option<Box<dyn std::io::Read + Send>>,
        mut sink: Box<dyn std::io::Write + Send>,
        timeout: Duration,
    ) -> Result<(i32, String), HostError> {
        self.on_channel(command, timeout, move |channel, errors, _| {
            let fail = |stage| errors.ssh(stage);
            let io = |stage| errors.io(stage);
            if let Some(mut input) = source {
                std::io::copy(&mut input, channel).map_err(io("stdin"))?;
            }
            channel.send_eof().map_err(fail("stdin"))?;
            std::io::copy(channel, &mut sink).map_err(io("stdout"))?;
            sink.flush().map_err(io("stdout"))?;
            let mut stderr = Vec::new();
            (&mut channel.stderr())
                .take(STREAM_STDERR)
                .read_to_end(&mut stderr)
                .map_err(io("stderr"))?;
            let rest =
                std::io::copy(&mut channel.stderr(), &mut std::io::sink()).map_err(io("stderr"))?;
            if rest > 0 {
                cut_at_line(&mut stderr);
            }
            channel.wait_close().map_err(fail("close"))?;
            let status = channel.exit_status().map_err(fail("exit status"))?;
            Ok((status, String::from_utf8_lossy(&stderr).into_owned()))
        })
        .await
    }

    /// The libssh2 session, for modules of the host layer that drive a
    /// channel themselves (an interactive terminal).
    pub(crate) fn raw(&self) -> (&ssh2::Session, &str) {
        (&self.ssh, &self.target)
    }

    /// Run `command` and require exit 0.
    pub async fn check(
        &self,
        command: &RemoteCommand,
        stdin: Option<Zeroizing<Vec<u8>>>,
        timeout: Duration,
    ) -> Result<Output, HostError> {
        let out = self.run(command, stdin, timeout).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(HostError::Remote {
                command: command.to_string(),
                status: format!("exit {}", out.status),
                stderr: out.stderr,
            })
        }
    }
}

/// How a failure on a command's channel becomes a [`HostError`] naming the
/// command and the stage: libssh2's timeout (-9) as a timeout, anything
/// else as an SSH error.
struct ChannelErrors {
    target: String,
    name: String,
    timeout: Duration,
}

impl ChannelErrors {
    fn ssh(&self, stage: &'static str) -> impl Fn(ssh2::Error) -> HostError + '_ {
        move |e: ssh2::Error| {
            if e.code() == ssh2::ErrorCode::Session(-9) {
                HostError::Timeout {
                    what: format!("`{}` on the server", self.name),
                    waited_s: self.timeout.as_secs(),
                }
            } else {
                HostError::Ssh {
                    target: self.target.clone(),
                    stage,
                    detail: format!("`{}`: {}", self.name, e.message()),
                }
            }
        }
    }

    fn io(&self, stage: &'static str) -> impl Fn(std::io::Error) -> HostError + '_ {
        move |e: std::io::Error| HostError::Ssh {
            target: self.target.clone(),
            stage,
            detail: format!("`{}`: {e}", self.name),
        }
    }
}

/// How much of a streamed command's stderr is kept.
const STREAM_STDERR: u64 = 64 * 1024;

/// Stderr cut at the limit ends mid-line, possibly in the middle of a
/// secret, where no scrubber could recognise it: drop that partial line
/// (a secret holds no line break; a multi-line one is matched line by
/// line) and say so.
fn cut_at_line(stderr: &mut Vec<u8>) {
    let keep = stderr
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    stderr.truncate(keep);
    stderr.extend_from_slice(b"[... more stderr not shown]\n");
}

/// Why [`read_both`] stopped early.
enum Overflow {
    /// This stream passed the limit.
    Stream(&'static str),
    Failed(HostError),
}

/// Read stdout and stderr to their ends, taking turns: reading one to its
/// end first would stall a command whose other stream fills the channel's
/// window (the peer waits for room, the end never comes). Each turn waits
/// at most a short slice; `idle` without a byte on either stream is a
/// timeout. At most `limit` bytes of each are kept: one more is an
/// [`Overflow`], so a host cannot make this side hold more.
fn read_both(
    channel: &mut ssh2::Channel,
    ssh: &ssh2::Session,
    idle: Duration,
    limit: u64,
    errors: &ChannelErrors,
) -> Result<(Vec<u8>, Vec<u8>), Overflow> {
    const SLICE: Duration = Duration::from_millis(50);
    ssh.set_timeout(SLICE.as_millis() as u32);
    let mut out: [(Vec<u8>, bool, &'static str); 2] =
        [(Vec::new(), false, "stdout"), (Vec::new(), false, "stderr")];
    let mut buf = vec![0u8; 32 * 1024];
    let mut last = std::time::Instant::now();
    while !(out[0].1 && out[1].1) {
        for (i, (data, done, name)) in out.iter_mut().enumerate() {
            if *done {
                continue;
            }
            let read = if i == 0 {
                channel.read(&mut buf)
            } else {
                channel.stderr().read(&mut buf)
            };
            match read {
                Ok(0) => *done = true,
                Ok(n) => {
                    last = std::time::Instant::now();
                    let room = (limit + 1).saturating_sub(data.len() as u64) as usize;
                    data.extend_from_slice(&buf[..n.min(room)]);
                    if data.len() as u64 > limit {
                        return Err(Overflow::Stream(name));
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return Err(Overflow::Failed(errors.io(name)(e))),
            }
        }
        if last.elapsed() >= idle {
            return Err(Overflow::Failed(HostError::Timeout {
                what: format!("`{}` on the server", errors.name),
                waited_s: idle.as_secs(),
            }));
        }
    }
    let [(stdout, ..), (stderr, ..)] = out;
    Ok((stdout, stderr))
}

/// The key type named at the start of an SSH wire-format key blob.
fn key_kind(blob: &[u8]) -> Option<String> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4 + len)?;
    std::str::from_utf8(name).ok().map(str::to_string)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, HostError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| HostError::Worker(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_stderr_keeps_no_partial_line() {
        let mut e = b"line one\nsecret=CANARY-sec".to_vec();
        cut_at_line(&mut e);
        assert_eq!(e, b"line one\n[... more stderr not shown]\n");
        let mut e = b"CANARY-sec".to_vec();
        cut_at_line(&mut e);
        assert_eq!(e, b"[... more stderr not shown]\n");
    }

    #[test]
    fn key_kind_reads_the_wire_format() {
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        assert_eq!(key_kind(&blob).as_deref(), Some("ssh-ed25519"));
        assert_eq!(key_kind(&[0, 0, 0, 99, 1]), None);
        assert_eq!(key_kind(&[]), None);
    }
}
