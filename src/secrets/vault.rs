//! The decrypted vault: secret name -> value, in memory only.

use std::collections::BTreeMap;
use std::fmt;

use super::record::{Record, SetAt, RECORD_KEY};
use super::{Secret, VaultError};

/// The secret names clawprov knows. [`Vault::set`] accepts only these, so a
/// typo (`hcloud_tokn`) is an error instead of a secret nobody reads.
pub const KNOWN_KEYS: &[&str] = &[
    "hcloud_token",
    "tailscale_auth_key",
    "tailscale_oauth_client_id",
    "tailscale_oauth_client_secret",
    "tailscale_api_token",
    "claude_setup_token",
    "anthropic_api_key",
    "gateway_token",
    "ssh_private_key",
    "backup_signing_key",
    "telegram_bot_token",
    "discord_bot_token",
    "slack_bot_token",
    "slack_app_token",
    "openai_api_key",
    "openrouter_api_key",
    "gemini_api_key",
];

/// Endings of the secrets a stack names itself (`{secret: KEY}` in
/// `openclaw.settings`, a custom provider's key): any name-shaped key with
/// one of these is stored, so `hcloud_tokn` is still refused.
pub const CUSTOM_KEY_ENDINGS: &[&str] = &["_token", "_key", "_secret", "_password"];

/// The secrets whose values are multi-line (OpenSSH private keys).
const MULTILINE_KEYS: &[&str] = &[
    "ssh_private_key",
    "backup_signing_key",
    PENDING_SSH_PRIVATE_KEY,
];

/// A new gateway token a `rotate gateway-token` has made but not yet seen
/// the gateway take: kept beside the current one until it is proven, so an
/// interrupted rotation never leaves the user without a working token.
pub const PENDING_GATEWAY_TOKEN: &str = "pending_gateway_token";
/// The same for `rotate ssh-key`: the new admin key, until it logs in.
pub const PENDING_SSH_PRIVATE_KEY: &str = "pending_ssh_private_key";
/// Names only clawprov's rotations write (`secrets set` refuses them).
pub const RESERVED_KEYS: &[&str] = &[PENDING_GATEWAY_TOKEN, PENDING_SSH_PRIVATE_KEY, RECORD_KEY];

/// Largest accepted value. Real tokens are < 1 KiB; an ed25519 key ~400 B.
/// The cap keeps a pasted file from silently becoming a "token".
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// Secrets by name. `Debug` lists the names only.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Vault {
    entries: BTreeMap<String, Secret>,
    record: Record,
}

impl Vault {
    pub fn new() -> Self {
        Vault::default()
    }

    pub fn get(&self, key: &str) -> Option<&Secret> {
        self.entries.get(key)
    }

    /// Store `value` under `key`, replacing any previous value. Rejects names
    /// outside [`KNOWN_KEYS`] and values that could not be delivered intact
    /// (empty, NUL, line breaks in a one-line token, oversized). A new
    /// value is dated now; the same value again keeps its date.
    pub fn set(&mut self, key: &str, value: Secret) -> Result<(), VaultError> {
        check_key(key)?;
        self.store(key, value)
    }

    /// [`set`](Vault::set) for the names only clawprov's rotations write
    /// ([`RESERVED_KEYS`]) as well as the others.
    pub fn set_internal(&mut self, key: &str, value: Secret) -> Result<(), VaultError> {
        if !RESERVED_KEYS.contains(&key) {
            check_key(key)?;
        }
        self.store(key, value)
    }

    fn store(&mut self, key: &str, value: Secret) -> Result<(), VaultError> {
        check_value(key, &value)?;
        if self.entries.get(key) != Some(&value) || !self.record.set.contains_key(key) {
            self.record.set.insert(key.to_string(), SetAt::now());
        }
        self.entries.insert(key.to_string(), value);
        Ok(())
    }

    /// Move `from`'s value (and date: a pending value is dated when it was
    /// made) to `to`, which loses its own. Whether `from` was there.
    pub fn promote(&mut self, from: &str, to: &str) -> bool {
        let Some(value) = self.entries.remove(from) else {
            return false;
        };
        let at = self.record.set.remove(from).unwrap_or_else(SetAt::now);
        self.entries.insert(to.to_string(), value);
        self.record.set.insert(to.to_string(), at);
        true
    }

    /// When `key` got its value, if the vault knows.
    pub fn set_at(&self, key: &str) -> Option<SetAt> {
        self.record.set.get(key).copied()
    }

    /// Date `key` (tests and imports of an existing date).
    pub fn date(&mut self, key: &str, at: SetAt) {
        if self.entries.contains_key(key) {
            self.record.set.insert(key.to_string(), at);
        }
    }

    /// Date every secret that has no date yet with `now`, marked
    /// [`SetAt::first_seen`]: a vault from before dates were recorded.
    /// The names dated.
    pub fn date_unknown(&mut self, now: i64) -> Vec<String> {
        let missing: Vec<String> = self
            .entries
            .keys()
            .filter(|k| !self.record.set.contains_key(*k))
            .cloned()
            .collect();
        for k in &missing {
            self.record.set.insert(
                k.clone(),
                SetAt {
                    at: now,
                    first_seen: true,
                },
            );
        }
        missing
    }

    /// The record (dates, delivery, rotation state): no secret in it.
    pub fn record(&self) -> &Record {
        &self.record
    }

    pub fn record_mut(&mut self) -> &mut Record {
        &mut self.record
    }

    /// The same keys, each value replaced by `[redacted:KEY]`: files made
    /// from it keep their shape (JSON stays JSON) and hold no secret. Only
    /// for showing what would be written; never delivered.
    pub fn placeholders(&self) -> Vault {
        Vault {
            entries: self
                .entries
                .keys()
                .map(|k| (k.clone(), Secret::new(format!("[redacted:{k}]").as_str())))
                .collect(),
            record: self.record.clone(),
        }
    }

    /// Remove `key`; whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        self.record.set.remove(key);
        self.entries.remove(key).is_some()
    }

    /// The names present, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Name/value pairs, for serializing the vault before encryption.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &Secret)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Insert an entry read from a vault file. Unknown but well-formed names
    /// are kept (a newer clawprov may have written them, and rewriting the
    /// vault must not drop them); values follow the same rules as [`set`].
    ///
    /// [`set`]: Vault::set
    pub(crate) fn insert_decoded(&mut self, key: String, value: Secret) -> Result<(), String> {
        if !is_name_shaped(&key) {
            return Err("a secret name is not lowercase letters, digits and `_`".into());
        }
        check_value(&key, &value).map_err(|e| e.to_string())?;
        if key == RECORD_KEY {
            self.record = Record::parse(value.expose())?;
            return Ok(());
        }
        self.entries.insert(key, value);
        Ok(())
    }

    /// The record's plaintext entry, for serializing (`None`: nothing to
    /// record, as in a vault from before dates).
    pub(crate) fn record_entry(&self) -> Option<(&'static str, String)> {
        (self.record != Record::default()).then(|| (RECORD_KEY, self.record.text()))
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("keys", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// `[a-z][a-z0-9_]{0,63}`: what a secret name looks like.
fn is_name_shaped(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some('a'..='z'))
        && key.len() <= 64
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// A name a stack may give its own secret (see [`CUSTOM_KEY_ENDINGS`]).
pub fn is_custom_key(key: &str) -> bool {
    is_name_shaped(key)
        && CUSTOM_KEY_ENDINGS
            .iter()
            .any(|e| key.len() > e.len() && key.ends_with(e))
}

/// Whether `key` is a name the vault stores. Commands call this before
/// asking for a value nobody could store.
pub fn check_key(key: &str) -> Result<(), VaultError> {
    if RESERVED_KEYS.contains(&key) {
        return Err(VaultError::ReservedKey {
            name: key.to_string(),
        });
    }
    if KNOWN_KEYS.contains(&key) || is_custom_key(key) {
        return Ok(());
    }
    Err(if is_name_shaped(key) {
        VaultError::UnknownKey {
            name: key.to_string(),
        }
    } else {
        // Do not echo it: something that is not name-shaped may be
        // a secret pasted in the wrong place.
        VaultError::InvalidKeyName
    })
}

fn check_value(key: &str, value: &Secret) -> Result<(), VaultError> {
    let text = value.expose();
    let invalid = |reason| VaultError::InvalidValue {
        name: key.to_string(),
        reason,
    };
    if text.trim().is_empty() {
        return Err(invalid("the value is empty"));
    }
    if text.len() > MAX_VALUE_BYTES {
        return Err(invalid("the value is larger than 64 KiB"));
    }
    if text.contains('\0') {
        return Err(invalid("the value contains a NUL byte"));
    }
    if !MULTILINE_KEYS.contains(&key) && (text.contains('\n') || text.contains('\r')) {
        return Err(invalid(
            "the value contains a line break (only the OpenSSH private keys ssh_private_key and backup_signing_key may span lines)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_accepts_every_known_key_and_get_returns_it() {
        let mut v = Vault::new();
        for (i, k) in KNOWN_KEYS.iter().enumerate() {
            v.set(k, Secret::new(format!("value-{i}"))).unwrap();
        }
        assert_eq!(v.len(), KNOWN_KEYS.len());
        assert_eq!(v.get("gateway_token").unwrap().expose(), "value-7");
        let mut sorted: Vec<&str> = KNOWN_KEYS.to_vec();
        sorted.sort();
        assert_eq!(v.keys().collect::<Vec<_>>(), sorted);
    }

    #[test]
    fn a_typo_is_rejected_with_the_known_names_as_hint() {
        let err = Vault::new()
            .set("hcloud_tokn", Secret::new("x"))
            .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("hcloud_tokn"), "{msg}");
        assert!(msg.contains("hcloud_token"), "{msg}");
        assert!(msg.contains("discord_bot_token"), "{msg}");
        assert_eq!(err.kind(), crate::error::Kind::BadInput);
    }

    #[test]
    fn a_name_that_looks_like_a_value_is_not_echoed() {
        let err = Vault::new()
            .set("sk-ant-CANARY-91x", Secret::new("x"))
            .unwrap_err();
        assert!(matches!(err, VaultError::InvalidKeyName));
        assert!(!err.to_string().contains("CANARY"));
    }

    #[test]
    fn values_are_checked() {
        let mut v = Vault::new();
        for bad in ["", "  ", "a\0b", "line\nbreak", "cr\rhere"] {
            assert!(
                v.set("hcloud_token", Secret::new(bad)).is_err(),
                "{bad:?} accepted"
            );
        }
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert!(v.set("hcloud_token", Secret::new(big)).is_err());
        let max = "x".repeat(MAX_VALUE_BYTES);
        v.set("hcloud_token", Secret::new(max)).unwrap();
        v.set(
            "ssh_private_key",
            Secret::new("-----BEGIN\nabc\n-----END\n"),
        )
        .unwrap();
    }

    #[test]
    fn remove_reports_presence() {
        let mut v = Vault::new();
        v.set("gateway_token", Secret::new("t")).unwrap();
        assert!(v.remove("gateway_token"));
        assert!(!v.remove("gateway_token"));
        assert!(v.is_empty());
    }

    #[test]
    fn debug_lists_names_only() {
        let mut v = Vault::new();
        v.set("hcloud_token", Secret::new("CANARY-debug-77"))
            .unwrap();
        let d = format!("{v:?}");
        assert_eq!(d, r#"Vault { keys: ["hcloud_token"] }"#);
    }
}
