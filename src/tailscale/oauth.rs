//! OAuth client credentials: an access token minted from the client id and
//! secret, cached for its lifetime (less a margin), never logged.
//!
//! `POST /oauth/token`, form-encoded `grant_type=client_credentials`,
//! `client_id` and `client_secret`: the form fields Tailscale's OAuth docs
//! show and the PyPI `tailscale` client sends. Go's clientcredentials
//! (golang/oauth2 v0.34.0 `internal/token.go`, what tailscale-client-go v2
//! uses) tries HTTP Basic first and falls back to these same fields
//! (`AuthStyleInParams`), so the API takes both; the fields are the one way
//! its docs name. The body is never logged.

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::secrets::Secret;

/// Renew this long before the token's stated expiry, so a token never
/// expires between being read from the cache and reaching the API.
pub(crate) const RENEW_MARGIN: Duration = Duration::from_secs(60);

#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    pub access_token: String,
    #[serde(default)]
    pub token_type: Option<String>,
    #[serde(default = "default_lifetime")]
    pub expires_in: u64,
}

fn default_lifetime() -> u64 {
    3600
}

/// One cached access token.
pub(crate) struct Cached {
    pub token: Secret,
    pub renew_at: Instant,
}

impl Cached {
    pub fn from_answer(answer: TokenAnswer, now: Instant) -> Result<Cached, String> {
        if answer.access_token.trim().is_empty() {
            return Err("the token answer has an empty access_token".into());
        }
        if let Some(t) = &answer.token_type {
            if !t.eq_ignore_ascii_case("bearer") {
                return Err(format!("token_type {t:?}, expected Bearer"));
            }
        }
        let life = Duration::from_secs(answer.expires_in);
        Ok(Cached {
            token: Secret::new(answer.access_token),
            renew_at: now + life.saturating_sub(RENEW_MARGIN),
        })
    }

    pub fn fresh(&self, now: Instant) -> bool {
        now < self.renew_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_renewed_a_minute_before_it_expires() {
        let now = Instant::now();
        let c = Cached::from_answer(
            TokenAnswer {
                access_token: "tskey-api-x".into(),
                token_type: Some("Bearer".into()),
                expires_in: 3600,
            },
            now,
        )
        .unwrap();
        assert!(c.fresh(now + Duration::from_secs(3539)));
        assert!(!c.fresh(now + Duration::from_secs(3540)));
        // A token shorter-lived than the margin is used once, never cached.
        let short = Cached::from_answer(
            TokenAnswer {
                access_token: "t".into(),
                token_type: None,
                expires_in: 30,
            },
            now,
        )
        .unwrap();
        assert!(!short.fresh(now));
    }

    #[test]
    fn odd_answers_are_refused() {
        let bad = |t: &str, ty: Option<&str>| {
            Cached::from_answer(
                TokenAnswer {
                    access_token: t.into(),
                    token_type: ty.map(str::to_string),
                    expires_in: 3600,
                },
                Instant::now(),
            )
            .is_err()
        };
        assert!(bad("", Some("Bearer")));
        assert!(bad("tok", Some("mac")));
        assert!(!bad("tok", Some("bearer")));
    }
}
