//! openclaw on the npm registry: the pinned version is published, and its
//! `engines.node` (npm's range syntax, read by `nodejs-semver` as npm reads
//! it) accepts the pinned Node.

use std::collections::BTreeMap;

use nodejs_semver::{Range, Version};
use serde::Deserialize;

use super::error::{Mismatch, PreflightError};
use super::fetch::{shown_url, Fetcher};

/// The package clawprov installs on the node.
pub const PACKAGE: &str = "openclaw";
/// The abbreviated ("corgi") packument: versions with their engines, without
/// readmes.
const ACCEPT: &str = "application/vnd.npm.install-v1+json";
/// How many releases a "version not found" error suggests.
const SUGGESTED: usize = 5;

#[derive(Deserialize)]
struct Packument {
    #[serde(default)]
    versions: BTreeMap<String, Manifest>,
}

#[derive(Deserialize)]
struct Manifest {
    /// Usually `{"node": ">=..."}`; old packages put arrays or strings here.
    #[serde(default)]
    engines: Option<serde_json::Value>,
}

/// One published openclaw release, as the preflight needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    /// `engines.node`, if the release declares one.
    pub engines_node: Option<String>,
}

/// The packument's URL under `registry`.
pub fn packument_url(registry: &str) -> String {
    format!("{registry}/{PACKAGE}")
}

/// The release `version` of openclaw, or [`Mismatch::OpenclawMissing`]
/// listing the newest stable releases of the same `YEAR.MONTH` line.
pub async fn release(
    fetcher: &Fetcher,
    registry: &str,
    stack: &str,
    version: &str,
) -> Result<Release, PreflightError> {
    let url = packument_url(registry);
    let body = fetcher
        .get(&url, ACCEPT)
        .await?
        .ok_or_else(|| PreflightError::Unreadable {
            url: shown_url(&url),
            detail: format!("HTTP 404: the registry has no package {PACKAGE}"),
        })?;
    let packument: Packument =
        serde_json::from_slice(&body).map_err(|e| PreflightError::Unreadable {
            url: shown_url(&url),
            detail: format!("not an npm packument: {e}"),
        })?;
    match packument.versions.get(version) {
        Some(m) => Ok(Release {
            version: version.to_string(),
            engines_node: engines_node(m),
        }),
        None => {
            let (line, newest) = newest_stable(packument.versions.keys(), version);
            Err(PreflightError::wrong_pin(
                stack,
                Mismatch::OpenclawMissing {
                    version: version.to_string(),
                    url: shown_url(&url),
                    line,
                    newest,
                },
            ))
        }
    }
}

fn engines_node(m: &Manifest) -> Option<String> {
    m.engines
        .as_ref()?
        .get("node")?
        .as_str()
        .map(str::to_string)
}

/// The newest [`SUGGESTED`] stable versions on `wanted`'s `YEAR.MONTH`
/// line (with that line), else the newest overall (with `None`).
fn newest_stable<'a>(
    published: impl Iterator<Item = &'a String>,
    wanted: &str,
) -> (Option<String>, Vec<String>) {
    let mut stable: Vec<Version> = published
        .filter_map(|v| Version::parse(v).ok())
        .filter(|v| !v.is_prerelease())
        .collect();
    stable.sort_unstable_by(|a, b| b.cmp(a));
    let line = line_of(wanted);
    let on_line: Vec<String> = stable
        .iter()
        .filter(|v| line == Some((v.major(), v.minor())))
        .take(SUGGESTED)
        .map(Version::to_string)
        .collect();
    if !on_line.is_empty() {
        let (year, month) = line.expect("a line matched");
        return (Some(format!("{year}.{month}")), on_line);
    }
    let newest = stable
        .iter()
        .take(SUGGESTED)
        .map(Version::to_string)
        .collect();
    (None, newest)
}

/// `YEAR.MONTH` of a version such as `2026.9.6` (also of `2026.9.99-beta`).
fn line_of(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.split(['.', '-', '+']);
    let year = parts.next()?.parse().ok()?;
    let month = parts.next()?.parse().ok()?;
    Some((year, month))
}

/// Does `release`'s `engines.node` accept Node `node`? A release without
/// `engines.node` accepts any.
pub fn check_engines(stack: &str, release: &Release, node: &str) -> Result<(), PreflightError> {
    let Some(range_text) = &release.engines_node else {
        return Ok(());
    };
    let mismatch = |m| PreflightError::wrong_pin(stack, m);
    let version = Version::parse(node).map_err(|_| {
        mismatch(Mismatch::NodeNotSemver {
            version: node.to_string(),
        })
    })?;
    let range = parse_range(&release.version, range_text)?;
    if range.satisfies(&version) {
        Ok(())
    } else {
        Err(mismatch(Mismatch::NodeRejected {
            openclaw: release.version.clone(),
            node: node.to_string(),
            range: range_text.clone(),
            suggestion: None,
        }))
    }
}

/// `engines.node` as a range; the registry's data, so a bad one is not the
/// stack's fault.
pub fn parse_range(openclaw: &str, text: &str) -> Result<Range, PreflightError> {
    Range::parse(text).map_err(|e| PreflightError::Unreadable {
        url: format!("openclaw {openclaw}"),
        detail: format!("engines.node {text:?} is not an npm semver range: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(engines: Option<&str>) -> Release {
        Release {
            version: "2026.9.6".into(),
            engines_node: engines.map(str::to_string),
        }
    }

    #[test]
    fn engines_with_alternatives_read_as_npm_reads_them() {
        let r = release(Some(">=24.16.0 <25 || >=26.1.0"));
        for ok in ["24.16.0", "24.22.3", "26.1.0", "27.0.0"] {
            assert!(check_engines("s", &r, ok).is_ok(), "{ok}");
        }
        for bad in ["22.12.0", "24.15.9", "25.0.0", "26.0.5"] {
            let e = check_engines("s", &r, bad).expect_err(bad);
            assert!(
                matches!(e.mismatch(), Some(Mismatch::NodeRejected { .. })),
                "{e}"
            );
        }
        assert!(check_engines("s", &release(None), "22.12.0").is_ok());
    }

    #[test]
    fn caret_and_tilde_ranges_work_too() {
        assert!(check_engines("s", &release(Some("^24.1")), "24.22.3").is_ok());
        assert!(check_engines("s", &release(Some("~24.21.0")), "24.22.3").is_err());
    }

    #[test]
    fn suggestions_are_the_newest_stable_of_the_line_else_overall() {
        let published: Vec<String> = [
            "2026.9.1",
            "2026.9.2",
            "2026.9.10",
            "2026.9.11-beta.1",
            "2026.9.3",
            "2026.9.4",
            "2026.9.5",
            "2026.8.40",
            "2026.10.1",
        ]
        .map(String::from)
        .to_vec();
        let (line, newest) = newest_stable(published.iter(), "2026.9.99");
        assert_eq!(line.as_deref(), Some("2026.9"));
        assert_eq!(
            newest,
            ["2026.9.10", "2026.9.5", "2026.9.4", "2026.9.3", "2026.9.2"]
        );
        let (line, newest) = newest_stable(published.iter(), "2025.1.1");
        assert_eq!(line, None);
        assert_eq!(newest[0], "2026.10.1");
        assert_eq!(newest.len(), 5);
    }
}
