//! The rendered `#cloud-config` document.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// What stands in for the Tailscale auth key in [`UserData::redacted`].
pub const REDACTED: &str = "[redacted]";

/// Hetzner's limit on `user_data` in `POST /servers`, in bytes.
pub const MAX_USER_DATA: usize = 32 * 1024;

/// Number of hex characters of [`UserData::fingerprint`]: 128 bits, short
/// enough for a Hetzner label value (<= 63 characters).
pub const FINGERPRINT_HEX_LEN: usize = 32;

/// Rendered user-data. It holds the Tailscale auth key, so `Debug` shows
/// only its length and fingerprint, and the text is zeroed on drop.
pub struct UserData {
    text: Zeroizing<String>,
    redacted: String,
    fingerprint: String,
    keyed_fingerprint: String,
    previous_fingerprint: String,
}

impl UserData {
    /// `redacted` must be the same rendering with the auth key replaced by
    /// [`REDACTED`], `basis` the redacted rendering with what the host
    /// phase owns held fixed ([`super::HOST_OWNED`]), `previous_basis`
    /// the same rendered by the previous bootstrap generation;
    /// [`super::render`] produces them from one template set.
    pub(crate) fn new(
        text: String,
        redacted: String,
        basis: &str,
        keyed_basis: &str,
        previous_basis: &str,
    ) -> Self {
        let hash = |text: &str| {
            let mut fingerprint = hex::encode(Sha256::digest(text.as_bytes()));
            fingerprint.truncate(FINGERPRINT_HEX_LEN);
            fingerprint
        };
        UserData {
            text: Zeroizing::new(text),
            redacted,
            fingerprint: hash(basis),
            keyed_fingerprint: hash(keyed_basis),
            previous_fingerprint: hash(previous_basis),
        }
    }

    /// The full text including the auth key: only for the create-server
    /// request (and `render --show-secrets`).
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The text with the auth key replaced by `[redacted]`: safe to print,
    /// log or store.
    pub fn redacted(&self) -> String {
        self.redacted.clone()
    }

    /// Lowercase hex of the first 128 bits of sha256 of the redacted text
    /// rendered with the Node and OpenClaw versions held fixed.
    ///
    /// It changes with every stack or template change that only a new
    /// server can apply, and stays the same when only the auth key is
    /// rotated (a new key alone is no reason to replace a server) or the
    /// release changes (the host phase upgrades in place). Fit for a
    /// Hetzner label.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// The [`fingerprint`](Self::fingerprint) as this generation took it
    /// before the operator keys were held fixed: how `plan` recognises a
    /// server labelled then (and `up` relabels it).
    pub fn keyed_fingerprint(&self) -> String {
        self.keyed_fingerprint.clone()
    }

    /// The [`fingerprint`](Self::fingerprint) this stack's user-data had
    /// under the previous bootstrap generation
    /// ([`super::PREVIOUS_GENERATION`]): how `plan` recognises a server
    /// that generation set up for this very stack.
    pub fn previous_fingerprint(&self) -> String {
        self.previous_fingerprint.clone()
    }

    /// Size in bytes of the full text (what counts against Hetzner's limit).
    pub fn len(&self) -> usize {
        self.text.len()
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl fmt::Debug for UserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserData")
            .field("len", &self.len())
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}
