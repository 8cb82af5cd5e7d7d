//! What the preflight can find wrong, said with the fix. A pin that does not
//! exist or does not fit is bad input (exit 2); a source that cannot be
//! reached or answers nonsense is a failed operation (exit 1) and says that
//! `--offline` skips the preflight.

use crate::error::Error;

/// A pinned version that does not exist or does not fit the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error(
        "openclaw.version {version} is not published on the npm registry ({url}); {}",
        suggest_openclaw(.line.as_deref(), .newest)
    )]
    OpenclawMissing {
        version: String,
        url: String,
        /// `YEAR.MONTH` of the pinned version, when `newest` is from that line.
        line: Option<String>,
        /// Newest stable releases, newest first (at most 5).
        newest: Vec<String>,
    },

    #[error(
        "openclaw {openclaw} requires node {range} (its engines.node), which does not accept \
         node.version {node}; set node.version to a release in that range{}",
        .suggestion.as_ref().map(|s| format!(", e.g. node.version: {s} (the newest one in the Node release index)")).unwrap_or_default()
    )]
    NodeRejected {
        openclaw: String,
        node: String,
        range: String,
        suggestion: Option<String>,
    },

    #[error("node.version {version} is not a MAJOR.MINOR.PATCH version")]
    NodeNotSemver { version: String },

    #[error(
        "node.version {version} is not in the Node release index ({url}); {}",
        match .newest_of_major {
            Some(n) => format!("the newest {major}.x release is {n}: set node.version: {n}"),
            None => format!("it lists no Node {major} release; pick a version listed there"),
        }
    )]
    NodeMissing {
        version: String,
        url: String,
        major: String,
        newest_of_major: Option<String>,
    },

    #[error(
        "Node {version} has no {build} build in the release index ({url}), which hetzner.server_type \
         {server_type} needs; pick a node.version that has one"
    )]
    NodeNoBuild {
        version: String,
        build: String,
        server_type: String,
        url: String,
    },

    #[error(
        "node.nvm_version {version}: there is no install.sh at {url} (HTTP 404); pin an existing \
         nvm release (e.g. 0.40.3) and its install.sh sha256"
    )]
    NvmMissing { version: String, url: String },

    #[error(
        "node.nvm_sha256 does not match nvm v{version}'s install.sh ({url}): expected {expected} \
         (the stack file), actual {actual}. Check that the stack pins the nvm release you mean and \
         take its checksum from a source you trust; a changed install.sh under the same tag is a red flag"
    )]
    NvmChecksum {
        version: String,
        url: String,
        expected: String,
        actual: String,
    },
}

fn suggest_openclaw(line: Option<&str>, newest: &[String]) -> String {
    if newest.is_empty() {
        return "the registry lists no stable release of openclaw".into();
    }
    let which = match line {
        Some(l) => format!("the newest stable {l} releases are"),
        None => "the newest stable releases are".into(),
    };
    format!(
        "{which} {}: set openclaw.version to one of them",
        newest.join(", ")
    )
}

/// Errors of the preflight layer.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error("stack {stack}: {mismatch}")]
    Mismatch {
        stack: String,
        mismatch: Box<Mismatch>,
    },

    #[error("{flag} {url:?} is not a usable URL: {why}")]
    BadSource {
        flag: &'static str,
        url: String,
        why: String,
    },

    #[error(
        "preflight: cannot reach {url} after {attempts} attempt(s): {detail}. Check the network \
         (or --npm-registry / --node-dist / --nvm-source), or pass --offline to skip the preflight"
    )]
    Unreachable {
        url: String,
        attempts: u32,
        detail: String,
    },

    #[error(
        "preflight: {url} answered HTTP {status}; check --npm-registry / --node-dist / \
         --nvm-source, or pass --offline to skip the preflight"
    )]
    Refused { url: String, status: u16 },

    #[error(
        "preflight: unexpected answer from {url}: {detail}; pass --offline to skip the preflight"
    )]
    Unreadable { url: String, detail: String },
}

impl PreflightError {
    pub(super) fn wrong_pin(stack: &str, mismatch: Mismatch) -> PreflightError {
        PreflightError::Mismatch {
            stack: stack.to_string(),
            mismatch: Box::new(mismatch),
        }
    }

    /// True when the stack (or a flag) is wrong rather than the network.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            PreflightError::Mismatch { .. } | PreflightError::BadSource { .. }
        )
    }

    /// The mismatch inside, for callers (and tests) that match on it.
    pub fn mismatch(&self) -> Option<&Mismatch> {
        match self {
            PreflightError::Mismatch { mismatch, .. } => Some(mismatch.as_ref()),
            _ => None,
        }
    }
}

impl From<PreflightError> for Error {
    fn from(e: PreflightError) -> Self {
        if e.is_bad_input() {
            Error::bad_input(e)
        } else {
            Error::failed(e)
        }
    }
}
