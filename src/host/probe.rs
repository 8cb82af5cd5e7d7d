//! Proving the gateway takes the vault's token, not just that a port listens.
//!
//! OpenClaw 2026.9 starts with a generated runtime token when the configured
//! one is missing, so "it listens" proves nothing about auth. On the server,
//! as the admin user, `curl` calls the gateway's HTTP tool endpoint on
//! loopback four times: without a token and with a wrong one (both must be
//! 401), with the vault's token (200), and with the vault's token plus the
//! X-Forwarded-* headers Tailscale Serve always adds (200; 403 means the
//! gateway does not trust its loopback proxy and every tailnet request would
//! be refused).
//!
//! The `Authorization` header travels on curl's stdin (`-H @-`), never on a
//! command line. [`probes`] is public so the OpenClaw contract test runs the
//! exact same commands against the real gateway.

use std::time::Duration;

use zeroize::Zeroizing;

use super::command::RemoteCommand;
use super::session::Session;
use super::HostError;
use crate::secrets::Secret;

const TIMEOUT: Duration = Duration::from_secs(30);

/// How long a starting gateway may answer 5xx. OpenClaw 2026.9 listens a
/// few seconds before its tools are up and answers 500 ("sessions.list
/// unavailable during gateway startup") meanwhile.
pub const SETTLE: Duration = Duration::from_secs(90);
const SETTLE_POLL: Duration = Duration::from_millis(500);

/// An answer that means "not ready yet", not a verdict.
pub fn starting(status: u16) -> bool {
    status >= 500
}

/// A request body the gateway answers without side effects.
const BODY: &str = r#"{"tool":"sessions_list","args":{}}"#;

/// Which credential a probe sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    None,
    Wrong,
    Vault,
    /// The token a rotation replaced: refused once the gateway restarted.
    Retired,
}

/// One request and the status it must get.
pub struct Probe {
    /// What the probe shows, for messages ("the vault's token through Serve").
    pub what: &'static str,
    pub command: RemoteCommand,
    /// Header lines for `curl -H @-` (may hold the token).
    pub stdin: Zeroizing<Vec<u8>>,
    pub expect: u16,
    pub credential: Credential,
    pub forwarded: bool,
}

/// The four probes of the gateway on 127.0.0.1:`port`, as seen by the
/// tailnet name `fqdn`. `token` is the vault's `gateway_token`.
pub fn probes(port: u16, fqdn: &str, token: &Secret) -> Vec<Probe> {
    let wrong = hex::encode(rand::random::<[u8; 32]>());
    let cases: [(&'static str, Credential, bool, u16); 4] = [
        ("a request without a token", Credential::None, false, 401),
        (
            "a request with a wrong token",
            Credential::Wrong,
            false,
            401,
        ),
        (
            "a request with the vault's token",
            Credential::Vault,
            false,
            200,
        ),
        (
            "a request with the vault's token through Tailscale Serve (X-Forwarded-*)",
            Credential::Vault,
            true,
            200,
        ),
    ];
    cases
        .into_iter()
        .map(|(what, credential, forwarded, expect)| {
            let mut stdin = Zeroizing::new(Vec::new());
            let bearer = match credential {
                Credential::None => None,
                Credential::Wrong => Some(wrong.as_str()),
                Credential::Vault | Credential::Retired => Some(token.expose()),
            };
            if let Some(b) = bearer {
                stdin.extend_from_slice(b"Authorization: Bearer ");
                stdin.extend_from_slice(b.as_bytes());
                stdin.push(b'\n');
            }
            Probe {
                what,
                command: curl(port, fqdn, forwarded),
                stdin,
                expect,
                credential,
                forwarded,
            }
        })
        .collect()
}

fn curl(port: u16, fqdn: &str, forwarded: bool) -> RemoteCommand {
    let mut cmd = RemoteCommand::new("curl").args([
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "10",
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-H",
        "@-",
        "--data-binary",
        BODY,
    ]);
    if forwarded {
        // What Tailscale Serve sets on every proxied request.
        cmd = cmd.args([
            "-H".to_string(),
            "X-Forwarded-For: 100.100.100.100".to_string(),
            "-H".to_string(),
            "X-Forwarded-Proto: https".to_string(),
            "-H".to_string(),
            format!("X-Forwarded-Host: {fqdn}"),
        ]);
    }
    cmd.arg(format!("http://127.0.0.1:{port}/tools/invoke"))
}

/// The probe a token rotation adds: the token it replaced, refused (401),
/// through Serve's headers as a tailnet client would send it.
pub fn retired(port: u16, fqdn: &str, old: &Secret) -> Probe {
    let mut stdin = Zeroizing::new(Vec::new());
    stdin.extend_from_slice(b"Authorization: Bearer ");
    stdin.extend_from_slice(old.expose().as_bytes());
    stdin.push(b'\n');
    Probe {
        what: "a request with the token the rotation replaced, through Tailscale Serve (X-Forwarded-*)",
        command: curl(port, fqdn, true),
        stdin,
        expect: 401,
        credential: Credential::Retired,
        forwarded: true,
    }
}

/// Read curl's `-w %{http_code}` output.
pub fn status_of(stdout: &str) -> Option<u16> {
    stdout.trim().parse().ok().filter(|s| *s != 0)
}

/// Why a probe's answer is wrong, in words that point at the fix.
pub fn diagnose(probe: &Probe, got: u16) -> String {
    let fix = match (probe.credential, probe.forwarded, got) {
        (_, true, 403) => {
            "the gateway refuses its loopback proxy (OpenClaw's \
             `proxy_attribution_required`): openclaw.json needs \
             gateway.trustedProxies [\"127.0.0.1\", \"::1\"]"
        }
        (Credential::Vault, _, 401) => {
            "the gateway does not accept the vault's gateway_token: it runs with \
             another token (a stale env file, or OpenClaw's generated token because \
             OPENCLAW_GATEWAY_TOKEN did not reach it)"
        }
        (Credential::None | Credential::Wrong, _, 200) => {
            "the gateway accepts requests without the right token: its auth is off"
        }
        (Credential::Retired, _, 200) => {
            "the gateway still takes the replaced token: it did not restart with the new env \
             file, or the token also reaches it another way (openclaw.json, its own config)"
        }
        (_, _, s) if starting(s) => "the gateway kept failing requests after it started",
        _ => "unexpected answer from the gateway",
    };
    format!(
        "{} got HTTP {got}, expected {}: {fix}",
        probe.what, probe.expect
    )
}

/// Run every probe on the server; the first wrong answer is an error.
pub async fn check(
    session: &Session,
    port: u16,
    fqdn: &str,
    token: &Secret,
) -> Result<usize, HostError> {
    run(session, probes(port, fqdn, token)).await
}

/// [`check`], and the replaced token `old` refused.
pub async fn check_rotated(
    session: &Session,
    port: u16,
    fqdn: &str,
    token: &Secret,
    old: &Secret,
) -> Result<usize, HostError> {
    let mut all = probes(port, fqdn, token);
    all.push(retired(port, fqdn, old));
    run(session, all).await
}

async fn run(session: &Session, all: Vec<Probe>) -> Result<usize, HostError> {
    let settled_by = std::time::Instant::now() + SETTLE;
    for probe in &all {
        let got = loop {
            let out = session
                .check(&probe.command, Some(probe.stdin.clone()), TIMEOUT)
                .await?;
            let got = status_of(&out.stdout).ok_or_else(|| HostError::Unexpected {
                command: probe.command.to_string(),
                detail: format!("not an HTTP status: {:?}", out.stdout.trim()),
            })?;
            if !starting(got) || std::time::Instant::now() >= settled_by {
                break got;
            }
            tokio::time::sleep(SETTLE_POLL).await;
        };
        if got != probe.expect {
            return Err(HostError::Gateway(diagnose(probe, got)));
        }
    }
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_on_stdin_only() {
        let token = Secret::new("CANARY-probe-token");
        for p in probes(18789, "gw.tail1.ts.net", &token) {
            let line = p.command.line().expect("line");
            assert!(!line.contains("CANARY"), "{line}");
            let stdin = String::from_utf8(p.stdin.to_vec()).unwrap();
            assert_eq!(
                stdin.contains("CANARY-probe-token"),
                p.credential == Credential::Vault,
                "{}",
                p.what
            );
            assert!(line.contains("'http://127.0.0.1:18789/tools/invoke'"));
            assert_eq!(
                line.contains("X-Forwarded-Host: gw.tail1.ts.net"),
                p.forwarded
            );
        }
    }

    #[test]
    fn answers_are_read_and_explained() {
        assert_eq!(status_of("200"), Some(200));
        assert_eq!(status_of("000"), None);
        assert_eq!(status_of(""), None);
        let token = Secret::new("t");
        let all = probes(1, "h", &token);
        assert!(diagnose(&all[3], 403).contains("trustedProxies"));
        assert!(diagnose(&all[2], 401).contains("gateway_token"));
        assert!(diagnose(&all[0], 200).contains("auth is off"));
    }
}
