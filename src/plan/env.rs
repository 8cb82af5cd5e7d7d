//! Which of the env file's secrets the server has: the vault records, per
//! key, the date of the value last delivered ([`Record::delivered`]), so
//! `plan` can say, without SSH, that the env file will change, which keys
//! (never values), and that the gateway restarts.
//!
//! [`Record::delivered`]: crate::secrets::Record::delivered

use std::collections::BTreeMap;

use serde::Serialize;

use crate::host::gateway_secrets;
use crate::secrets::Vault;
use crate::stack::Stack;

/// The env file's secrets as the vault has them now: key -> date.
fn current(vault: &Vault, stack: &Stack) -> BTreeMap<String, i64> {
    gateway_secrets(stack)
        .into_iter()
        .filter(|k| vault.get(k).is_some())
        .map(|k| {
            let at = vault.set_at(&k).map(|s| s.at).unwrap_or(0);
            (k, at)
        })
        .collect()
}

/// Record that the server now has the env file the vault makes.
pub fn mark(vault: &mut Vault, stack: &Stack) {
    let now = current(vault, stack);
    vault.record_mut().delivered = Some(now);
}

/// Whether [`mark`] would change the record (so a caller writes the vault
/// only then).
pub fn is_marked(vault: &Vault, stack: &Stack) -> bool {
    vault.record().delivered.as_ref() == Some(&current(vault, stack))
}

/// How the env file the vault makes differs from the one last delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EnvChange {
    /// Keys whose value changed since it was delivered.
    pub changed: Vec<String>,
    /// Keys the server does not have yet.
    pub added: Vec<String>,
    /// Keys the server has that the env file no longer holds.
    pub removed: Vec<String>,
}

impl EnvChange {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }

    /// `anthropic_api_key changed, telegram_bot_token added`.
    pub fn summary(&self) -> String {
        let mut parts = vec![];
        for (list, what) in [
            (&self.changed, "changed"),
            (&self.added, "added"),
            (&self.removed, "removed"),
        ] {
            for k in list {
                parts.push(format!("{k} {what}"));
            }
        }
        parts.join(", ")
    }
}

/// The change, when the vault records what was delivered (`None`: it does
/// not, and `up` compares on the server as it always does).
pub fn change(vault: &Vault, stack: &Stack) -> Option<EnvChange> {
    let had = vault.record().delivered.as_ref()?;
    let now = current(vault, stack);
    let mut c = EnvChange::default();
    for (k, at) in &now {
        match had.get(k) {
            None => c.added.push(k.clone()),
            Some(h) if h != at => c.changed.push(k.clone()),
            Some(_) => {}
        }
    }
    c.removed = had
        .keys()
        .filter(|k| !now.contains_key(*k))
        .cloned()
        .collect();
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{Secret, SetAt};

    fn stack() -> Stack {
        let yaml = "name: s\ntailscale:\n  tailnet: t.ts.net\n  hostname: h\n";
        crate::stack::parse(yaml.as_bytes(), std::path::Path::new("s.yaml")).unwrap()
    }

    #[test]
    fn names_the_keys_that_changed_were_added_or_removed() {
        let s = stack();
        let mut v = Vault::new();
        v.set("gateway_token", Secret::new("a")).unwrap();
        v.set("anthropic_api_key", Secret::new("b")).unwrap();
        assert_eq!(change(&v, &s), None, "nothing recorded: not known");
        mark(&mut v, &s);
        assert!(is_marked(&v, &s));
        assert!(change(&v, &s).unwrap().is_empty());
        v.date(
            "anthropic_api_key",
            SetAt {
                at: 42,
                first_seen: false,
            },
        );
        v.set("claude_setup_token", Secret::new("c")).unwrap();
        v.remove("gateway_token");
        let c = change(&v, &s).unwrap();
        assert_eq!(c.changed, ["anthropic_api_key"]);
        assert_eq!(c.added, ["claude_setup_token"]);
        assert_eq!(c.removed, ["gateway_token"]);
        assert!(!is_marked(&v, &s));
        assert_eq!(
            c.summary(),
            "anthropic_api_key changed, claude_setup_token added, gateway_token removed"
        );
    }
}
