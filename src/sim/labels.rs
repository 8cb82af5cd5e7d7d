//! Labels and label selectors, with Hetzner's (Kubernetes-style) rules.
//! Keys and values are checked on every write; selectors are parsed once per
//! list request and matched against each resource's labels.

use std::collections::BTreeMap;

use serde_json::Value;

use super::error::{ApiError, ApiResult};

pub type Labels = BTreeMap<String, String>;

/// Why a label key/value or a selector was refused.
fn name_part_ok(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

fn dns_subdomain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b.len() <= 63
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// A label key: `[prefix/]name`, prefix a DNS subdomain, name <= 63 chars.
pub fn key_ok(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => dns_subdomain_ok(prefix) && name_part_ok(name),
        None => name_part_ok(key),
    }
}

/// A label value: empty, or <= 63 chars, alphanumeric at both ends, `-_.` inside.
pub fn value_ok(value: &str) -> bool {
    value.is_empty() || name_part_ok(value)
}

/// Checks the `labels` object of a request body and returns it typed.
/// `hetzner.cloud/` keys are reserved for Hetzner itself.
pub fn parse_labels(v: Option<&Value>) -> ApiResult<Labels> {
    let mut out = Labels::new();
    let Some(v) = v else { return Ok(out) };
    if v.is_null() {
        return Ok(out);
    }
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::invalid_field("labels", "labels must be an object"))?;
    for (k, val) in obj {
        let val = val.as_str().ok_or_else(|| {
            ApiError::invalid_field("labels", format!("label '{k}' must be a string"))
        })?;
        if !key_ok(k) || k.starts_with("hetzner.cloud/") {
            return Err(ApiError::invalid_field(
                "labels",
                format!("label key '{k}' is invalid"),
            ));
        }
        if !value_ok(val) {
            return Err(ApiError::invalid_field(
                "labels",
                format!("label value '{val}' of '{k}' is invalid"),
            ));
        }
        out.insert(k.clone(), val.to_string());
    }
    Ok(out)
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Requirement {
    fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::NotEquals(k, v) => labels.get(k) != Some(v),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::NotExists(k) => !labels.contains_key(k),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
        }
    }
}

/// A parsed label selector: every requirement must hold (comma = AND).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector(pub Vec<Requirement>);

impl Selector {
    /// Parses `k=v,k2!=v,k3,!k4,k5 in (a,b),k6 notin (c)`. An invalid selector
    /// is `invalid_input` on the `label_selector` field.
    pub fn parse(text: &str) -> ApiResult<Selector> {
        let bad = |why: String| ApiError::invalid_field("label_selector", why);
        let mut reqs = Vec::new();
        for part in split_top_level(text).map_err(bad)? {
            reqs.push(parse_requirement(part.trim()).map_err(bad)?);
        }
        Ok(Selector(reqs))
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.0.iter().all(|r| r.matches(labels))
    }
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(text: &str) -> Result<Vec<&str>, String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!("unbalanced ')' at {i}"));
                }
            }
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err("unbalanced '('".to_string());
    }
    parts.push(&text[start..]);
    Ok(parts)
}

fn checked_key(k: &str) -> Result<String, String> {
    let k = k.trim();
    if key_ok(k) {
        Ok(k.to_string())
    } else {
        Err(format!("invalid label key '{k}'"))
    }
}

fn checked_value(v: &str) -> Result<String, String> {
    let v = v.trim();
    if value_ok(v) {
        Ok(v.to_string())
    } else {
        Err(format!("invalid label value '{v}'"))
    }
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    if part.is_empty() {
        return Err("empty requirement".to_string());
    }
    if let Some(key) = part.strip_prefix('!') {
        return Ok(Requirement::NotExists(checked_key(key)?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(checked_key(k)?, checked_value(v)?));
    }
    if let Some((k, v)) = part.split_once("==") {
        return Ok(Requirement::Equals(checked_key(k)?, checked_value(v)?));
    }
    if let Some((k, v)) = part.split_once('=') {
        return Ok(Requirement::Equals(checked_key(k)?, checked_value(v)?));
    }
    if let Some(open) = part.find('(') {
        let head = part[..open].trim();
        let list = part[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| format!("'{part}': expected ')' at the end"))?;
        let (key, op) = head
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| format!("'{part}': expected 'KEY in (..)' or 'KEY notin (..)'"))?;
        let values = list
            .split(',')
            .map(checked_value)
            .collect::<Result<Vec<_>, _>>()?;
        return match op {
            "in" => Ok(Requirement::In(checked_key(key)?, values)),
            "notin" => Ok(Requirement::NotIn(checked_key(key)?, values)),
            other => Err(format!("unknown operator '{other}'")),
        };
    }
    Ok(Requirement::Exists(checked_key(part)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sel(s: &str) -> Selector {
        Selector::parse(s).unwrap()
    }

    #[test]
    fn equality_operators() {
        let l = labels(&[("env", "prod"), ("tier", "web")]);
        assert!(sel("env=prod").matches(&l));
        assert!(sel("env==prod").matches(&l));
        assert!(!sel("env=dev").matches(&l));
        assert!(sel("env!=dev").matches(&l));
        assert!(!sel("env!=prod").matches(&l));
        assert!(
            sel("missing!=x").matches(&l),
            "!= holds when the key is absent"
        );
    }

    #[test]
    fn existence_operators() {
        let l = labels(&[("env", "prod")]);
        assert!(sel("env").matches(&l));
        assert!(!sel("tier").matches(&l));
        assert!(sel("!tier").matches(&l));
        assert!(!sel("!env").matches(&l));
    }

    #[test]
    fn set_operators() {
        let l = labels(&[("env", "prod")]);
        assert!(sel("env in (dev,prod)").matches(&l));
        assert!(sel("env in (dev, prod)").matches(&l));
        assert!(!sel("env in (dev,qa)").matches(&l));
        assert!(sel("env notin (dev,qa)").matches(&l));
        assert!(!sel("env notin (prod)").matches(&l));
        assert!(sel("other notin (prod)").matches(&l));
        assert!(!sel("other in (prod)").matches(&l));
    }

    #[test]
    fn comma_is_and_outside_parentheses() {
        let l = labels(&[("env", "prod"), ("tier", "web")]);
        let s = sel("env in (prod,dev),tier=web,!gone");
        assert_eq!(s.0.len(), 3);
        assert!(s.matches(&l));
        assert!(!sel("env=prod,tier=db").matches(&l));
    }

    #[test]
    fn prefixed_keys_and_empty_values() {
        let l = labels(&[("clawprov.dev/stack", "a"), ("flag", "")]);
        assert!(sel("clawprov.dev/stack=a").matches(&l));
        assert!(sel("flag=").matches(&l));
    }

    #[test]
    fn invalid_selectors_are_invalid_input() {
        for bad in [
            "",
            "env=prod,",
            "=x",
            "env in (a",
            "env in a)",
            "env between (a)",
            "-bad=x",
            "env=v@l",
            "!",
            "a b",
        ] {
            let e = Selector::parse(bad).expect_err(bad);
            assert_eq!(e.code, "invalid_input", "{bad}");
            assert_eq!(e.details["fields"][0]["name"], "label_selector");
        }
    }

    #[test]
    fn label_rules() {
        assert!(key_ok("a"));
        assert!(key_ok("example.com/name_1.x"));
        assert!(!key_ok("Example.com/name"));
        assert!(!key_ok("/name"));
        assert!(!key_ok(&"k".repeat(64)));
        assert!(key_ok(&"k".repeat(63)));
        assert!(value_ok(""));
        assert!(!value_ok("-x"));
        assert!(!value_ok(&"v".repeat(64)));
        let reserved = serde_json::json!({"hetzner.cloud/x": "1"});
        assert_eq!(
            parse_labels(Some(&reserved)).unwrap_err().code,
            "invalid_input"
        );
        let ok = serde_json::json!({"a": "b", "c": ""});
        assert_eq!(parse_labels(Some(&ok)).unwrap().len(), 2);
    }
}
