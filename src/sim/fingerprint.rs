//! The MD5 fingerprint Hetzner shows for an SSH key (`aa:bb:..`), computed
//! from the key blob (not a security use: it is what the API reports).

use base64::Engine;
use md5::{Digest, Md5};

/// `md5(blob)` as colon-separated hex, or `None` when the key is not
/// `TYPE BASE64 [comment]` with a blob that parses as that key type.
pub fn ssh_fingerprint(public_key: &str) -> Option<String> {
    ssh_key::PublicKey::from_openssh(public_key.trim()).ok()?;
    let blob_b64 = public_key.split_whitespace().nth(1)?;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(blob_b64)
        .ok()?;
    let digest = Md5::digest(&blob);
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_ssh_keygen_md5() {
        // `ssh-keygen -l -E md5 -f` on this key prints this fingerprint.
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbAq2p5L4g5907fL9lRcd2FvZF44gmr2yPxD4+EGQzu alice@laptop";
        assert_eq!(ssh_fingerprint(key).as_deref(), Some(EXPECTED));
    }

    const EXPECTED: &str = "63:53:a4:3b:ce:85:fe:25:0c:e7:5d:74:3e:1a:b4:70";

    #[test]
    fn rejects_non_keys() {
        assert_eq!(ssh_fingerprint("not a key"), None);
        assert_eq!(ssh_fingerprint("ssh-ed25519 AAAA"), None);
    }
}
