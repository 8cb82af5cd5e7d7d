//! What the vault records about its secrets besides their values: when each
//! was set or rotated, which of them the server last received, and the
//! state an interrupted rotation left. No secret is in it, but it lives
//! inside the encrypted vault (one entry, [`RECORD_KEY`], a one-line JSON
//! object), so it travels and is versioned with the secrets it describes,
//! and a vault shows nobody when its keys were last changed.
//!
//! An older clawprov keeps the entry as an unknown, well-formed name (see
//! [`super::Vault`]), so the record survives a write by it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The plaintext entry that holds the record.
pub const RECORD_KEY: &str = "clawprov_record";

/// When a secret got its current value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetAt {
    /// Unix seconds, UTC.
    pub at: i64,
    /// The vault held the secret before it recorded dates: `at` is when
    /// this clawprov first opened the vault, not when the value was set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub first_seen: bool,
}

impl SetAt {
    pub fn now() -> SetAt {
        SetAt {
            at: now(),
            first_seen: false,
        }
    }

    /// Whole days from `at` to `now` (0 for a date in the future).
    pub fn age_days(&self, now: i64) -> i64 {
        (now - self.at).max(0) / 86_400
    }

    /// `2026-12-07` (UTC).
    pub fn date(&self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.at)
            .map(|t| format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()))
            .unwrap_or_else(|_| "(bad date)".into())
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The record. Unknown fields (a newer clawprov's) are kept as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Secret name -> when it got its current value.
    #[serde(default)]
    pub set: BTreeMap<String, SetAt>,
    /// The env file's secrets the server last took, each with the
    /// [`SetAt::at`] of the value delivered (`None`: not known, a vault
    /// from before the record, or no host phase yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered: Option<BTreeMap<String, i64>>,
    /// `rotate ssh-key` made a new key current; this old public key is
    /// still to be removed from the node and from Hetzner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_ssh_key: Option<String>,
    /// When the node last joined the tailnet with a key clawprov minted
    /// (`up` on a new server, `rotate tailscale-key`): the age of the
    /// node's tailnet key, which no vault value holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tailscale_node_key: Option<SetAt>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl Record {
    /// Parse the entry's text. The error never quotes it.
    pub fn parse(text: &str) -> Result<Record, String> {
        serde_json::from_str(text).map_err(|e| {
            format!(
                "the entry {RECORD_KEY} (clawprov's record of when each secret was set) is not \
                 valid (line {}, column {})",
                e.line(),
                e.column()
            )
        })
    }

    /// One line of JSON: the vault's rule for a value that is not a key.
    pub fn text(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_unknown_fields() {
        let text = r#"{"set":{"gateway_token":{"at":100},"hcloud_token":{"at":5,"first_seen":true}},"future":[1]}"#;
        let r = Record::parse(text).unwrap();
        assert_eq!(r.set["gateway_token"].at, 100);
        assert!(r.set["hcloud_token"].first_seen);
        assert_eq!(r.other["future"], serde_json::json!([1]));
        let again = Record::parse(&r.text()).unwrap();
        assert_eq!(again, r);
        assert!(!r.text().contains('\n'));
    }

    #[test]
    fn a_bad_record_is_named_without_quoting_it() {
        let e = Record::parse(r#"{"set":"CANARY-record"}"#).unwrap_err();
        assert!(e.contains(RECORD_KEY), "{e}");
        assert!(!e.contains("CANARY"), "{e}");
    }

    #[test]
    fn ages_are_whole_days() {
        let s = SetAt {
            at: 0,
            first_seen: false,
        };
        assert_eq!(s.age_days(86_399), 0);
        assert_eq!(s.age_days(86_400 * 91), 91);
        assert_eq!(s.age_days(-5), 0);
        assert_eq!(s.date(), "1970-01-01");
    }
}
