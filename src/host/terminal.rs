//! A remote command (or login shell) wired to this process's stdin, stdout
//! and stderr, for `clawprov ssh` and `clawprov openclaw`.
//!
//! Two ways, chosen by the caller:
//! - [`Wiring::Terminal`]: a PTY on the node (`pty-req` with `$TERM` and
//!   the local window size, resized when the local window changes), the
//!   local terminal in raw mode (so Ctrl-C, Ctrl-D and arrow keys reach the
//!   remote program), restored on every way out, panics included, by
//!   [`RawMode`]'s `Drop`;
//! - [`Wiring::Pipes`]: no PTY; stdout and stderr kept apart and relayed as
//!   they arrive, stdin forwarded (then EOF), each output optionally
//!   passed through [`ScrubbedWriter`] so no vault value is printed.
//!
//! Both relay both ways at once (libssh2 in non-blocking mode, `poll(2)`
//! on stdin and the session's socket) until the remote side closes, and
//! return the remote exit status (128+N for a remote death by signal N,
//! as a shell reports it).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::time::Duration;

use super::command::RemoteCommand;
use super::scrubbed::ScrubbedWriter;
use super::session::Session;
use super::HostError;
use crate::secrets::Vault;

/// How the remote program meets the local one.
#[derive(Debug, Clone)]
pub enum Wiring {
    Terminal,
    /// Outputs scrubbed of the vault's values when one is given; local
    /// stdin forwarded when `stdin` (else the remote side gets EOF at once).
    Pipes {
        scrub: Option<Vault>,
        stdin: bool,
    },
}

impl Wiring {
    /// What a user's command on the node gets: a PTY when clawprov runs on
    /// a terminal, else pipes with stdin forwarded and vault values
    /// scrubbed from the output.
    pub fn for_user(on_terminal: bool, vault: &Vault) -> Wiring {
        if on_terminal {
            Wiring::Terminal
        } else {
            Wiring::Pipes {
                scrub: Some(vault.clone()),
                stdin: true,
            }
        }
    }
}

/// A program run for the user ended with a status other than 0: that
/// status becomes clawprov's (`Kind::Remote`).
#[derive(Debug, thiserror::Error)]
#[error("`{command}` on the node exited with status {status}")]
pub struct RemoteExit {
    pub command: String,
    pub status: i32,
}

impl From<RemoteExit> for crate::error::Error {
    fn from(e: RemoteExit) -> Self {
        crate::error::Error::new(crate::error::Kind::Remote(e.status), e)
    }
}

/// What runs: the admin user's login shell, or a command.
pub enum Program<'a> {
    Shell,
    Command(&'a RemoteCommand),
}

/// Poll interval when neither side has anything to say.
const IDLE: Duration = Duration::from_millis(50);

/// Run `program` on the node wired as `wiring` says; its exit status.
pub async fn run(
    session: &Session,
    program: Program<'_>,
    wiring: Wiring,
) -> Result<i32, HostError> {
    let (line, name) = match program {
        Program::Shell => (None, "login shell".to_string()),
        Program::Command(c) => (Some(c.line()?), c.to_string()),
    };
    let (ssh, target) = session.raw();
    let ssh = ssh.clone();
    let target = target.to_string();
    tokio::task::spawn_blocking(move || relay(&ssh, line, &name, &target, wiring))
        .await
        .map_err(|e| HostError::Worker(e.to_string()))?
}

fn relay(
    ssh: &ssh2::Session,
    line: Option<String>,
    name: &str,
    target: &str,
    wiring: Wiring,
) -> Result<i32, HostError> {
    let fail = |stage: &'static str| {
        move |e: ssh2::Error| HostError::Ssh {
            target: target.to_string(),
            stage,
            detail: format!("`{name}`: {}", e.message()),
        }
    };
    let io_fail = |stage: &'static str| {
        move |e: io::Error| HostError::Ssh {
            target: target.to_string(),
            stage,
            detail: format!("`{name}`: {e}"),
        }
    };
    // The session's read timeout would end a quiet interactive shell.
    ssh.set_timeout(0);
    let mut channel = ssh.channel_session().map_err(fail("open channel"))?;
    let terminal = matches!(wiring, Wiring::Terminal);
    let mut size = window_size();
    let _raw = if terminal {
        let term = std::env::var("TERM").unwrap_or_else(|_| "xterm-256color".into());
        channel
            .request_pty(&term, None, Some((size.0, size.1, 0, 0)))
            .map_err(fail("pty"))?;
        Some(RawMode::enter().map_err(io_fail("raw mode"))?)
    } else {
        None
    };
    match &line {
        Some(line) => channel.exec(line).map_err(fail("exec"))?,
        None => channel.shell().map_err(fail("shell"))?,
    }
    let (scrub, forward_stdin) = match &wiring {
        Wiring::Pipes { scrub, stdin } => (scrub.clone(), *stdin),
        Wiring::Terminal => (None, true),
    };
    let mut out = ScrubbedWriter::new(io::stdout(), scrub.clone());
    let mut err = ScrubbedWriter::new(io::stderr(), scrub);

    ssh.set_blocking(false);
    let result = (|| -> Result<(), HostError> {
        let mut buf = vec![0u8; 32 * 1024];
        let mut pending: Vec<u8> = Vec::new();
        let mut stdin_open = forward_stdin;
        let mut eof_sent = false;
        let (mut out_done, mut err_done) = (false, false);
        loop {
            let mut busy = false;
            if !out_done {
                match channel.read(&mut buf) {
                    Ok(0) => out_done = channel.eof(),
                    Ok(n) => {
                        out.write_all(&buf[..n]).map_err(io_fail("stdout"))?;
                        out.flush().map_err(io_fail("stdout"))?;
                        busy = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(io_fail("stdout")(e)),
                }
            }
            if !err_done {
                match channel.stderr().read(&mut buf) {
                    Ok(0) => err_done = channel.eof(),
                    Ok(n) => {
                        err.write_all(&buf[..n]).map_err(io_fail("stderr"))?;
                        err.flush().map_err(io_fail("stderr"))?;
                        busy = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(io_fail("stderr")(e)),
                }
            }
            if out_done && err_done {
                return Ok(());
            }
            if terminal {
                let now = window_size();
                if now != size && channel.request_pty_size(now.0, now.1, None, None).is_ok() {
                    size = now;
                }
            }
            if stdin_open && pending.is_empty() && readable(0, Duration::ZERO) {
                let n = read_stdin(&mut buf).map_err(io_fail("stdin"))?;
                if n == 0 {
                    stdin_open = false;
                } else {
                    pending.extend_from_slice(&buf[..n]);
                }
                busy = true;
            }
            if !pending.is_empty() {
                match channel.write(&pending) {
                    Ok(n) => {
                        pending.drain(..n);
                        busy = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // The remote program stopped reading (exited): its
                    // output and status still count.
                    Err(_) => {
                        pending.clear();
                        stdin_open = false;
                    }
                }
            }
            if !stdin_open && pending.is_empty() && !eof_sent {
                match channel.send_eof() {
                    Ok(()) => eof_sent = true,
                    Err(e) if e.code() == ssh2::ErrorCode::Session(-37) => {}
                    Err(_) => eof_sent = true,
                }
            }
            if !busy {
                let watch_stdin = stdin_open && pending.is_empty();
                wait(watch_stdin, ssh.as_raw_fd(), IDLE);
            }
        }
    })();
    out.flush().map_err(io_fail("stdout"))?;
    err.flush().map_err(io_fail("stderr"))?;
    ssh.set_blocking(true);
    result?;
    channel.wait_close().map_err(fail("close"))?;
    let status = channel.exit_status().map_err(fail("exit status"))?;
    let signal = channel
        .exit_signal()
        .ok()
        .and_then(|s| s.exit_signal)
        .map(|name| 128 + signal_number(&name));
    Ok(signal.unwrap_or(status))
}

/// `read(2)` on stdin, unbuffered (std's `Stdin` buffers, and a buffered
/// byte would hide from `poll`).
fn read_stdin(buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// True when `fd` has input (or hung up) within `timeout`.
fn readable(fd: i32, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as i32) };
    n > 0 && p.revents != 0
}

/// Sleep until stdin (if watched) or the SSH socket has something, or
/// `timeout` passes.
fn wait(stdin: bool, socket: i32, timeout: Duration) {
    let mut fds = vec![libc::pollfd {
        fd: socket,
        events: libc::POLLIN,
        revents: 0,
    }];
    if stdin {
        fds.push(libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        });
    }
    // SAFETY: fds is a valid array of fds.len() pollfds.
    unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            timeout.as_millis() as i32,
        )
    };
}

/// The local window's (columns, rows), 80x24 when unknown.
fn window_size() -> (u32, u32) {
    // SAFETY: TIOCGWINSZ fills one winsize.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0
        || unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 && ws.ws_row > 0 {
        (u32::from(ws.ws_col), u32::from(ws.ws_row))
    } else {
        (80, 24)
    }
}

/// A signal's number from its name as SSH reports it (`TERM`, `KILL`).
fn signal_number(name: &str) -> i32 {
    match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        _ => 127,
    }
}

/// The local terminal in raw mode until dropped (then as it was).
struct RawMode {
    saved: libc::termios,
}

impl RawMode {
    fn enter() -> io::Result<RawMode> {
        // SAFETY: tcgetattr/tcsetattr on fd 0 with valid termios structs.
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            if libc::tcsetattr(0, libc::TCSANOW, &raw) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(RawMode { saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the attributes read in `enter`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remote_death_by_signal_reads_as_a_shell_reports_it() {
        assert_eq!(128 + signal_number("TERM"), 143);
        assert_eq!(128 + signal_number("SIGKILL"), 137);
        assert_eq!(128 + signal_number("WINCH?"), 255);
    }
}
