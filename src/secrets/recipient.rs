//! age recipients as they appear in a stack file: `age1...` (X25519) or an
//! OpenSSH `ssh-ed25519 AAAA... [comment]` public key.

use std::str::FromStr;

/// A recipient that parsed. Keeps the text as written, for listing and
/// for writing back into the stack file.
pub struct Recipient {
    text: String,
    inner: Box<dyn age::Recipient + Send + Sync>,
}

impl Recipient {
    /// Parse one recipient. The error is a short reason, without the input
    /// (the caller names the field and location).
    pub fn parse(text: &str) -> Result<Recipient, String> {
        let trimmed = text.trim();
        if trimmed.starts_with("age1") {
            let r = age::x25519::Recipient::from_str(trimmed)
                .map_err(|e| format!("not a valid age X25519 recipient ({e})"))?;
            return Ok(Recipient {
                text: trimmed.to_string(),
                inner: Box::new(r),
            });
        }
        if trimmed.starts_with("ssh-ed25519 ") {
            let r = age::ssh::Recipient::from_str(trimmed)
                .map_err(|e| format!("not a valid ssh-ed25519 public key ({e:?})"))?;
            return Ok(Recipient {
                text: trimmed.to_string(),
                inner: Box::new(r),
            });
        }
        if trimmed.starts_with("ssh-") {
            return Err("only ssh-ed25519 SSH keys are accepted as recipients".into());
        }
        Err("expected an age recipient (age1...) or an ssh-ed25519 public key".into())
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn as_age(&self) -> &(dyn age::Recipient + Send + Sync) {
        &*self.inner
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Recipient").field(&self.text).finish()
    }
}
