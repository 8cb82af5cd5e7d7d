//! The HTTP face of the Tailscale simulator, mounted on the Hetzner
//! simulator's server: `/api/v2/...` (Tailscale's API) and
//! `/sim/tailscale/...` (the control plane). Parses credentials and bodies,
//! routes onto [`TailscaleWorld`] methods and renders `{"message"}` errors;
//! it decides no API rule itself.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::Value;

use super::config::ClientCredentialsIn;
use super::control::{parse, JoinRequest, SeenRequest};
use super::error::{TsError, TsResult};
use super::oauth::TokenRequest;
use super::TailscaleWorld;
use crate::sim::query::{percent_decode, QueryPairs};

/// What a route produced.
enum Reply {
    Json(Value),
    /// 200 with an empty body (`DELETE`, device changes).
    Empty,
}

/// Whether this request is the Tailscale simulator's (else it is Hetzner's).
pub fn serves(path: &str) -> bool {
    path == "/api/v2" || path.starts_with("/api/v2/") || path.starts_with("/sim/tailscale/")
}

/// Answers one request (under the world's lock).
pub fn respond(
    w: &mut TailscaleWorld,
    method: &Method,
    path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let q = QueryPairs::parse(raw_query);
    let result = match segments.as_slice() {
        ["sim", "tailscale", rest @ ..] => control(w, method, rest, body),
        ["api", "v2", rest @ ..] => match w.faults.take() {
            Some(e) => Err(e),
            None => api(w, method, rest, &q, headers, body),
        },
        _ => Err(TsError::not_found("route")),
    };
    match result {
        Ok(Reply::Json(v)) => json_response(StatusCode::OK, &v),
        Ok(Reply::Empty) => Response::builder()
            .status(StatusCode::OK)
            .body(Body::empty())
            .unwrap_or_default(),
        Err(e) => {
            let status =
                StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = json_response(status, &e.body());
            if status == StatusCode::TOO_MANY_REQUESTS {
                r.headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
            }
            r
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

/// A JSON object body (empty means `{}`), or 400.
fn json_body(body: &[u8]) -> TsResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(TsError::bad_request("the body must be a JSON object")),
        Err(e) => Err(TsError::bad_request(format!("invalid JSON body: {e}"))),
    }
}

/// `Authorization: Basic` as `(user, password)`, each form-decoded as
/// RFC 6749 has OAuth clients encode them.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get("authorization")?.to_str().ok()?;
    let encoded = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':').unwrap_or((&decoded, ""));
    Some((percent_decode(user), percent_decode(password)))
}

/// The API token of a request: Bearer, or Basic with the token as user.
fn api_token(headers: &HeaderMap) -> String {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    bearer
        .or_else(|| basic(headers).map(|(user, _)| user))
        .unwrap_or_default()
}

/// `POST /api/v2/oauth/token`: form fields, the client as Basic or fields
/// (or fields only: [`ClientCredentialsIn::FormOnly`]).
fn token(w: &mut TailscaleWorld, headers: &HeaderMap, body: &[u8]) -> TsResult<Reply> {
    let form = QueryPairs::parse(Some(&String::from_utf8_lossy(body)));
    let field = |k: &str| form.get(k).map(str::to_string);
    let basic = match w.config.client_credentials {
        ClientCredentialsIn::BasicOrForm => basic(headers),
        ClientCredentialsIn::FormOnly => None,
    };
    let (basic_id, basic_secret) = match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (None, None),
    };
    let req = TokenRequest {
        grant_type: field("grant_type"),
        client_id: basic_id.or_else(|| field("client_id")),
        client_secret: basic_secret.or_else(|| field("client_secret")),
        scope: field("scope"),
        tags: field("tags"),
    };
    let token = w.mint_token(&req)?;
    Ok(Reply::Json(token.json(w.now())))
}

/// 404 unless `{t}` names the simulated tailnet.
fn tailnet(w: &TailscaleWorld, t: &str) -> TsResult<()> {
    if w.is_tailnet(t) {
        Ok(())
    } else {
        Err(TsError::not_found("tailnet"))
    }
}

/// The route table of `/api/v2/<rest>`.
fn api(
    w: &mut TailscaleWorld,
    m: &Method,
    rest: &[&str],
    q: &QueryPairs,
    headers: &HeaderMap,
    body: &[u8],
) -> TsResult<Reply> {
    use Method as M;
    if let (&M::POST, ["oauth", "token"]) = (m, rest) {
        return token(w, headers, body);
    }
    let actor = w.authenticate(&api_token(headers))?;
    let done = |r: TsResult<()>| r.map(|()| Reply::Empty);
    match (m, rest) {
        (&M::GET, ["tailnet", t, "keys"]) => {
            tailnet(w, t)?;
            w.list_keys(&actor).map(Reply::Json)
        }
        (&M::POST, ["tailnet", t, "keys"]) => {
            tailnet(w, t)?;
            let created = w.create_key(&actor, &json_body(body)?)?;
            if w.faults.lose_create() {
                return Err(TsError::new(
                    500,
                    "internal server error (injected, after the key was created)",
                ));
            }
            Ok(Reply::Json(created))
        }
        (&M::GET, ["tailnet", t, "keys", id]) => {
            tailnet(w, t)?;
            w.get_key(&actor, id).map(Reply::Json)
        }
        (&M::DELETE, ["tailnet", t, "keys", id]) => {
            tailnet(w, t)?;
            done(w.delete_key(&actor, id))
        }
        (&M::GET, ["tailnet", t, "devices"]) => {
            tailnet(w, t)?;
            w.list_devices(&actor, q).map(Reply::Json)
        }
        (&M::GET, ["device", id]) => w.get_device(&actor, id, q).map(Reply::Json),
        (&M::DELETE, ["device", id]) => done(w.delete_device(&actor, id)),
        (&M::POST, ["device", id, "key"]) => done(w.set_key_expiry(&actor, id, &json_body(body)?)),
        (&M::POST, ["device", id, "tags"]) => {
            done(w.set_device_tags(&actor, id, &json_body(body)?))
        }
        (&M::POST, ["device", id, "authorized"]) => {
            done(w.set_authorized(&actor, id, &json_body(body)?))
        }
        (&M::POST, ["device", id, "expire"]) => done(w.expire_device_key(&actor, id)),
        _ => Err(TsError::not_found("route")),
    }
}

/// The route table of `/sim/tailscale/<rest>` (no bearer: a join's
/// credential is its auth key).
fn control(w: &mut TailscaleWorld, m: &Method, rest: &[&str], body: &[u8]) -> TsResult<Reply> {
    let device = |d: super::Device, w: &TailscaleWorld| {
        Reply::Json(serde_json::json!({"device": d.json(w.now(), false)}))
    };
    match (m, rest) {
        (&Method::POST, ["join"]) => {
            let req: JoinRequest = parse(&json_body(body)?)?;
            let d = w.join(&req)?;
            Ok(device(d, w))
        }
        (&Method::POST, ["seen"]) => {
            let req: SeenRequest = parse(&json_body(body)?)?;
            let d = w.seen(&req)?;
            Ok(device(d, w))
        }
        (&Method::GET, ["machines"]) => {
            Ok(Reply::Json(serde_json::json!({"machines": w.machines()})))
        }
        _ => Err(TsError::not_found("route")),
    }
}
