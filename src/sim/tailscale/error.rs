//! Tailscale's error shape: an HTTP status and `{"message": "..."}`.

use serde_json::{json, Value};

/// One error answer of the simulated Tailscale API or control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsError {
    pub status: u16,
    pub message: String,
}

pub type TsResult<T> = Result<T, TsError>;

impl TsError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        TsError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// What Tailscale answers for a missing, unknown or expired token.
    pub fn token_invalid() -> Self {
        Self::new(401, "API token invalid")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(404, format!("{what} not found"))
    }

    /// Tags a credential does not own, in Go's `%v` rendering of the list.
    pub fn tags_not_permitted(tags: &[String]) -> Self {
        Self::bad_request(format!(
            "requested tags [{}] are invalid or not permitted",
            tags.join(" ")
        ))
    }

    pub fn body(&self) -> Value {
        json!({"message": self.message})
    }
}

impl std::fmt::Display for TsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

impl std::error::Error for TsError {}
