//! How old each credential is, against the stack's `rotation:` policy, and
//! who can replace it: clawprov by itself (`rotate gateway-token`,
//! `ssh-key`, `tailscale-key`) or the user, at the issuer first.

use serde::Serialize;

use crate::secrets::{SetAt, Vault, RESERVED_KEYS};
use crate::stack::{Stack, TAILSCALE_NODE_KEY};

/// Who replaces a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// A `clawprov rotate` command makes the new value itself.
    Clawprov,
    /// The new value comes from its issuer (Hetzner, Tailscale, a model or
    /// chat provider): the user makes it there and hands it to clawprov.
    User,
}

/// One credential's age.
#[derive(Debug, Clone, Serialize)]
pub struct Age {
    /// The vault key (or [`TAILSCALE_NODE_KEY`]).
    pub key: String,
    /// `YYYY-MM-DD` it got its value (UTC).
    pub set: String,
    pub age_days: i64,
    /// The vault held it before dates were recorded: the age counts from
    /// the first time this clawprov opened the vault.
    pub counted_from_first_open: bool,
    /// From the stack's `rotation:` (or the default); `None`: no limit.
    pub max_days: Option<u32>,
    /// Older than `max_days`.
    pub due: bool,
    pub by: By,
    /// What replaces it.
    pub how: String,
}

impl Age {
    /// `gateway_token 12 days (set 2026-11-25), max 90`, with the
    /// first-open note.
    pub fn summary(&self) -> String {
        let limit = match self.max_days {
            Some(m) => format!("max {m}"),
            None => "no max".into(),
        };
        let first = if self.counted_from_first_open {
            ", counted from when clawprov first opened the vault: it records no earlier date"
        } else {
            ""
        };
        format!(
            "{} days (set {}{first}), {limit}{}",
            self.age_days,
            self.set,
            if self.due { ": DUE" } else { "" }
        )
    }
}

/// The command that rotates `key` by itself, when clawprov can.
pub fn clawprov_command(key: &str) -> Option<&'static str> {
    match key {
        "gateway_token" => Some("clawprov rotate gateway-token"),
        "ssh_private_key" => Some("clawprov rotate ssh-key"),
        TAILSCALE_NODE_KEY => Some("clawprov rotate tailscale-key"),
        _ => None,
    }
}

/// What the user does for a credential clawprov cannot make.
pub fn user_steps(key: &str) -> String {
    match key {
        "hcloud_token" => "make a new Read & Write token in the Hetzner Console (the project, \
            Security, API tokens), then `clawprov rotate hcloud-token` (it checks the token sees \
            this stack), then delete the old token there"
            .into(),
        "tailscale_oauth_client_id" | "tailscale_oauth_client_secret" => {
            "make a new OAuth client in the Tailscale admin console (Settings, OAuth clients; \
             scopes auth_keys and devices:core, the stack's tags), `clawprov secrets set \
             tailscale_oauth_client_id` and `tailscale_oauth_client_secret`, then delete the \
             old client there"
                .into()
        }
        "tailscale_api_token" | "tailscale_auth_key" => format!(
            "make a new one in the Tailscale admin console (Settings, Keys), `clawprov secrets \
             set {key}`, then revoke the old one there"
        ),
        "backup_signing_key" => "`clawprov secrets set backup_signing_key` with a new OpenSSH \
            ed25519 key (backups made before stay signed by the old one)"
            .into(),
        _ => format!(
            "make a new one at its provider, `clawprov secrets set {key}`, then `clawprov up` \
             (plan names the env file change; up delivers it and restarts the gateway), then \
             revoke the old one at the provider"
        ),
    }
}

/// Every credential of the stack's vault, in key order, then the node's
/// tailnet key when the vault records it. `now` in Unix seconds.
pub fn ages(stack: &Stack, vault: &Vault, now: i64) -> Vec<Age> {
    let mut out: Vec<Age> = vault
        .keys()
        .filter(|k| !RESERVED_KEYS.contains(k))
        .map(|k| {
            let at = vault.set_at(k).unwrap_or(SetAt {
                at: now,
                first_seen: true,
            });
            age(stack, k, at, now)
        })
        .collect();
    if let Some(at) = vault.record().tailscale_node_key {
        out.push(age(stack, TAILSCALE_NODE_KEY, at, now));
    }
    out
}

fn age(stack: &Stack, key: &str, at: SetAt, now: i64) -> Age {
    let age_days = at.age_days(now);
    let max_days = stack.max_age_days(key);
    let (by, how) = match clawprov_command(key) {
        Some(c) => (By::Clawprov, format!("`{c}`")),
        None => (By::User, user_steps(key)),
    };
    Age {
        key: key.to_string(),
        set: at.date(),
        age_days,
        counted_from_first_open: at.first_seen,
        max_days,
        due: max_days.is_some_and(|m| age_days > i64::from(m)),
        by,
        how,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn stack(rotation: &str) -> Stack {
        let yaml = format!("name: s\ntailscale:\n  tailnet: t.ts.net\n  hostname: h\n{rotation}");
        crate::stack::parse(yaml.as_bytes(), std::path::Path::new("s.yaml")).unwrap()
    }

    const DAY: i64 = 86_400;

    #[test]
    fn defaults_overrides_off_and_first_open() {
        let mut v = Vault::new();
        for k in [
            "gateway_token",
            "ssh_private_key",
            "hcloud_token",
            "anthropic_api_key",
        ] {
            v.set(k, Secret::new("x")).unwrap();
        }
        let now = 1000 * DAY;
        let old = |d: i64| SetAt {
            at: now - d * DAY,
            first_seen: false,
        };
        v.date("gateway_token", old(91));
        v.date("ssh_private_key", old(365));
        v.date("hcloud_token", old(400));
        v.date(
            "anthropic_api_key",
            SetAt {
                at: now - 40 * DAY,
                first_seen: true,
            },
        );
        let a = ages(&stack(""), &v, now);
        let by_key = |k: &str| a.iter().find(|x| x.key == k).unwrap().clone();
        assert!(by_key("gateway_token").due, "91 > 90");
        assert!(!by_key("ssh_private_key").due, "365 is not past 365");
        assert_eq!(by_key("hcloud_token").max_days, None);
        assert!(!by_key("hcloud_token").due);
        assert!(by_key("anthropic_api_key").counted_from_first_open);
        assert!(by_key("anthropic_api_key")
            .summary()
            .contains("first opened"));
        assert_eq!(by_key("gateway_token").by, By::Clawprov);
        assert_eq!(by_key("hcloud_token").by, By::User);
        assert!(by_key("hcloud_token").how.contains("rotate hcloud-token"));

        let a = ages(
            &stack("rotation:\n  gateway_token: off\n  anthropic_api_key: 30d\n"),
            &v,
            now,
        );
        let by_key = |k: &str| a.iter().find(|x| x.key == k).unwrap().clone();
        assert!(!by_key("gateway_token").due);
        assert_eq!(by_key("gateway_token").max_days, None);
        assert!(by_key("anthropic_api_key").due);
        assert!(by_key("anthropic_api_key")
            .how
            .contains("secrets set anthropic_api_key"));
    }

    #[test]
    fn pending_values_and_the_record_are_not_credentials_but_the_node_key_is() {
        let mut v = Vault::new();
        v.set("gateway_token", Secret::new("x")).unwrap();
        v.set_internal(crate::secrets::PENDING_GATEWAY_TOKEN, Secret::new("y"))
            .unwrap();
        v.record_mut().tailscale_node_key = Some(SetAt {
            at: 0,
            first_seen: false,
        });
        let keys: Vec<String> = ages(&stack(""), &v, 10)
            .into_iter()
            .map(|a| a.key)
            .collect();
        assert_eq!(keys, ["gateway_token", TAILSCALE_NODE_KEY]);
    }
}
