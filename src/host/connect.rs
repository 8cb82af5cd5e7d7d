//! Reaching the node and opening the SSH session, retried together.
//!
//! A TCP accept is not an sshd: behind a port forward (`--ssh-host`), or
//! while cloud-init restarts sshd, the port accepts before anything there
//! speaks SSH, and the handshake fails (`Failed getting banner`) or times
//! out. Such a failure is retried, connect and handshake both, with backoff
//! until the reach deadline. What retrying cannot fix stops at once: a host
//! key that differs from the pin, a refused login, a peer outside the
//! tailnet.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::address::PeerPolicy;
use super::known_hosts::KnownHosts;
use super::progress::{HostStep, Progress};
use super::session::{Opened, Session};
use super::target::{self, Target};
use super::HostError;
use crate::secrets::Secret;

const BACKOFF_FIRST: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(8);

/// Who logs in where, and until when.
pub struct Login<'a> {
    pub target: &'a Target,
    pub policy: PeerPolicy,
    pub known_hosts: &'a Path,
    /// The Hetzner server's id, when known: the host key is pinned for it.
    pub server: Option<i64>,
    pub user: &'a str,
    pub key: &'a Secret,
    /// For reaching the port and completing the handshake, together.
    pub deadline: Duration,
}

/// The SSH handshake failed in a way a later attempt may not.
fn transient(e: &HostError) -> bool {
    matches!(
        e,
        HostError::Ssh {
            stage: "handshake" | "session",
            ..
        }
    )
}

/// Reach the node and log in; retry handshakes that came too early.
pub async fn connect(
    login: Login<'_>,
    progress: &dyn Progress,
) -> Result<(SocketAddr, Session, Opened), HostError> {
    let start = Instant::now();
    let mut pause = BACKOFF_FIRST;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let left = login.deadline.saturating_sub(start.elapsed());
        let (addr, stream) = target::reach(login.target, login.policy, left, progress).await?;
        if attempt == 1 {
            progress.finished(
                HostStep::Reach,
                &format!("{} answers at {addr}", login.target),
            );
            progress.started(HostStep::Connect);
        }
        let opened = Session::open(
            stream,
            login.target.to_string(),
            login.target.known_hosts_name(),
            KnownHosts::new(login.known_hosts),
            login.server,
            login.user.to_string(),
            login.key.clone(),
        )
        .await;
        match opened {
            Ok((session, opened)) => return Ok((addr, session, opened)),
            Err(e) if transient(&e) && start.elapsed() + pause < login.deadline => {
                progress.detail(
                    HostStep::Connect,
                    &format!(
                        "attempt {attempt}: {e}; the port accepts but sshd is not answering \
                         yet, retrying in {:.1} s",
                        pause.as_secs_f64()
                    ),
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(BACKOFF_MAX);
            }
            Err(e) => return Err(e),
        }
    }
}
