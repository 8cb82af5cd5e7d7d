//! Which credential the client authenticates with.

use std::fmt;

use super::TailscaleError;
use crate::secrets::{Secret, Vault};

/// An OAuth client (client credentials grant, tokens minted and cached) or
/// an API access token. `Debug` shows which kind, never a value.
#[derive(Clone)]
pub enum Credentials {
    OAuth {
        client_id: Secret,
        client_secret: Secret,
    },
    ApiToken(Secret),
}

impl Credentials {
    /// From the vault: the OAuth client if both halves are there, else
    /// `tailscale_api_token`, else `TAILSCALE_API_KEY` from the environment
    /// (the name Tailscale's own tools read). `None` when there is none.
    pub fn from_vault(vault: &Vault) -> Option<Credentials> {
        let nonempty = |k: &str| vault.get(k).filter(|s| !s.expose().trim().is_empty());
        if let (Some(id), Some(secret)) = (
            nonempty("tailscale_oauth_client_id"),
            nonempty("tailscale_oauth_client_secret"),
        ) {
            return Some(Credentials::OAuth {
                client_id: id.clone(),
                client_secret: secret.clone(),
            });
        }
        if let Some(t) = nonempty("tailscale_api_token") {
            return Some(Credentials::ApiToken(t.clone()));
        }
        match std::env::var("TAILSCALE_API_KEY") {
            Ok(t) if !t.trim().is_empty() => Some(Credentials::ApiToken(Secret::new(t.trim()))),
            _ => None,
        }
    }

    /// Like [`Credentials::from_vault`], but a missing credential is an error.
    pub fn require(vault: &Vault) -> Result<Credentials, TailscaleError> {
        Self::from_vault(vault).ok_or(TailscaleError::MissingCredentials)
    }

    /// What error messages call it.
    pub fn describe(&self) -> &'static str {
        match self {
            Credentials::OAuth { .. } => "OAuth client",
            Credentials::ApiToken(_) => "API access token",
        }
    }

    /// Every secret value, for redaction.
    pub(crate) fn values(&self) -> Vec<&str> {
        match self {
            Credentials::OAuth {
                client_id,
                client_secret,
            } => vec![client_secret.expose(), client_id.expose()],
            Credentials::ApiToken(t) => vec![t.expose()],
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials::{}([redacted])", self.describe())
    }
}
