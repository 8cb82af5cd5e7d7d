//! The merged `openclaw.json` checked offline against the JSON schema the
//! pinned OpenClaw release prints (`openclaw config schema --json`,
//! vendored in `vendor/openclaw/<version>/config-schema.json` by
//! scripts/openclaw-schema.sh, with the channel plugins clawprov installs;
//! `tests/gateway_schema_vendored.rs` fails when the copy drifts from the
//! real package).
//!
//! Errors are reported at the stack field that wrote the offending key:
//! a key from `openclaw.settings` at its own line, one from a typed field
//! at that field.

use std::sync::OnceLock;

use serde_json::Value;

use super::ConfigError;
use crate::stack::Stack;

/// The vendored releases: (version, schema text).
const SCHEMAS: &[(&str, &str)] = &[(
    "2026.9.6",
    include_str!("../../vendor/openclaw/2026.9.6/config-schema.json"),
)];

/// The entry for `version`: its own, else the newest vendored release at or
/// below it (the supported range is one release line), else the oldest.
pub fn nearest<'a>(table: &'a [(&'a str, &'a str)], version: &str) -> (&'a str, &'a str) {
    if let Some(hit) = table.iter().find(|(v, _)| *v == version) {
        return *hit;
    }
    let key = |v: &str| -> Vec<u64> {
        v.split(['.', '-'])
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    table
        .iter()
        .filter(|(v, _)| key(v) <= key(version))
        .max_by_key(|(v, _)| key(v))
        .or(table.first())
        .copied()
        .unwrap_or(("", ""))
}

fn validator(version: &str) -> Result<&'static jsonschema::Validator, String> {
    static COMPILED: OnceLock<Vec<(&'static str, Result<jsonschema::Validator, String>)>> =
        OnceLock::new();
    let all = COMPILED.get_or_init(|| {
        SCHEMAS
            .iter()
            .map(|(v, text)| {
                let compiled = serde_json::from_str::<Value>(text)
                    .map_err(|e| format!("the vendored schema of {v} is not JSON: {e}"))
                    .and_then(|mut s| {
                        rebase_defs(&mut s, "");
                        portable(&mut s);
                        defaults_optional(&mut s);
                        jsonschema::validator_for(&s).map_err(|e| {
                            format!("the vendored schema of {v} does not compile: {e}")
                        })
                    });
                (*v, compiled)
            })
            .collect()
    });
    let (release, _) = nearest(SCHEMAS, version);
    match all.iter().find(|(v, _)| *v == release) {
        Some((_, Ok(v))) => Ok(v),
        Some((_, Err(e))) => Err(e.clone()),
        None => Err(format!("no vendored schema for OpenClaw {version}")),
    }
}

/// OpenClaw embeds each plugin's config schema whole, `$defs` and all, at
/// `plugins.entries.<id>.config`, but leaves the plugin's `#/$defs/...`
/// references relative to the plugin schema's own root. Point them at the
/// embedded `$defs`, as the plugin's schema means them.
fn rebase_defs(v: &mut Value, pointer: &str) {
    fn rewrite(v: &mut Value, base: &str) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get_mut("$ref") {
                    if let Some(rest) = r.strip_prefix("#/$defs/") {
                        *r = format!("#{base}/$defs/{rest}");
                    }
                }
                m.values_mut().for_each(|x| rewrite(x, base));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| rewrite(x, base)),
            _ => {}
        }
    }
    match v {
        Value::Object(m) => {
            if !pointer.is_empty() && m.contains_key("$defs") {
                rewrite(v, pointer);
                return;
            }
            for (k, x) in m.iter_mut() {
                let seg = k.replace('~', "~0").replace('/', "~1");
                rebase_defs(x, &format!("{pointer}/{seg}"));
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                rebase_defs(x, &format!("{pointer}/{i}"));
            }
        }
        _ => {}
    }
}

/// OpenClaw prints its zod schema in output form: a key with a `default`
/// is listed as `required`, because after parsing it always has a value.
/// A file being written is input, where OpenClaw fills the default in
/// (`openclaw config validate` accepts a Slack block without `postAs`), so
/// a defaulted key is taken off `required`.
fn defaults_optional(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let defaulted: Vec<String> = match m.get("properties") {
                Some(Value::Object(props)) => props
                    .iter()
                    .filter(|(_, p)| p.get("default").is_some())
                    .map(|(k, _)| k.clone())
                    .collect(),
                _ => vec![],
            };
            if let Some(Value::Array(req)) = m.get_mut("required") {
                req.retain(|r| !r.as_str().is_some_and(|r| defaulted.iter().any(|d| d == r)));
            }
            m.values_mut().for_each(defaults_optional);
        }
        Value::Array(a) => a.iter_mut().for_each(defaults_optional),
        _ => {}
    }
}

/// Rewrite the few ECMAScript regex forms in OpenClaw's schema that the
/// Rust engines refuse into what they mean for Rust strings: `\0` is
/// `\x00`, and `\p{Cs}` (lone surrogates) can never occur in a Rust
/// string, so excluding it excludes nothing.
fn portable(v: &mut Value) {
    fn fix(p: &str) -> String {
        p.replace("\\0", "\\x00")
            .replace("[^\\p{Cs}]", "[\\s\\S]")
            .replace("\\p{Cs}", "")
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::String(p)) = m.get_mut("pattern") {
                *p = fix(p);
            }
            if let Some(Value::Object(props)) = m.get_mut("patternProperties") {
                let fixed: serde_json::Map<String, Value> = std::mem::take(props)
                    .into_iter()
                    .map(|(k, v)| (fix(&k), v))
                    .collect();
                *props = fixed;
            }
            m.values_mut().for_each(portable);
        }
        Value::Array(a) => a.iter_mut().for_each(portable),
        _ => {}
    }
}

/// The release whose schema checks `version`.
pub fn release_for(version: &str) -> &'static str {
    nearest(SCHEMAS, version).0
}

/// Check `config` against the schema of the stack's release. The first
/// error (in document order) is reported.
pub fn check(stack: &Stack, config: &Value) -> Result<(), ConfigError> {
    let release = release_for(&stack.openclaw.version);
    let v = validator(&stack.openclaw.version).map_err(|e| {
        ConfigError::new(
            "openclaw.version",
            e,
            "rebuild clawprov; the vendored schema is part of it",
        )
    })?;
    let mut errors: Vec<(Vec<String>, String, String)> = v
        .iter_errors(config)
        .map(|e| {
            let mut path = segments(e.instance_path().as_str());
            let message = match e.kind() {
                jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                    if let Some(first) = unexpected.first() {
                        path.push(first.clone());
                    }
                    format!(
                        "unknown key{} {}",
                        if unexpected.len() > 1 { "s" } else { "" },
                        unexpected
                            .iter()
                            .map(|u| format!("`{u}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
                _ => e.to_string(),
            };
            (path, message, e.schema_path().as_str().to_string())
        })
        .collect();
    errors.sort_by(|a, b| a.0.cmp(&b.0));
    let Some((path, message, schema_path)) = errors.into_iter().next() else {
        return Ok(());
    };
    let key = path.join(".");
    let field = origin(stack, &path);
    Err(ConfigError::new(
        field,
        format!("openclaw.json `{key}`: {message}"),
        format!("OpenClaw {release}'s config schema refuses it (schema {schema_path}); see `openclaw config schema` or docs/gateway/configuration-reference.md"),
    ))
}

/// A JSON pointer's segments, unescaped.
fn segments(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The stack field that wrote the key at `path`: the settings' own entry
/// (as deep as the settings reach), else the typed field.
fn origin(stack: &Stack, path: &[String]) -> String {
    let mut field = String::from("openclaw.settings");
    let mut node = serde_yaml::Value::Mapping(stack.openclaw.settings.clone());
    let mut depth = 0;
    for seg in path {
        let next = match &node {
            serde_yaml::Value::Mapping(m) => m
                .iter()
                .find(|(k, _)| yaml_key(k).as_deref() == Some(seg.as_str()))
                .map(|(_, v)| (format!(".{seg}"), v.clone())),
            serde_yaml::Value::Sequence(s) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| s.get(i))
                .map(|v| (format!("[{seg}]"), v.clone())),
            _ => None,
        };
        match next {
            Some((part, v)) => {
                field.push_str(&part);
                node = v;
                depth += 1;
            }
            None => break,
        }
    }
    if depth > 0 {
        return field;
    }
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["agents", "defaults", "model", ..] => "openclaw.model".into(),
        ["models", "providers", id, ..] => format!("openclaw.providers.{id}"),
        ["channels", name, ..] => format!("openclaw.channels.{name}"),
        ["tools", ..] | ["session", ..] => "openclaw.tools".into(),
        ["gateway", "port"] => "openclaw.port".into(),
        _ => "openclaw".into(),
    }
}

fn yaml_key(k: &serde_yaml::Value) -> Option<String> {
    match k {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendored_schema_compiles() {
        for (v, _) in SCHEMAS {
            assert!(validator(v).is_ok(), "{v}: {:?}", validator(v).err());
        }
    }

    #[test]
    fn nearest_picks_the_release_at_or_below() {
        let t = [("2026.9.6", "a"), ("2026.9.9", "b")];
        assert_eq!(nearest(&t, "2026.9.6").1, "a");
        assert_eq!(nearest(&t, "2026.9.8").1, "a");
        assert_eq!(nearest(&t, "2026.9.12").1, "b");
        assert_eq!(nearest(&t, "2026.9.1").1, "a");
    }
}
