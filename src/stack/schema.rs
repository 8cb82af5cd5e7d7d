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
    /// A mapping whose keys are names the user chooses (a provider id, a
    /// chat's id), each holding the inner shape.
    Names(&'static Shape),
    /// Free-form YAML (OpenClaw's own settings): mappings, lists and values
    /// at any depth up to the outline's nesting cap, checked later against
    /// OpenClaw's schema.
    Free,
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

/// `token: {secret: VAULT_KEY}`: a secret is only ever named, never written.
pub const SECRET_REF: &[(&str, Shape)] = &[("secret", Shape::Value)];

const MODEL: &[(&str, Shape)] = &[("primary", Shape::Value), ("fallbacks", Shape::List)];

const PROVIDER: &[(&str, Shape)] = &[
    ("base_url", Shape::Value),
    ("api", Shape::Value),
    ("api_key", Shape::Map(SECRET_REF)),
    ("models", Shape::List),
];

const GROUP: &[(&str, Shape)] = &[("require_mention", Shape::Value)];

const CHANNEL: &[(&str, Shape)] = &[
    ("token", Shape::Map(SECRET_REF)),
    ("app_token", Shape::Map(SECRET_REF)),
    ("dm", Shape::Value),
    ("allow_from", Shape::List),
    ("groups", Shape::Names(&Shape::Map(GROUP))),
];

const CHANNELS: &[(&str, Shape)] = &[
    ("telegram", Shape::Map(CHANNEL)),
    ("discord", Shape::Map(CHANNEL)),
    ("slack", Shape::Map(CHANNEL)),
];

const ENDPOINT: &[(&str, Shape)] = &[("url_allowlist", Shape::List)];

const HTTP: &[(&str, Shape)] = &[
    ("files", Shape::Map(ENDPOINT)),
    ("images", Shape::Map(ENDPOINT)),
];

const TOOLS: &[(&str, Shape)] = &[
    ("baseline", Shape::Value),
    ("allow", Shape::List),
    ("deny", Shape::List),
    ("http", Shape::Map(HTTP)),
];

const OPENCLAW: &[(&str, Shape)] = &[
    ("version", Shape::Value),
    ("lock", Shape::Value),
    ("port", Shape::Value),
    ("model", Shape::Map(MODEL)),
    ("providers", Shape::Names(&Shape::Map(PROVIDER))),
    ("channels", Shape::Map(CHANNELS)),
    ("tools", Shape::Map(TOOLS)),
    ("settings", Shape::Free),
];

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
    ("rotation", Shape::Names(&Shape::Value)),
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
            match shape {
                Shape::Map(inner) => schema_paths(&path, inner, out),
                Shape::Names(Shape::Map(inner)) => {
                    out.push(format!("{path}.*"));
                    schema_paths(&format!("{path}.*"), inner, out);
                }
                Shape::Names(_) => out.push(format!("{path}.*")),
                _ => {}
            }
        }
    }

    /// Collect the key paths serde writes for a fully populated model.
    fn model_paths(prefix: &str, value: &serde_yaml::Value, out: &mut Vec<String>) {
        if let serde_yaml::Value::Mapping(map) = value {
            for (k, v) in map {
                let k = k.as_str().unwrap_or_default();
                // Names the user chooses stand as `*`; settings are free.
                let k = if prefix == "openclaw.providers"
                    || prefix.ends_with(".groups")
                    || prefix == "rotation"
                {
                    "*"
                } else {
                    k
                };
                if prefix == "openclaw.settings" {
                    continue;
                }
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
            openclaw: {
                let channel = crate::stack::Channel {
                    token: Some(crate::stack::SecretRef {
                        secret: "a_token".into(),
                    }),
                    app_token: Some(crate::stack::SecretRef {
                        secret: "b_token".into(),
                    }),
                    groups: [("1".to_string(), crate::stack::Group::default())].into(),
                    ..Default::default()
                };
                let endpoint = Some(crate::stack::Endpoint::default());
                crate::stack::OpenClaw {
                    providers: [(
                        "local".to_string(),
                        crate::stack::CustomProvider {
                            base_url: "https://x".into(),
                            api: "openai-completions".into(),
                            api_key: Some(crate::stack::SecretRef {
                                secret: "c_key".into(),
                            }),
                            models: vec![],
                        },
                    )]
                    .into(),
                    channels: crate::stack::Channels {
                        telegram: Some(channel.clone()),
                        discord: Some(channel.clone()),
                        slack: Some(channel),
                    },
                    tools: crate::stack::Tools {
                        http: crate::stack::Http {
                            files: endpoint.clone(),
                            images: endpoint,
                        },
                        ..Default::default()
                    },
                    ..Default::default()
                }
            },
            node: Default::default(),
            host: Default::default(),
            secrets: crate::stack::SecretsConfig {
                file: Some("x.age".into()),
                ..Default::default()
            },
            rotation: [("gateway_token".to_string(), "30d".to_string())].into(),
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
