//! What can go wrong talking to Hetzner, said so that the user knows what
//! failed and what may have been left behind in their project.

use std::fmt;

/// Why one request (after its retries) did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The API answered with its error envelope (or at least a status).
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No usable answer: connection refused or dropped, request timed out.
    Transport(String),
    /// The answer did not match the API's documented shape.
    Decode(String),
}

impl Cause {
    /// The API error code, if the API gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Cause::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Api {
                status,
                code,
                message,
            } => write!(f, "HTTP {status} {code}: {message}"),
            Cause::Transport(m) => write!(f, "no answer from the API: {m}"),
            Cause::Decode(m) => write!(f, "unexpected answer from the API: {m}"),
        }
    }
}

/// Errors of the Hetzner layer. Every message names the operation and the
/// resource; `left_behind` says what may exist in the project because of it.
/// No variant ever holds the API token.
#[derive(Debug, thiserror::Error)]
pub enum HetznerError {
    #[error(
        "no Hetzner API token: set HCLOUD_TOKEN or store hcloud_token in the vault \
         (clawprov secrets set hcloud_token)"
    )]
    MissingToken,

    #[error("Hetzner endpoint {endpoint:?} is not an http(s) URL: {reason}")]
    BadEndpoint { endpoint: String, reason: String },

    #[error(
        "{operation} failed after {attempts} attempt(s): {cause}{}",
        left_behind_suffix(left_behind)
    )]
    Request {
        operation: String,
        attempts: u32,
        cause: Cause,
        left_behind: Option<String>,
    },

    #[error(
        "{operation}: action {action} failed: {code}: {message}{}",
        left_behind_suffix(left_behind)
    )]
    ActionFailed {
        operation: String,
        /// "ID (command)", e.g. "42 (create_server)".
        action: String,
        code: String,
        message: String,
        left_behind: Option<String>,
    },

    #[error(
        "{operation}: gave up waiting after {waited_secs} s ({what}){}",
        left_behind_suffix(left_behind)
    )]
    Deadline {
        operation: String,
        what: String,
        waited_secs: u64,
        left_behind: Option<String>,
    },

    #[error("no monthly price for server type {server_type:?} in location {location:?} in the /pricing catalog")]
    PriceNotFound {
        server_type: String,
        location: String,
    },
}

fn left_behind_suffix(left_behind: &Option<String>) -> String {
    match left_behind {
        Some(s) => format!("; left behind: {s}"),
        None => String::new(),
    }
}

impl HetznerError {
    /// The last API error code, if the failure came from the API.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            HetznerError::Request { cause, .. } => cause.code(),
            HetznerError::ActionFailed { code, .. } => Some(code),
            _ => None,
        }
    }

    /// How many attempts the failed request made (0 when none applies).
    pub fn attempts(&self) -> u32 {
        match self {
            HetznerError::Request { attempts, .. } => *attempts,
            _ => 0,
        }
    }

    /// What the failure may have left in the project, if anything.
    pub fn left_behind(&self) -> Option<&str> {
        match self {
            HetznerError::Request { left_behind, .. }
            | HetznerError::ActionFailed { left_behind, .. }
            | HetznerError::Deadline { left_behind, .. } => left_behind.as_deref(),
            _ => None,
        }
    }

    /// True when the token itself was refused: the user must fix their input.
    pub fn is_bad_token(&self) -> bool {
        matches!(
            self.api_code(),
            Some("unauthorized") | Some("token_readonly") | Some("forbidden")
        ) || matches!(
            self,
            HetznerError::Request {
                cause: Cause::Api { status: 401, .. },
                ..
            }
        )
    }

    /// Attach (or replace) the "left behind" note.
    pub(crate) fn leaving(mut self, note: impl Into<String>) -> Self {
        let note = Some(note.into());
        match &mut self {
            HetznerError::Request { left_behind, .. }
            | HetznerError::ActionFailed { left_behind, .. }
            | HetznerError::Deadline { left_behind, .. } => *left_behind = note,
            _ => {}
        }
        self
    }
}

impl From<HetznerError> for crate::error::Error {
    fn from(e: HetznerError) -> Self {
        let bad_input = e.is_bad_token()
            || matches!(
                e,
                HetznerError::MissingToken
                    | HetznerError::BadEndpoint { .. }
                    | HetznerError::PriceNotFound { .. }
            );
        if bad_input {
            crate::error::Error::bad_input(e)
        } else {
            crate::error::Error::failed(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;

    fn api(status: u16, code: &str) -> HetznerError {
        HetznerError::Request {
            operation: "list servers".into(),
            attempts: 1,
            cause: Cause::Api {
                status,
                code: code.into(),
                message: "m".into(),
            },
            left_behind: None,
        }
    }

    #[test]
    fn unauthorized_is_bad_input_and_faults_are_failures() {
        let e: crate::error::Error = api(401, "unauthorized").into();
        assert_eq!(e.kind(), Kind::BadInput);
        let e: crate::error::Error = api(503, "service_error").into();
        assert_eq!(e.kind(), Kind::Failed);
        let e: crate::error::Error = HetznerError::MissingToken.into();
        assert_eq!(e.kind(), Kind::BadInput);
    }

    #[test]
    fn message_names_operation_cause_and_what_was_left_behind() {
        let e = api(504, "timeout").leaving("server create may have succeeded");
        let text = e.to_string();
        assert!(
            text.contains("list servers failed after 1 attempt(s)"),
            "{text}"
        );
        assert!(text.contains("HTTP 504 timeout: m"), "{text}");
        assert!(
            text.contains("left behind: server create may have succeeded"),
            "{text}"
        );
    }
}
