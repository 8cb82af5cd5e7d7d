//! How two trees differ, package by package: between the lock a server
//! runs and the one it is moving to (`plan`), or between a lock and the
//! tree installed on the server (`verify`).

use std::collections::BTreeMap;

use serde::Serialize;

/// Packages by install path (`node_modules/a/node_modules/b`) ->
/// `name@version`.
pub type Tree = BTreeMap<String, String>;

/// What changes from one tree to another. Each entry names the install
/// path and the package (`node_modules/x: x@1.0.0`, a change
/// `node_modules/x: x@1.0.0 -> x@1.1.0`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LockDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl LockDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// `3 added, 1 removed, 12 changed`.
    pub fn counts(&self) -> String {
        format!(
            "{} added, {} removed, {} changed",
            self.added.len(),
            self.removed.len(),
            self.changed.len()
        )
    }
}

/// From `from` to `to`; a path in `from` that `may_lack` says may be
/// missing (an optional package of another platform) is not "removed".
pub fn diff(from: &Tree, to: &Tree, may_lack: impl Fn(&str) -> bool) -> LockDiff {
    let mut d = LockDiff::default();
    for (path, old) in from {
        match to.get(path) {
            None if !may_lack(path) => d.removed.push(format!("{path}: {old}")),
            Some(new) if new != old => d.changed.push(format!("{path}: {old} -> {new}")),
            _ => {}
        }
    }
    for (path, new) in to {
        if !from.contains_key(path) {
            d.added.push(format!("{path}: {new}"));
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(entries: &[(&str, &str)]) -> Tree {
        entries
            .iter()
            .map(|(p, v)| (p.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn counts_each_kind_of_change() {
        let a = tree(&[
            ("node_modules/a", "a@1"),
            ("node_modules/b", "b@1"),
            ("node_modules/o", "o@1"),
        ]);
        let b = tree(&[
            ("node_modules/a", "a@2"),
            ("node_modules/c", "c@1"),
            ("node_modules/o", "o@1"),
        ]);
        let d = diff(&a, &b, |_| false);
        assert_eq!(d.changed, ["node_modules/a: a@1 -> a@2"]);
        assert_eq!(d.removed, ["node_modules/b: b@1"]);
        assert_eq!(d.added, ["node_modules/c: c@1"]);
        assert_eq!(d.counts(), "1 added, 1 removed, 1 changed");
        assert!(diff(&a, &a, |_| false).is_empty());
        assert!(diff(
            &a,
            &tree(&[("node_modules/a", "a@1"), ("node_modules/o", "o@1")]),
            |p| p == "node_modules/b"
        )
        .is_empty());
    }
}
