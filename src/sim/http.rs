//! The HTTP face of the simulator: authentication, rate limit, injected
//! faults, routing onto [`World`] methods, and the envelope/paging headers.
//! Nothing here decides an API rule; that is the state model's job.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::catalog_listing as cat;
use super::error::{ApiError, ApiResult};
use super::faults::Injected;
use super::query::{percent_encode, Listing, QueryPairs};
use super::rate_limit::Verdict;
use super::tailscale;
use super::{LoggedRequest, Sim, SimConfig, World};

/// What a route produced.
enum Reply {
    Json(StatusCode, Value),
    List(Listing),
    NoContent,
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimServer {
    pub addr: SocketAddr,
    pub sim: Sim,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// The base URL clients use, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn endpoint(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.sim.request_log()
    }

    /// The Tailscale API base URL on the same server, e.g.
    /// `http://127.0.0.1:PORT/api/v2`.
    pub fn tailscale_endpoint(&self) -> String {
        format!("http://{}/api/v2", self.addr)
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Waits until the server stops (for `sim serve`, which runs until killed).
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds `addr` (port 0 picks a free one) and serves a fresh simulator.
pub async fn serve(config: SimConfig, addr: SocketAddr) -> std::io::Result<SimServer> {
    serve_sim(Sim::new(config), addr).await
}

/// Serves an existing [`Sim`] (so a test can prepare state first).
pub async fn serve_sim(sim: Sim, addr: SocketAddr) -> std::io::Result<SimServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback(handle).with_state(sim.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(SimServer {
        addr,
        sim,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Marker payload for a deliberately dropped connection.
struct DroppedConnection;

async fn handle(State(sim): State<Sim>, req: Request) -> Response {
    let method = req.method().clone();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().map(str::to_string);
    let body = match axum::body::to_bytes(req.into_body(), 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let latency = sim.world().config.latency;
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }

    if tailscale::http::serves(&path) {
        // The Tailscale simulator: its own auth, faults and error shape,
        // outside Hetzner's rate-limit buckets.
        let response = {
            let mut world = sim.world();
            tailscale::http::respond(
                &mut world.tailscale,
                &method,
                &path,
                raw_query.as_deref(),
                &headers,
                &body,
            )
        };
        sim.record(LoggedRequest {
            method: method.to_string(),
            path: path_and_query,
            status: response.status().as_u16(),
            at: sim.clock().now(),
        });
        return response;
    }

    let (verdict, outcome) = {
        let mut world = sim.world();
        process(
            &mut world,
            &method,
            &path,
            raw_query.as_deref(),
            &headers,
            &body,
        )
    };
    let at = sim.clock().now();
    let response = match outcome {
        Outcome::Drop => {
            sim.record(LoggedRequest {
                method: method.to_string(),
                path: path_and_query,
                status: 0,
                at,
            });
            // Unwinding out of the connection task closes the socket without
            // writing a response, which is what a dropped connection looks
            // like to a client. `resume_unwind` skips the panic hook (no noise).
            std::panic::resume_unwind(Box::new(DroppedConnection));
        }
        Outcome::Reply(Ok(reply)) => render(reply, &headers, &path, raw_query.as_deref()),
        Outcome::Reply(Err(e)) => error_response(&e),
    };
    let mut response = response;
    if let Some(v) = verdict {
        let h = response.headers_mut();
        h.insert("RateLimit-Limit", HeaderValue::from(v.limit));
        h.insert("RateLimit-Remaining", HeaderValue::from(v.remaining));
        h.insert("RateLimit-Reset", HeaderValue::from(v.reset));
    }
    sim.record(LoggedRequest {
        method: method.to_string(),
        path: path_and_query,
        status: response.status().as_u16(),
        at,
    });
    response
}

enum Outcome {
    Drop,
    Reply(ApiResult<Reply>),
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Everything before and including the state change, under one lock.
fn process(
    world: &mut World,
    method: &Method,
    path: &str,
    raw_query: Option<&str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> (Option<Verdict>, Outcome) {
    let token = bearer(headers).unwrap_or("").to_string();
    if world.config.other_project_tokens.contains(&token) {
        let config = SimConfig {
            tokens: world.config.other_project_tokens.clone(),
            readonly_tokens: vec![],
            other_project_tokens: vec![],
            ..world.config.clone()
        };
        let other = world
            .other_project
            .get_or_insert_with(|| Box::new(World::new(config)));
        return process(other, method, path, raw_query, headers, body);
    }
    let verdict = world.take_rate_limit(&token);
    if !verdict.allowed {
        return (
            Some(verdict),
            Outcome::Reply(Err(ApiError::rate_limit_exceeded())),
        );
    }
    let read_write = world.config.tokens.contains(&token);
    let read_only = world.config.readonly_tokens.contains(&token);
    if token.is_empty() || !(read_write || read_only) {
        return (Some(verdict), Outcome::Reply(Err(ApiError::unauthorized())));
    }
    match world.dice.before_request() {
        Injected::Drop => return (Some(verdict), Outcome::Drop),
        Injected::Error(e) => return (Some(verdict), Outcome::Reply(Err(e))),
        Injected::None => {}
    }
    if *method != Method::GET && !read_write {
        return (
            Some(verdict),
            Outcome::Reply(Err(ApiError::token_readonly())),
        );
    }
    let body: Value = if body.is_empty() {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                return (
                    Some(verdict),
                    Outcome::Reply(Err(ApiError::json_error("body must be a JSON object"))),
                )
            }
            Err(e) => {
                return (
                    Some(verdict),
                    Outcome::Reply(Err(ApiError::json_error(format!("invalid JSON: {e}")))),
                )
            }
        }
    };
    let q = QueryPairs::parse(raw_query);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let result = match segments.split_first() {
        Some((&"v1", rest)) => route(world, method, rest, &q, &body),
        _ => Err(ApiError::not_found("route")),
    };
    let is_create = *method == Method::POST && segments.len() == 2;
    if is_create && result.is_ok() && world.dice.hide_created() {
        return (Some(verdict), Outcome::Reply(Err(ApiError::timeout())));
    }
    (Some(verdict), Outcome::Reply(result))
}

fn id(s: &str) -> ApiResult<i64> {
    s.parse::<i64>()
        .map_err(|_| ApiError::not_found("resource"))
}

fn ok(v: Value) -> ApiResult<Reply> {
    Ok(Reply::Json(StatusCode::OK, v))
}

fn created(v: Value) -> ApiResult<Reply> {
    Ok(Reply::Json(StatusCode::CREATED, v))
}

/// The route table: `/v1/<segments>` onto the state model.
fn route(
    w: &mut World,
    m: &Method,
    seg: &[&str],
    q: &QueryPairs,
    body: &Value,
) -> ApiResult<Reply> {
    use Method as M;
    match (m, seg) {
        (&M::GET, ["actions"]) => Ok(Reply::List(w.list_actions(q, None, None)?)),
        (&M::GET, ["actions", a]) => ok(w.get_action(id(a)?)?),

        (&M::GET, ["ssh_keys"]) => Ok(Reply::List(w.list_ssh_keys(q)?)),
        (&M::POST, ["ssh_keys"]) => created(w.create_ssh_key(body)?),
        (&M::GET, ["ssh_keys", k]) => ok(w.get_ssh_key(id(k)?)?),
        (&M::PUT, ["ssh_keys", k]) => ok(w.update_ssh_key(id(k)?, body)?),
        (&M::DELETE, ["ssh_keys", k]) => w.delete_ssh_key(id(k)?).map(|_| Reply::NoContent),

        (&M::GET, ["firewalls"]) => Ok(Reply::List(w.list_firewalls(q)?)),
        (&M::POST, ["firewalls"]) => created(w.create_firewall(body)?),
        (&M::GET, ["firewalls", "actions"]) => {
            Ok(Reply::List(w.list_actions(q, Some("firewall"), None)?))
        }
        (&M::GET, ["firewalls", "actions", a]) => ok(w.get_action_of_kind("firewall", id(a)?)?),
        (&M::GET, ["firewalls", f]) => ok(w.get_firewall(id(f)?)?),
        (&M::PUT, ["firewalls", f]) => ok(w.update_firewall(id(f)?, body)?),
        (&M::DELETE, ["firewalls", f]) => w.delete_firewall(id(f)?).map(|_| Reply::NoContent),
        (&M::GET, ["firewalls", f, "actions"]) => {
            let f = id(f)?;
            w.get_firewall(f)?;
            Ok(Reply::List(w.list_actions(q, Some("firewall"), Some(f))?))
        }
        (&M::GET, ["firewalls", _, "actions", a]) => ok(w.get_action_of_kind("firewall", id(a)?)?),
        (&M::POST, ["firewalls", f, "actions", "set_rules"]) => {
            created(w.set_firewall_rules(id(f)?, body)?)
        }
        (&M::POST, ["firewalls", f, "actions", "apply_to_resources"]) => {
            created(w.apply_firewall(id(f)?, body)?)
        }
        (&M::POST, ["firewalls", f, "actions", "remove_from_resources"]) => {
            created(w.remove_firewall(id(f)?, body)?)
        }

        (&M::GET, ["servers"]) => Ok(Reply::List(w.list_servers(q)?)),
        (&M::POST, ["servers"]) => created(w.create_server(body)?),
        (&M::GET, ["servers", "actions"]) => {
            Ok(Reply::List(w.list_actions(q, Some("server"), None)?))
        }
        (&M::GET, ["servers", "actions", a]) => ok(w.get_action_of_kind("server", id(a)?)?),
        (&M::GET, ["servers", s]) => ok(w.get_server(id(s)?)?),
        (&M::PUT, ["servers", s]) => ok(w.update_server(id(s)?, body)?),
        (&M::DELETE, ["servers", s]) => ok(w.delete_server(id(s)?)?),
        (&M::GET, ["servers", s, "actions"]) => {
            let s = id(s)?;
            w.get_server(s)?;
            Ok(Reply::List(w.list_actions(q, Some("server"), Some(s))?))
        }
        (&M::GET, ["servers", _, "actions", a]) => ok(w.get_action_of_kind("server", id(a)?)?),
        (&M::POST, ["servers", s, "actions", "change_protection"]) => {
            created(w.change_server_protection(id(s)?, body)?)
        }
        (&M::POST, ["servers", s, "actions", "enable_backup"]) => {
            created(w.set_server_backups(id(s)?, true)?)
        }
        (&M::POST, ["servers", s, "actions", "disable_backup"]) => {
            created(w.set_server_backups(id(s)?, false)?)
        }
        (
            &M::POST,
            ["servers", s, "actions", cmd @ ("poweron" | "poweroff" | "reboot" | "reset" | "shutdown")],
        ) => {
            let command = match *cmd {
                "poweron" => "start_server",
                "poweroff" => "stop_server",
                "reboot" => "reboot_server",
                "reset" => "reset_server",
                _ => "shutdown_server",
            };
            created(w.server_power_action(id(s)?, command)?)
        }

        (&M::GET, ["locations"]) => Ok(Reply::List(cat::list_locations(q)?)),
        (&M::GET, ["locations", l]) => ok(cat::get_location(id(l)?)?),
        (&M::GET, ["datacenters"]) => Ok(Reply::List(cat::list_datacenters(q)?)),
        (&M::GET, ["datacenters", d]) => ok(cat::get_datacenter(id(d)?)?),
        (&M::GET, ["server_types"]) => Ok(Reply::List(cat::list_server_types(q)?)),
        (&M::GET, ["server_types", t]) => ok(cat::get_server_type(id(t)?)?),
        (&M::GET, ["images"]) => Ok(Reply::List(cat::list_images(q)?)),
        (&M::GET, ["images", i]) => ok(cat::get_image(id(i)?)?),
        (&M::GET, ["pricing"]) => ok(super::catalog::pricing_json()),
        _ => Err(ApiError::not_found("route")),
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    r
}

fn error_response(e: &ApiError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    json_response(status, &e.body())
}

fn render(reply: Reply, headers: &HeaderMap, path: &str, raw_query: Option<&str>) -> Response {
    match reply {
        Reply::Json(status, v) => json_response(status, &v),
        Reply::NoContent => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::empty())
            .unwrap_or_default(),
        Reply::List(listing) => {
            let mut body = serde_json::Map::new();
            body.insert(listing.key.to_string(), Value::Array(listing.items));
            body.insert("meta".to_string(), listing.page.meta());
            for (k, v) in listing.extra {
                body.insert(k.to_string(), v);
            }
            let mut r = json_response(StatusCode::OK, &Value::Object(body));
            let host = headers
                .get("host")
                .and_then(|h| h.to_str().ok())
                .unwrap_or("localhost");
            let rest: Vec<String> = QueryPairs::parse(raw_query)
                .without_paging()
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
                .collect();
            let per_page = listing.page.per_page;
            let link = listing.page.link_header(|n| {
                let mut parts = rest.clone();
                parts.push(format!("page={n}"));
                parts.push(format!("per_page={per_page}"));
                format!("http://{host}{path}?{}", parts.join("&"))
            });
            if let Ok(v) = HeaderValue::from_str(&link) {
                r.headers_mut().insert("link", v);
            }
            r
        }
    }
}
