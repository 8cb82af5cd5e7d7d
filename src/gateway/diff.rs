//! Key-by-key differences between two `openclaw.json` values: what
//! `plan` shows for a change and `verify` for drift.

use serde::Serialize;
use serde_json::Value;

/// One key that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyChange {
    /// Dotted path (`channels.telegram.dmPolicy`, `tools.deny[2]`).
    pub key: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// The values, when both sides are clawprov's own (no secret can be in
    /// them); `None` when one side is the server's file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl std::fmt::Display for KeyChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mark = match self.change {
            "added" => "+",
            "removed" => "-",
            _ => "~",
        };
        write!(f, "{mark} {}", self.key)?;
        match (&self.from, &self.to) {
            (Some(a), Some(b)) => write!(f, ": {a} -> {b}"),
            (None, Some(b)) => write!(f, ": {b}"),
            (Some(a), None) => write!(f, " (was {a})"),
            (None, None) => Ok(()),
        }
    }
}

/// The leaf keys that differ from `old` to `new`. `show_values`: both are
/// clawprov-made (values shown, cut to 80 characters); otherwise only
/// keys, since the server's side may hold anything.
pub fn diff(old: &Value, new: &Value, show_values: bool) -> Vec<KeyChange> {
    let mut out = vec![];
    walk("", Some(old), Some(new), show_values, &mut out);
    out
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk(path: &str, a: Option<&Value>, b: Option<&Value>, show: bool, out: &mut Vec<KeyChange>) {
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(path, k), x.get(k), y.get(k), show, out);
            }
        }
        (Some(x), Some(y)) if x == y => {}
        (a, b) => {
            let change = match (a, b) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            };
            out.push(KeyChange {
                key: path.to_string(),
                change,
                from: a.filter(|_| show).map(short),
                to: b.filter(|_| show).map(short),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_leaf_and_hides_values_unless_asked() {
        let a = json!({"a": {"b": 1, "c": "x"}, "d": [1]});
        let b = json!({"a": {"b": 2}, "d": [1], "e": {"f": true}});
        let keys: Vec<String> = diff(&a, &b, true).iter().map(ToString::to_string).collect();
        assert_eq!(
            keys,
            ["~ a.b: 1 -> 2", "- a.c (was \"x\")", "+ e: {\"f\":true}"]
        );
        let hidden: Vec<String> = diff(&a, &b, false)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(hidden, ["~ a.b", "- a.c", "+ e"]);
    }
}
