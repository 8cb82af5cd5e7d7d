//! The backup manifest's signature is OpenSSH's own format: `ssh-keygen -Y
//! verify` (a verifier nobody here wrote) accepts what `backup` signs, with
//! the signing key's public half and clawprov's namespace, and refuses the
//! same signature over a manifest changed by one byte.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use clawprov::backup::manifest::{Entry, Kind};
use clawprov::backup::signature::{self, NAMESPACE};
use clawprov::backup::Manifest;

fn ssh_keygen_verify(dir: &std::path::Path, message: &[u8]) -> std::process::Output {
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(dir.join("allowed_signers"))
        .args(["-I", "clawprov-backup", "-n", NAMESPACE, "-s"])
        .arg(dir.join("manifest.sig"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ssh-keygen runs");
    child.stdin.take().unwrap().write_all(message).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn ssh_keygen_verifies_what_backup_signs() {
    support::require_tool("ssh-keygen", "openssh-client");
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = clawprov::secrets::generate_ssh_key("clawprov-backup-t").unwrap();
    let mut manifest = Manifest::new(
        "gw",
        "/home/openclaw/.openclaw",
        "2026-12-06T10:00:00Z".into(),
        vec![
            Entry {
                path: String::new(),
                kind: Kind::Dir,
                mode: 0o700,
                size: 0,
                sha256: None,
            },
            Entry {
                path: "devices/paired.json".into(),
                kind: Kind::File,
                mode: 0o600,
                size: 2,
                sha256: Some("ab".repeat(32)),
            },
        ],
    );
    signature::sign(&mut manifest, &key).unwrap();
    std::fs::write(
        dir.path().join("manifest.sig"),
        manifest.signature.as_deref().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("allowed_signers"),
        format!("clawprov-backup {public}\n"),
    )
    .unwrap();
    let message = manifest.signed_bytes();
    let out = ssh_keygen_verify(dir.path(), &message);
    assert!(
        out.status.success(),
        "ssh-keygen -Y verify refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut altered = message.clone();
    let at = altered.len() / 2;
    altered[at] ^= 1;
    let out = ssh_keygen_verify(dir.path(), &altered);
    assert!(!out.status.success(), "an altered manifest verified");
}
