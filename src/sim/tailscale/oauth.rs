//! Credentials: the OAuth client-credentials grant that mints access tokens,
//! and the scopes and tags a token carries into every other request.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::error::{TsError, TsResult};
use super::TailscaleWorld;

/// How long a minted access token works (the API's `expires_in`).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// What `POST /api/v2/oauth/token` was given, wherever each part came from
/// (HTTP Basic or form fields).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Space-separated scopes, a subset of the client's.
    pub scope: Option<String>,
    /// Space-separated tags, a subset of the client's.
    pub tags: Option<String>,
}

impl TokenRequest {
    /// The plain grant: just the client's id and secret.
    pub fn client(id: &str, secret: &str) -> Self {
        TokenRequest {
            grant_type: Some("client_credentials".to_string()),
            client_id: Some(id.to_string()),
            client_secret: Some(secret.to_string()),
            ..TokenRequest::default()
        }
    }
}

/// An access token minted through an OAuth client.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    /// The key id inside the token (`tskey-api-<id>-<secret>`).
    pub id: String,
    pub token: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub tags: Vec<String>,
    pub expires: SystemTime,
}

impl AccessToken {
    /// The token endpoint's answer.
    pub fn json(&self, now: SystemTime) -> Value {
        json!({
            "access_token": self.token,
            "token_type": "Bearer",
            // Rounded up: rendered a moment after minting, it still says 3600.
            "expires_in": self
                .expires
                .duration_since(now)
                .map(|d| d.as_nanos().div_ceil(1_000_000_000) as u64)
                .unwrap_or(0),
            "scope": self.scopes.join(" "),
            "tags": self.tags.join(" "),
        })
    }
}

/// Who is calling: a configured API access token (a user's: every scope,
/// any tags) or a token minted through an OAuth client.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    ApiToken,
    OAuth {
        client_id: String,
        scopes: Vec<String>,
        tags: Vec<String>,
    },
}

/// The scope an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `auth_keys:read` (or `auth_keys`): list and get keys.
    KeysRead,
    /// `auth_keys`: create and delete keys.
    Keys,
    /// `devices:core:read` (or `devices:core`): list and get devices.
    DevicesRead,
    /// `devices:core`: delete, tags, key expiry, authorize.
    Devices,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::KeysRead => "auth_keys:read",
            Scope::Keys => "auth_keys",
            Scope::DevicesRead => "devices:core:read",
            Scope::Devices => "devices:core",
        }
    }
}

/// Whether holding scope `have` grants scope `want`: the scope itself, its
/// `:read` half, `all`, and `all:read` for any `:read` scope.
pub fn grants(have: &str, want: &str) -> bool {
    if have == want || have == "all" {
        return true;
    }
    match want.strip_suffix(":read") {
        Some(base) => have == base || have == "all:read",
        None => false,
    }
}

impl Actor {
    /// 403 naming the scope when this actor does not hold it.
    pub fn require(&self, scope: Scope) -> TsResult<()> {
        match self {
            Actor::ApiToken => Ok(()),
            Actor::OAuth { scopes, .. } => {
                if scopes.iter().any(|have| grants(have, scope.name())) {
                    Ok(())
                } else {
                    Err(TsError::forbidden(format!(
                        "calling actor does not have enough permissions to perform this function: \
                         requires scope \"{}\"",
                        scope.name()
                    )))
                }
            }
        }
    }

    /// The tags this actor owns; `None` means any (a user's API token).
    pub fn owned_tags(&self) -> Option<&[String]> {
        match self {
            Actor::ApiToken => None,
            Actor::OAuth { tags, .. } => Some(tags),
        }
    }
}

/// Splits a space- (or comma-) separated list.
fn words(s: &str) -> Vec<String> {
    s.split([' ', ','])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl TailscaleWorld {
    /// The client-credentials grant. A missing `grant_type` is accepted (the
    /// PyPI client sends none and works against the real API); a missing
    /// `client_id` is read from the secret (`tskey-client-<id>-...`).
    pub fn mint_token(&mut self, req: &TokenRequest) -> TsResult<AccessToken> {
        if let Some(g) = req.grant_type.as_deref() {
            if g != "client_credentials" {
                return Err(TsError::bad_request(format!(
                    "unsupported grant_type \"{g}\": only client_credentials"
                )));
            }
        }
        let secret = req.client_secret.as_deref().unwrap_or("");
        let id = match req.client_id.as_deref() {
            Some(id) if !id.is_empty() => id.to_string(),
            _ => secret
                .strip_prefix("tskey-client-")
                .and_then(|rest| rest.split_once('-'))
                .map(|(id, _)| id.to_string())
                .unwrap_or_default(),
        };
        let client = self
            .config
            .oauth_clients
            .iter()
            .find(|c| c.id == id && !secret.is_empty() && c.secret == secret)
            .cloned()
            .ok_or_else(|| TsError::new(401, "invalid client credentials"))?;
        let scopes = match req.scope.as_deref().map(words) {
            Some(asked) if !asked.is_empty() => {
                if let Some(bad) = asked
                    .iter()
                    .find(|want| !client.scopes.iter().any(|have| grants(have, want)))
                {
                    return Err(TsError::bad_request(format!(
                        "requested scope \"{bad}\" is not granted to this OAuth client"
                    )));
                }
                asked
            }
            _ => client.scopes.clone(),
        };
        let tags = match req.tags.as_deref().map(words) {
            Some(asked) if !asked.is_empty() => {
                let foreign: Vec<String> = asked
                    .iter()
                    .filter(|t| !client.tags.contains(t))
                    .cloned()
                    .collect();
                if !foreign.is_empty() {
                    return Err(TsError::tags_not_permitted(&foreign));
                }
                asked
            }
            _ => client.tags.clone(),
        };
        let kid = self.stable_id('k');
        let token = AccessToken {
            token: format!("tskey-api-{kid}-{}", self.secret()),
            id: kid,
            client_id: client.id,
            scopes,
            tags,
            expires: self.now() + TOKEN_LIFETIME,
        };
        self.tokens.push(token.clone());
        Ok(token)
    }

    /// The actor behind a bearer token; 401 `API token invalid` when it is
    /// unknown or expired.
    pub fn authenticate(&self, token: &str) -> TsResult<Actor> {
        if token.is_empty() {
            return Err(TsError::token_invalid());
        }
        if self.config.api_tokens.iter().any(|t| t == token) {
            return Ok(Actor::ApiToken);
        }
        let now = self.now();
        match self.tokens.iter().find(|t| t.token == token) {
            Some(t) if now < t.expires => Ok(Actor::OAuth {
                client_id: t.client_id.clone(),
                scopes: t.scopes.clone(),
                tags: t.tags.clone(),
            }),
            _ => Err(TsError::token_invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::{DEFAULT_TS_CLIENT_ID, DEFAULT_TS_CLIENT_SECRET};
    use super::super::test_support::world;
    use super::*;

    #[test]
    fn a_token_works_for_an_hour_of_sim_time() {
        let (mut w, clock) = world();
        let t = w
            .mint_token(&TokenRequest::client(
                DEFAULT_TS_CLIENT_ID,
                DEFAULT_TS_CLIENT_SECRET,
            ))
            .expect("mints");
        assert!(t.token.starts_with("tskey-api-k"));
        assert_eq!(t.json(w.now())["expires_in"], 3600);
        assert_eq!(t.json(w.now())["tags"], "tag:openclaw");
        clock.advance(Duration::from_secs(3599));
        assert!(w.authenticate(&t.token).is_ok());
        clock.advance(Duration::from_secs(1));
        assert_eq!(w.authenticate(&t.token), Err(TsError::token_invalid()));
    }

    #[test]
    fn wrong_secret_or_unknown_client_is_401() {
        let (mut w, _) = world();
        for req in [
            TokenRequest::client(DEFAULT_TS_CLIENT_ID, "tskey-client-nope"),
            TokenRequest::client("kOtherCNTRL", DEFAULT_TS_CLIENT_SECRET),
            TokenRequest::client(DEFAULT_TS_CLIENT_ID, ""),
        ] {
            assert_eq!(w.mint_token(&req).map(|_| ()).unwrap_err().status, 401);
        }
        let no_id = TokenRequest {
            client_secret: Some(DEFAULT_TS_CLIENT_SECRET.to_string()),
            ..TokenRequest::default()
        };
        assert!(w.mint_token(&no_id).is_ok(), "id read from the secret");
    }

    #[test]
    fn scope_and_tags_must_be_within_the_clients() {
        let (mut w, _) = world();
        let mut req = TokenRequest::client(DEFAULT_TS_CLIENT_ID, DEFAULT_TS_CLIENT_SECRET);
        req.scope = Some("devices:core:read".into());
        let t = w.mint_token(&req).expect("a narrower scope");
        let actor = w.authenticate(&t.token).expect("works");
        assert!(actor.require(Scope::DevicesRead).is_ok());
        let e = actor.require(Scope::Devices).unwrap_err();
        assert_eq!(e.status, 403);
        assert!(e.message.contains("\"devices:core\""), "{}", e.message);
        assert_eq!(actor.require(Scope::KeysRead).unwrap_err().status, 403);

        req.scope = Some("all".into());
        assert_eq!(w.mint_token(&req).unwrap_err().status, 400);
        req.scope = None;
        req.tags = Some("tag:other".into());
        let e = w.mint_token(&req).unwrap_err();
        assert_eq!(
            e.message,
            "requested tags [tag:other] are invalid or not permitted"
        );
        req.grant_type = Some("password".into());
        req.tags = None;
        assert_eq!(w.mint_token(&req).unwrap_err().status, 400);
    }

    #[test]
    fn scope_implications() {
        assert!(grants("auth_keys", "auth_keys:read"));
        assert!(!grants("auth_keys:read", "auth_keys"));
        assert!(grants("all", "devices:core"));
        assert!(grants("all:read", "devices:core:read"));
        assert!(!grants("all:read", "devices:core"));
        assert!(!grants("devices:core", "auth_keys"));
    }

    #[test]
    fn api_tokens_have_every_scope_and_any_tag() {
        let (mut w, _) = world();
        w.config.api_tokens.push("tskey-api-user".into());
        let a = w.authenticate("tskey-api-user").expect("configured");
        assert!(a.require(Scope::Keys).is_ok() && a.require(Scope::Devices).is_ok());
        assert_eq!(a.owned_tags(), None);
        assert_eq!(w.authenticate("tskey-api-other").unwrap_err().status, 401);
        assert_eq!(w.authenticate("").unwrap_err().status, 401);
    }
}
