//! Preflight: before `plan` or `up` sends its first request to Hetzner,
//! check from the operator's machine that the stack's pinned versions exist
//! and fit together. A wrong pin found on the node instead costs a server
//! that boots and then fails its bootstrap.
//!
//! 1. `openclaw.version` is published on the npm registry ([`npm`]);
//! 2. its `engines.node` accepts `node.version`;
//! 3. `node.version` is in the Node release index, with the Linux build the
//!    server type needs ([`node_index`]);
//! 4. `node.nvm_sha256` is the sha256 of `install.sh` at `node.nvm_version`
//!    ([`nvm`]).
//!
//! Every URL is fetched at most once per run ([`fetch`]), so several stacks
//! pinning the same versions cost one request each. The layer prints
//! nothing; the commands decide what to say.

mod error;
mod fetch;
mod node_index;
mod npm;
mod nvm;

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::stack::Stack;
use fetch::Fetcher;

pub use error::{Mismatch, PreflightError};
pub use fetch::{REQUEST_TIMEOUT, RETRIES};
pub use node_index::{index_url, linux_build, NodeRelease};
pub use npm::{packument_url, Release, PACKAGE};
pub use nvm::install_url;

pub const DEFAULT_NPM_REGISTRY: &str = "https://registry.npmjs.org";
pub const DEFAULT_NODE_DIST: &str = "https://nodejs.org/dist";
pub const DEFAULT_NVM_SOURCE: &str = "https://raw.githubusercontent.com/nvm-sh/nvm";

/// Pause before the first retry; the second waits twice as long.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

/// Where the preflight looks: base URLs without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub npm_registry: String,
    pub node_dist: String,
    pub nvm_source: String,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            npm_registry: DEFAULT_NPM_REGISTRY.into(),
            node_dist: DEFAULT_NODE_DIST.into(),
            nvm_source: DEFAULT_NVM_SOURCE.into(),
        }
    }
}

impl Sources {
    /// Check the three base URLs (http or https, no query or fragment).
    pub fn new(
        npm_registry: &str,
        node_dist: &str,
        nvm_source: &str,
    ) -> Result<Sources, PreflightError> {
        Ok(Sources {
            npm_registry: base("--npm-registry", npm_registry)?,
            node_dist: base("--node-dist", node_dist)?,
            nvm_source: base("--nvm-source", nvm_source)?,
        })
    }
}

fn base(flag: &'static str, url: &str) -> Result<String, PreflightError> {
    let bad = |why: &str| PreflightError::BadSource {
        flag,
        url: fetch::shown_url(url),
        why: why.to_string(),
    };
    let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad("use an http:// or https:// URL"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment"));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// What the preflight confirmed for one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Passed {
    pub stack: String,
    pub openclaw: String,
    /// openclaw's `engines.node`, if it declares one.
    pub engines_node: Option<String>,
    pub node: String,
    /// The npm that Node release ships with.
    pub npm: Option<String>,
    /// The Node build nvm will download (`linux-arm64`, `linux-x64`).
    pub node_build: String,
    pub nvm: String,
    pub nvm_sha256: String,
}

impl fmt::Display for Passed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "preflight: stack {}: openclaw {} ",
            self.stack, self.openclaw
        )?;
        match &self.engines_node {
            Some(r) => write!(f, "(engines.node {r}) accepts")?,
            None => write!(f, "(no engines.node) runs on")?,
        }
        write!(f, " node {} ({}", self.node, self.node_build)?;
        if let Some(npm) = &self.npm {
            write!(f, ", npm {npm}")?;
        }
        write!(f, "); nvm v{} install.sh sha256 matches", self.nvm)
    }
}

/// The preflight's result as `plan --json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Passed { stacks: Vec<Passed> },
    Skipped { reason: String },
}

/// One run's preflight: the sources and the per-URL cache.
pub struct Preflight {
    sources: Sources,
    fetcher: Fetcher,
}

impl Preflight {
    /// [`REQUEST_TIMEOUT`] per request, [`RETRIES`] retries.
    pub fn new(sources: Sources) -> Preflight {
        Preflight::with_timeout(sources, REQUEST_TIMEOUT, RETRY_PAUSE)
    }

    /// Other timings, for tests that must not wait 10 s for a timeout.
    pub fn with_timeout(sources: Sources, timeout: Duration, retry_pause: Duration) -> Preflight {
        Preflight {
            sources,
            fetcher: Fetcher::new(timeout, retry_pause),
        }
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// HTTP requests sent so far (retries included, cache hits not).
    pub fn requests_sent(&self) -> usize {
        self.fetcher.sent()
    }

    /// Check the stacks in order; the first problem ends the run.
    pub async fn check_all(&self, stacks: &[&Stack]) -> Result<Vec<Passed>, PreflightError> {
        let mut passed = Vec::new();
        for stack in stacks {
            passed.push(self.check(stack).await?);
        }
        Ok(passed)
    }

    /// The four checks for one stack, in the order they depend on each other.
    pub async fn check(&self, stack: &Stack) -> Result<Passed, PreflightError> {
        let name = &stack.name;
        let release = self.openclaw(name, &stack.openclaw.version).await?;
        if let Err(e) = npm::check_engines(name, &release, &stack.node.version) {
            return Err(self.with_suggestion(e, &release, stack).await);
        }
        let dist = &self.sources.node_dist;
        let releases = node_index::load(&self.fetcher, dist).await?;
        let node = node_index::find(
            &releases,
            dist,
            name,
            &stack.node.version,
            &stack.hetzner.server_type,
        )?;
        let sha = nvm::check(
            &self.fetcher,
            &self.sources.nvm_source,
            name,
            &stack.node.nvm_version,
            &stack.node.nvm_sha256,
        )
        .await?;
        Ok(Passed {
            stack: name.clone(),
            openclaw: release.version,
            engines_node: release.engines_node,
            node: stack.node.version.clone(),
            npm: node.npm.clone(),
            node_build: linux_build(&stack.hetzner.server_type).to_string(),
            nvm: stack.node.nvm_version.clone(),
            nvm_sha256: sha,
        })
    }

    /// openclaw `version` on the registry (checks 1; the caller does 2 with
    /// [`Preflight::engines_accept`]).
    pub async fn openclaw(&self, stack: &str, version: &str) -> Result<Release, PreflightError> {
        npm::release(&self.fetcher, &self.sources.npm_registry, stack, version).await
    }

    /// Check 2 alone: does `release`'s `engines.node` accept Node `node`?
    pub fn engines_accept(
        &self,
        stack: &str,
        release: &Release,
        node: &str,
    ) -> Result<(), PreflightError> {
        npm::check_engines(stack, release, node)
    }

    /// A rejected Node gets the newest release the range accepts as its
    /// fix, when the release index can be read; otherwise the error as is.
    async fn with_suggestion(
        &self,
        mut e: PreflightError,
        release: &Release,
        stack: &Stack,
    ) -> PreflightError {
        let PreflightError::Mismatch { mismatch, .. } = &mut e else {
            return e;
        };
        if let Mismatch::NodeRejected {
            range, suggestion, ..
        } = mismatch.as_mut()
        {
            let dist = &self.sources.node_dist;
            if let (Ok(releases), Ok(parsed)) = (
                node_index::load(&self.fetcher, dist).await,
                npm::parse_range(&release.version, range),
            ) {
                let build = linux_build(&stack.hetzner.server_type);
                *suggestion = node_index::newest_accepted(&releases, &parsed, build);
            }
        }
        e
    }
}
