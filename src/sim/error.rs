//! The API's error envelope as a typed value: `{"error":{"code","message","details"}}`.
//! The state model returns these; the HTTP layer only serializes them.

use serde_json::{json, Value};

/// One API error: a Hetzner error code, its HTTP status and details.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "unauthorized", "unable to authenticate")
    }
    pub fn token_readonly() -> Self {
        Self::new(403, "token_readonly", "the token is read-only")
    }
    pub fn not_found(what: &str) -> Self {
        Self::new(404, "not_found", format!("{what} not found"))
    }
    pub fn json_error(why: impl Into<String>) -> Self {
        Self::new(400, "json_error", why)
    }
    /// `invalid_input` naming one field, as the real API does.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut e = Self::new(
            400,
            "invalid_input",
            format!("invalid input in field '{field}'"),
        );
        e.details = json!({"fields": [{"name": field, "messages": [message]}]});
        e
    }
    pub fn uniqueness(field: &str) -> Self {
        let mut e = Self::new(409, "uniqueness_error", format!("{field} is already used"));
        e.details = json!({"fields": [{"name": field}]});
        e
    }
    pub fn locked(what: &str) -> Self {
        Self::new(
            423,
            "locked",
            format!("{what} is locked by a running action"),
        )
    }
    pub fn protected(what: &str) -> Self {
        Self::new(423, "protected", format!("{what} is protected"))
    }
    pub fn resource_in_use(what: &str) -> Self {
        Self::new(409, "resource_in_use", format!("{what} is still in use"))
    }
    pub fn firewall_already_applied() -> Self {
        Self::new(
            409,
            "firewall_already_applied",
            "firewall is already applied",
        )
    }
    pub fn firewall_already_removed() -> Self {
        Self::new(
            409,
            "firewall_already_removed",
            "firewall is already removed",
        )
    }
    pub fn resource_unavailable(why: impl Into<String>) -> Self {
        Self::new(503, "resource_unavailable", why)
    }
    pub fn rate_limit_exceeded() -> Self {
        Self::new(
            429,
            "rate_limit_exceeded",
            "limit of requests per hour reached",
        )
    }
    pub fn server_error() -> Self {
        Self::new(
            500,
            "server_error",
            "error within the API backend (injected)",
        )
    }
    pub fn bad_gateway() -> Self {
        Self::new(502, "bad_gateway", "bad gateway (injected)")
    }
    pub fn timeout() -> Self {
        Self::new(504, "timeout", "request timed out (injected)")
    }
    pub fn conflict() -> Self {
        Self::new(
            409,
            "conflict",
            "the resource changed during the request (injected)",
        )
    }
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method_not_allowed", "method not allowed")
    }

    /// The JSON body of the error envelope.
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message, "details": self.details}})
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
