//! The shape of a stack file: which keys exist at which level, and whether
//! each holds a mapping, a list of values, or one value.
//!
//! The outline scan checks the document against this before serde sees it,
//! so unknown keys, wrong nesting and runaway structures are reported with
//! the exact key and a "did you mean" hint. `model.rs` is the source of
//! truth; a unit test keeps the two in step.

/// What a key may hold.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A mapping with exactly these keys (all optional at this level; serde
    /// reports the required ones that are missing).
    Map(&'static [(&'static str, Shape)]),
    /// A list of single values.
    List,
    /// One value (string, number or boolean).
    Value,
}

const PROTECTION: &[(&str, Shape)] = &[("delete", Shape::Value), ("rebuild", Shape::Value)];

const HETZNER: &[(&str, Shape)] = &[
    ("location", Shape::Value),
    ("server_type", Shape::Value),
    ("image", Shape::Value),
    ("backups", Shape::Value),
    ("protection", Shape::Map(PROTECTION)),
    ("public_ipv4", Shape::Value),
    ("public_ipv6", Shape::Value),
];

const TAILSCALE: &[(&str, Shape)] = &[
    ("tailnet", Shape::Value),
    ("hostname", Shape::Value),
    ("tags", Shape::List),
    ("auth", Shape::Value),
    ("version", Shape::Value),
];

const OPENCLAW: &[(&str, Shape)] = &[("version", Shape::Value), ("port", Shape::Value)];

const NODE: &[(&str, Shape)] = &[
    ("version", Shape::Value),
    ("nvm_version", Shape::Value),
    ("nvm_sha256", Shape::Value),
];

const HOST: &[(&str, Shape)] = &[
    ("admin_user", Shape::Value),
    ("service_user", Shape::Value),
    ("authorized_keys", Shape::List),
    ("reboot_time", Shape::Value),
];

const SECRETS: &[(&str, Shape)] = &[
    ("file", Shape::Value),
    ("recipients", Shape::List),
    ("passphrase", Shape::Value),
];

/// The top level of a stack file.
pub const STACK: &[(&str, Shape)] = &[
    ("name", Shape::Value),
    ("hetzner", Shape::Map(HETZNER)),
    ("tailscale", Shape::Map(TAILSCALE)),
    ("openclaw", Shape::Map(OPENCLAW)),
    ("node", Shape::Map(NODE)),
    ("host", Shape::Map(HOST)),
    ("secrets", Shape::Map(SECRETS)),
];

/// The key in `keys` closest to `unknown`, if it is close enough to be a
/// plausible typo (edit distance <= 2, or one is a prefix of the other).
pub fn nearest<'a>(unknown: &str, keys: &[(&'a str, Shape)]) -> Option<&'a str> {
    let unknown = unknown.to_ascii_lowercase();
    keys.iter()
        .map(|(k, _)| (*k, edit_distance(&unknown, k)))
        .filter(|(k, d)| {
            *d <= 2 || (unknown.len() >= 3 && (k.starts_with(&unknown) || unknown.starts_with(k)))
        })
        .min_by_key(|(_, d)| *d)
        .map(|(k, _)| k)
}

/// The valid keys, for a hint.
pub fn listing(keys: &[(&str, Shape)]) -> String {
    keys.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
}

/// Levenshtein distance on chars; inputs here are short (keys are capped).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Collect the schema's key paths.
    fn schema_paths(prefix: &str, keys: &[(&str, Shape)], out: &mut Vec<String>) {
        for (k, shape) in keys {
            let path = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            out.push(path.clone());
            if let Shape::Map(inner) = shape {
                schema_paths(&path, inner, out);
            }
        }
    }

    /// Collect the key paths serde writes for a fully populated model.
    fn model_paths(prefix: &str, value: &serde_yaml::Value, out: &mut Vec<String>) {
        if let serde_yaml::Value::Mapping(map) = value {
            for (k, v) in map {
                let k = k.as_str().unwrap_or_default();
                let path = if prefix.is_empty() {
                    k.to_string()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push(path.clone());
                model_paths(&path, v, out);
            }
        }
    }

    #[test]
    fn schema_matches_the_model() {
        let stack = crate::stack::Stack {
            name: "x".into(),
            hetzner: Default::default(),
            tailscale: crate::stack::Tailscale {
                tailnet: "a.b".into(),
                hostname: "h".into(),
                tags: vec![],
                auth: Default::default(),
                version: Some("1.90.8".into()),
            },
            openclaw: Default::default(),
            node: Default::default(),
            host: Default::default(),
            secrets: crate::stack::SecretsConfig {
                file: Some("x.age".into()),
                ..Default::default()
            },
        };
        let value = serde_yaml::to_value(&stack).expect("model serializes");
        let mut model = Vec::new();
        model_paths("", &value, &mut model);
        let mut schema = Vec::new();
        schema_paths("", STACK, &mut schema);
        model.sort();
        schema.sort();
        assert_eq!(model, schema);
    }

    #[test]
    fn nearest_suggests_typos_only() {
        assert_eq!(nearest("tagz", TAILSCALE), Some("tags"));
        assert_eq!(nearest("server-type", HETZNER), Some("server_type"));
        assert_eq!(nearest("hostnam", TAILSCALE), Some("hostname"));
        assert_eq!(nearest("zzzzzzzz", TAILSCALE), None);
    }
}
