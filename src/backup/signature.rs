//! Who made a backup. An archive is sealed to the vault's recipients, whose
//! *public* keys are all it takes to make one: sealing says who can open
//! it, not who wrote it. So `backup` signs the manifest (which names every
//! entry's sha256 and is checked against every entry) with the vault's
//! `backup_signing_key`, an ed25519 key, in OpenSSH's signature format
//! (`ssh-keygen -Y sign`, namespace [`NAMESPACE`]); `restore` refuses an
//! archive whose signature does not verify against the vault's key.
//!
//! What is signed: the manifest's JSON with its `signature` field left out,
//! as [`Manifest::signed_bytes`] writes it.

use ssh_key::{HashAlg, LineEnding, PrivateKey, SshSig};

use super::manifest::Manifest;
use crate::secrets::Secret;

/// The vault key holding the signing key (an OpenSSH ed25519 private key,
/// made by `init`, or by the first `backup` of a vault without one).
pub const SIGNING_KEY: &str = "backup_signing_key";

/// The SSHSIG namespace: a signature made for anything else never passes.
pub const NAMESPACE: &str = "clawprov-backup@v1";

/// Why a manifest's signature was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("the vault's {SIGNING_KEY} is not a readable OpenSSH ed25519 private key")]
    BadKey,
    #[error("cannot sign the manifest: {0}")]
    Sign(String),
    #[error("it carries no signature (made before clawprov signed backups, or altered)")]
    Missing,
    #[error("its signature is not one clawprov makes (OpenSSH SSHSIG, armored)")]
    Unreadable,
    #[error("its signature does not verify with the vault's {SIGNING_KEY}: it was altered, or made with another key")]
    Invalid,
}

fn key(signing_key: &Secret) -> Result<PrivateKey, SignatureError> {
    let key = PrivateKey::from_openssh(signing_key.expose()).map_err(|_| SignatureError::BadKey)?;
    if key.algorithm() != ssh_key::Algorithm::Ed25519 {
        return Err(SignatureError::BadKey);
    }
    Ok(key)
}

/// `manifest` with its signature set.
pub fn sign(manifest: &mut Manifest, signing_key: &Secret) -> Result<(), SignatureError> {
    let key = key(signing_key)?;
    manifest.signature = None;
    let sig = key
        .sign(NAMESPACE, HashAlg::Sha512, &manifest.signed_bytes())
        .map_err(|e| SignatureError::Sign(e.to_string()))?;
    let pem = sig
        .to_pem(LineEnding::LF)
        .map_err(|e| SignatureError::Sign(e.to_string()))?;
    manifest.signature = Some(pem);
    Ok(())
}

/// Whether `manifest` was signed with the public half of `signing_key`.
pub fn verify(manifest: &Manifest, signing_key: &Secret) -> Result<(), SignatureError> {
    let key = key(signing_key)?;
    let pem = manifest
        .signature
        .as_deref()
        .ok_or(SignatureError::Missing)?;
    let sig = SshSig::from_pem(pem).map_err(|_| SignatureError::Unreadable)?;
    key.public_key()
        .verify(NAMESPACE, &manifest.signed_bytes(), &sig)
        .map_err(|_| SignatureError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::manifest::{Entry, Kind};

    fn manifest() -> Manifest {
        Manifest::new(
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
                    path: "a".into(),
                    kind: Kind::File,
                    mode: 0o600,
                    size: 1,
                    sha256: Some("00".repeat(32)),
                },
            ],
        )
    }

    fn new_key() -> Secret {
        crate::secrets::generate_ssh_key("t").unwrap().0
    }

    #[test]
    fn a_signed_manifest_verifies_with_its_key_only_and_not_once_altered() {
        let k = new_key();
        let mut m = manifest();
        assert!(matches!(verify(&m, &k), Err(SignatureError::Missing)));
        sign(&mut m, &k).unwrap();
        verify(&m, &k).unwrap();
        // Through its JSON, as restore reads it.
        let parsed = Manifest::parse(&serde_json::to_vec_pretty(&m).unwrap()).unwrap();
        verify(&parsed, &k).unwrap();
        assert!(matches!(
            verify(&m, &new_key()),
            Err(SignatureError::Invalid)
        ));
        let mut altered = m.clone();
        altered.entries[1].sha256 = Some("11".repeat(32));
        assert!(matches!(verify(&altered, &k), Err(SignatureError::Invalid)));
        let mut altered = m.clone();
        altered.stack = "other".into();
        assert!(matches!(verify(&altered, &k), Err(SignatureError::Invalid)));
        let mut garbled = m.clone();
        garbled.signature = Some("not a signature".into());
        assert!(matches!(
            verify(&garbled, &k),
            Err(SignatureError::Unreadable)
        ));
    }
}
