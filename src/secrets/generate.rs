//! Secrets clawprov makes itself: the gateway token and the operator SSH key.
//! Both come from the OS CSPRNG.

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use super::{Secret, VaultError};

/// 32 random bytes as 64 lowercase hex characters.
pub fn generate_gateway_token() -> Secret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(&mut *bytes);
    Secret::new(Zeroizing::new(hex::encode(*bytes)).as_str())
}

/// A new ed25519 key: (OpenSSH private key PEM, `ssh-ed25519 AAAA... comment`).
pub fn generate_ssh_key(comment: &str) -> Result<(Secret, String), VaultError> {
    let fail = |e: ssh_key::Error| VaultError::SshKeyGenerate {
        reason: e.to_string(),
    };
    let mut key =
        ssh_key::PrivateKey::random(&mut OsRng, ssh_key::Algorithm::Ed25519).map_err(fail)?;
    key.set_comment(comment);
    let private = key.to_openssh(ssh_key::LineEnding::LF).map_err(fail)?;
    let public = key.public_key().to_openssh().map_err(fail)?;
    Ok((Secret::new(private.as_str()), public))
}

/// The one-line public key (`ssh-ed25519 AAAA... comment`) of a stored
/// `ssh_private_key`. Errors never quote the key.
pub fn public_key_of(private_openssh: &Secret) -> Result<String, VaultError> {
    let key = ssh_key::PrivateKey::from_openssh(private_openssh.expose()).map_err(|_| {
        VaultError::SshKey {
            reason: "not a readable OpenSSH private key".into(),
        }
    })?;
    key.public_key()
        .to_openssh()
        .map_err(|_| VaultError::SshKey {
            reason: "cannot encode its public key".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_tokens_are_64_lowercase_hex_and_fresh() {
        let a = generate_gateway_token();
        let b = generate_gateway_token();
        for t in [&a, &b] {
            assert_eq!(t.expose().len(), 64);
            assert!(t
                .expose()
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
        assert_ne!(a, b);
    }

    #[test]
    fn a_generated_key_round_trips_through_public_key_of() {
        let (private, public) = generate_ssh_key("clawprov@test").unwrap();
        assert!(public.starts_with("ssh-ed25519 AAAA"), "{public}");
        assert!(public.ends_with(" clawprov@test"), "{public}");
        assert!(private
            .expose()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----\n"));
        assert_eq!(public_key_of(&private).unwrap(), public);
        crate::secrets::Recipient::parse(&public).unwrap();
    }

    #[test]
    fn public_key_of_garbage_does_not_quote_it() {
        let err = public_key_of(&Secret::new("CANARY-garbage-3")).unwrap_err();
        assert!(!err.to_string().contains("CANARY"));
        assert_eq!(err.kind(), crate::error::Kind::BadInput);
    }
}
