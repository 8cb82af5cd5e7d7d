//! Writing one value into YAML text that clawprov generates (the `init`
//! document, a rewritten recipients list).

/// `value` as a YAML scalar: plain when it is made only of characters that
/// cannot change YAML's reading of it, otherwise double-quoted with JSON
/// escapes (a JSON string is a valid YAML double-quoted scalar), so no value
/// can add keys, comments or structure.
pub fn yaml_scalar(value: &str) -> String {
    let plain_safe = !value.is_empty()
        && value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " @._+/=-".contains(c) || c == ':')
        && !value.contains(": ")
        && !value.ends_with(':')
        && !value.ends_with(' ')
        && !matches!(
            value,
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        )
        && value.parse::<f64>().is_err();
    if plain_safe {
        value.to_string()
    } else {
        serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_yaml() {
        for v in [
            "age1abc",
            "ssh-ed25519 AAAA alice@laptop",
            "tag:openclaw",
            "a: b",
            "#x",
            "x #y",
            "- a",
            "true",
            "1.5",
            "12",
            "",
            " a",
            "a\nb: c",
            "{{x}}",
            "&a",
            "*a",
            "!!str",
            "'\"",
            "é",
        ] {
            let doc = format!("k: {}\n", yaml_scalar(v));
            let parsed: std::collections::BTreeMap<String, String> =
                serde_yaml::from_str(&doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
            assert_eq!(parsed.get("k").map(String::as_str), Some(v), "{doc:?}");
        }
    }
}
