//! The one error type `main` sees, and its exit code.
//!
//! Each layer keeps its own `thiserror` enum and converts into [`Error`] in its
//! own module, choosing the [`Kind`]. `main` prints `Display` and exits with
//! [`Error::exit_code`]. Messages never contain secret values.

use std::fmt;

/// What the user should conclude from a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The input was wrong (usage, stack file, vault contents): exit 2.
    BadInput,
    /// The input was fine but the operation did not succeed: exit 1.
    Failed,
    /// A program run on the node for the user (`clawprov ssh -- CMD`)
    /// ended with this status, which becomes clawprov's own.
    Remote(i32),
}

pub struct Error {
    kind: Kind,
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl Error {
    pub fn new(
        kind: Kind,
        inner: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        Error {
            kind,
            inner: inner.into(),
        }
    }

    pub fn bad_input(inner: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Error::new(Kind::BadInput, inner)
    }

    pub fn failed(inner: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        Error::new(Kind::Failed, inner)
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn exit_code(&self) -> i32 {
        match self.kind {
            Kind::BadInput => 2,
            Kind::Failed => 1,
            Kind::Remote(status) => status,
        }
    }

    /// The layer error inside, for callers (and tests) that need to match on it.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.inner
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.inner)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
