//! What can go wrong talking to Tailscale, said so that the user knows which
//! call failed and what to change. No variant ever holds a credential.

/// Errors of the Tailscale layer.
#[derive(Debug, thiserror::Error)]
pub enum TailscaleError {
    #[error(
        "no Tailscale API credentials: store an OAuth client (clawprov secrets set \
         tailscale_oauth_client_id, then tailscale_oauth_client_secret; scopes auth_keys and \
         devices:core, owning the stack's tags) or an API access token (tailscale_api_token)"
    )]
    MissingCredentials,

    #[error("Tailscale endpoint {endpoint:?} is not usable: {reason}")]
    BadEndpoint { endpoint: String, reason: String },

    /// The API answered with an error (after any retries).
    #[error(
        "Tailscale API: {call} failed after {attempts} attempt(s): HTTP {status}: {message}{}",
        fix_suffix(fix)
    )]
    Api {
        call: String,
        attempts: u32,
        status: u16,
        message: String,
        /// What the user can do about it, when the status says.
        fix: Option<String>,
    },

    /// No usable answer (refused, dropped, timed out) after the retries.
    #[error("Tailscale API: {call} failed after {attempts} attempt(s): no answer: {reason}")]
    Transport {
        call: String,
        attempts: u32,
        reason: String,
    },

    /// The answer did not have the documented shape.
    #[error("Tailscale API: {call}: unexpected answer: {reason}")]
    Decode { call: String, reason: String },
}

impl TailscaleError {
    /// The HTTP status of an API error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            TailscaleError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for a 404 answer (the key or device is not there).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when the credentials or the request are at fault (retrying or
    /// re-running will not help; the user must change something).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            TailscaleError::MissingCredentials | TailscaleError::BadEndpoint { .. }
        ) || matches!(self.status(), Some(400 | 401 | 403))
    }
}

/// For deletes and revokes, which are safe to repeat: `Ok(true)` if this
/// call removed it, `Ok(false)` if the API answered 404 (already gone).
pub(crate) fn gone_is_fine<T>(r: Result<T, TailscaleError>) -> Result<bool, TailscaleError> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}

fn fix_suffix(fix: &Option<String>) -> String {
    match fix {
        Some(f) => format!("; {f}"),
        None => String::new(),
    }
}

/// What to do about an error status, from the call and the API's message.
pub(crate) fn fix_for(status: u16, message: &str, credential: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    match status {
        401 => Some(format!(
            "the {credential} was refused: check it in the admin console (Settings -> OAuth clients / Keys) and store it again"
        )),
        403 => Some(format!(
            "the {credential} lacks a scope: the OAuth client needs auth_keys and devices:core (read and write)"
        )),
        400 if lower.contains("tags") => Some(
            "the stack's tailscale.tags must be exactly the tags the OAuth client owns (tagOwners in the policy file, and the client's tags)".into(),
        ),
        429 => Some("Tailscale is rate limiting this client: wait a minute and run it again".into()),
        _ => None,
    }
}

impl From<TailscaleError> for crate::error::Error {
    fn from(e: TailscaleError) -> Self {
        if e.is_bad_input() {
            crate::error::Error::bad_input(e)
        } else {
            crate::error::Error::failed(e)
        }
    }
}
