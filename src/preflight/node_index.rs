//! Node.js in its release index (`{dist}/index.json`): the pinned version
//! exists and has a Linux build for the server's architecture, which is what
//! nvm downloads on the node.

use nodejs_semver::{Range, Version};
use serde::Deserialize;

use super::error::{Mismatch, PreflightError};
use super::fetch::{shown_url, Fetcher};

/// One entry of index.json.
#[derive(Debug, Clone, Deserialize)]
pub struct NodeRelease {
    /// `v24.22.3`.
    pub version: String,
    /// The npm it ships with.
    #[serde(default)]
    pub npm: Option<String>,
    /// Builds: `linux-x64`, `linux-arm64`, `osx-arm64-tar`, ...
    #[serde(default)]
    pub files: Vec<String>,
    /// `false`, or the LTS line's name (`"Krypton"`).
    #[serde(default)]
    pub lts: serde_json::Value,
}

impl NodeRelease {
    /// The version without its `v`.
    pub fn bare(&self) -> &str {
        self.version.strip_prefix('v').unwrap_or(&self.version)
    }

    fn is_lts(&self) -> bool {
        self.lts.as_str().is_some()
    }

    fn semver(&self) -> Option<Version> {
        Version::parse(self.bare()).ok()
    }
}

pub fn index_url(dist: &str) -> String {
    format!("{dist}/index.json")
}

/// The build nvm fetches for a Hetzner server type: `cax*` are Ampere ARM
/// machines, every other type is x86-64.
pub fn linux_build(server_type: &str) -> &'static str {
    if server_type.starts_with("cax") {
        "linux-arm64"
    } else {
        "linux-x64"
    }
}

pub async fn load(fetcher: &Fetcher, dist: &str) -> Result<Vec<NodeRelease>, PreflightError> {
    let url = index_url(dist);
    let unreadable = |detail: String| PreflightError::Unreadable {
        url: shown_url(&url),
        detail,
    };
    let body = fetcher
        .get(&url, "application/json")
        .await?
        .ok_or_else(|| unreadable("HTTP 404: no Node release index there".into()))?;
    serde_json::from_slice(&body).map_err(|e| unreadable(format!("not a Node release index: {e}")))
}

/// The release `version` with the `build` the server needs, or the
/// mismatch naming the newest release of the same major.
pub fn find<'a>(
    releases: &'a [NodeRelease],
    dist: &str,
    stack: &str,
    version: &str,
    server_type: &str,
) -> Result<&'a NodeRelease, PreflightError> {
    let url = shown_url(&index_url(dist));
    let mismatch = |m| PreflightError::wrong_pin(stack, m);
    let build = linux_build(server_type);
    let Some(release) = releases.iter().find(|r| r.bare() == version) else {
        let major = version.split('.').next().unwrap_or(version).to_string();
        let newest_of_major = releases
            .iter()
            .filter(|r| r.bare().split('.').next() == Some(major.as_str()))
            .filter(|r| r.files.iter().any(|f| f == build))
            .filter_map(|r| r.semver())
            .max()
            .map(|v| v.to_string());
        return Err(mismatch(Mismatch::NodeMissing {
            version: version.to_string(),
            url,
            major,
            newest_of_major,
        }));
    };
    if !release.files.iter().any(|f| f == build) {
        return Err(mismatch(Mismatch::NodeNoBuild {
            version: version.to_string(),
            build: build.to_string(),
            server_type: server_type.to_string(),
            url,
        }));
    }
    Ok(release)
}

/// The newest release that `range` accepts and that has `build`: an LTS
/// one if there is any (a server should run LTS), else any.
pub fn newest_accepted(releases: &[NodeRelease], range: &Range, build: &str) -> Option<String> {
    let accepted: Vec<(&NodeRelease, Version)> = releases
        .iter()
        .filter(|r| r.files.iter().any(|f| f == build))
        .filter_map(|r| r.semver().map(|v| (r, v)))
        .filter(|(_, v)| range.satisfies(v))
        .collect();
    let newest = |lts_only: bool| {
        accepted
            .iter()
            .filter(|(r, _)| !lts_only || r.is_lts())
            .map(|(_, v)| v)
            .max()
            .map(Version::to_string)
    };
    newest(true).or_else(|| newest(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Vec<NodeRelease> {
        serde_json::from_str(
            r#"[
            {"version":"v26.1.0","npm":"11.20.0","files":["linux-x64","linux-arm64"],"lts":false},
            {"version":"v24.22.3","npm":"11.19.1","files":["linux-x64","linux-arm64"],"lts":"Krypton"},
            {"version":"v24.9.0","npm":"11.6.0","files":["linux-x64"],"lts":false},
            {"version":"v22.12.0","npm":"10.9.0","files":["linux-x64","linux-arm64"],"lts":"Jod"}
        ]"#,
        )
        .expect("index")
    }

    #[test]
    fn finds_the_pinned_release_and_its_build() {
        let i = index();
        assert_eq!(
            find(&i, "d", "s", "24.22.3", "cax21")
                .expect("found")
                .npm
                .as_deref(),
            Some("11.19.1")
        );
        let e = find(&i, "d", "s", "24.9.0", "cax21").expect_err("no arm64 build");
        assert!(
            matches!(e.mismatch(), Some(Mismatch::NodeNoBuild { .. })),
            "{e}"
        );
        assert!(find(&i, "d", "s", "24.9.0", "cx22").is_ok());
    }

    #[test]
    fn a_missing_release_suggests_the_newest_of_its_major() {
        let e = find(&index(), "http://d", "s", "24.99.0", "cax21").expect_err("missing");
        assert!(e.to_string().contains("set node.version: 24.22.3"), "{e}");
        assert!(e.to_string().contains("http://d/index.json"), "{e}");
    }

    #[test]
    fn the_suggested_release_in_a_range_prefers_lts() {
        let range = Range::parse(">=24.16.0 <25 || >=26.1.0").expect("range");
        assert_eq!(
            newest_accepted(&index(), &range, "linux-arm64").as_deref(),
            Some("24.22.3")
        );
        let range = Range::parse(">=26").expect("range");
        assert_eq!(
            newest_accepted(&index(), &range, "linux-x64").as_deref(),
            Some("26.1.0")
        );
        let range = Range::parse(">=30").expect("range");
        assert_eq!(newest_accepted(&index(), &range, "linux-x64"), None);
    }
}
