//! Servers: validated creation (catalog, user_data size, firewalls attached
//! at create), boot progression driven by actions, delete protection, and
//! `locked` while an action runs on them.

use std::time::SystemTime;

use rand::Rng;
use serde_json::{json, Value};

use super::action::ActionOutcome;
use super::catalog::{self, Image, Location, ServerType};
use super::clock::rfc3339;
use super::error::{ApiError, ApiResult};
use super::firewall::Target;
use super::labels::{parse_labels, Labels};
use super::query::{ListQuery, Listing, QueryPairs};
use super::world::{check_name, name_or_id, opt_str, req_str, World};

/// Hetzner's limit on `user_data`.
pub const USER_DATA_MAX: usize = 32 * 1024;

#[derive(Debug, Clone)]
pub struct Server {
    pub id: i64,
    pub name: String,
    pub labels: Labels,
    pub server_type: &'static ServerType,
    pub location: &'static Location,
    pub image: &'static Image,
    pub ipv4: Option<(i64, String)>,
    pub ipv6: Option<(i64, String)>,
    pub protect_delete: bool,
    pub protect_rebuild: bool,
    pub created: SystemTime,
    pub create_action: i64,
    pub start_action: i64,
    pub delete_action: Option<i64>,
    /// Kept so tests can check what the server would boot with; never returned.
    pub user_data: Option<String>,
    pub ssh_keys: Vec<i64>,
    /// Daily backups on: the API then shows a `backup_window`.
    pub backups: bool,
    /// What the console or another client may have set (tests do, through
    /// the world): rescue mode enabled, an ISO attached.
    pub rescue_enabled: bool,
    pub iso: Option<String>,
}

super::query::listed_resource!(Server);

/// Addresses from the documentation ranges (RFC 5737 / RFC 3849): never real hosts.
fn ipv4_for(n: u32) -> Option<String> {
    let nets = ["203.0.113", "198.51.100", "192.0.2"];
    let net = nets.get((n / 254) as usize)?;
    Some(format!("{net}.{}", n % 254 + 1))
}

impl World {
    pub fn server_status(&self, s: &Server) -> &'static str {
        let now = self.now();
        let done = |id: i64| self.actions.get(&id).map(|a| (a.finished(now), a.outcome));
        if s.delete_action.is_some() {
            return "deleting";
        }
        match (done(s.create_action), done(s.start_action)) {
            (Some((false, _)), _) => "initializing",
            (Some((true, ActionOutcome::Error)), _) => "off",
            (_, Some((false, _))) => "starting",
            (_, Some((true, ActionOutcome::Error))) => "off",
            _ => "running",
        }
    }

    pub fn server_json(&self, s: &Server) -> Value {
        let firewalls: Vec<Value> = self
            .firewalls_of_server(s.id)
            .iter()
            .map(|id| json!({"id": id, "status": "applied"}))
            .collect();
        let ipv4 = match &s.ipv4 {
            Some((id, ip)) => json!({"id": id, "ip": ip, "blocked": false,
                "dns_ptr": format!("static.{}.clients.your-server.de", ip.split('.').rev().collect::<Vec<_>>().join("."))}),
            None => Value::Null,
        };
        let ipv6 = match &s.ipv6 {
            Some((id, ip)) => json!({"id": id, "ip": ip, "blocked": false, "dns_ptr": []}),
            None => Value::Null,
        };
        json!({
            "id": s.id,
            "name": s.name,
            "status": self.server_status(s),
            "created": rfc3339(s.created),
            "public_net": {"ipv4": ipv4, "ipv6": ipv6, "floating_ips": [], "firewalls": firewalls},
            "private_net": [],
            "server_type": s.server_type.json(),
            "datacenter": s.location.datacenter_json(),
            "location": s.location.json(),
            "image": s.image.json(),
            "iso": s.iso.as_ref().map(|name| json!({
                "id": 4711, "name": name, "description": name, "type": "public",
                "deprecation": null, "architecture": "x86"})),
            "rescue_enabled": s.rescue_enabled,
            "locked": self.is_locked(s.id, "server"),
            "backup_window": if s.backups { json!("22-02") } else { Value::Null },
            "outgoing_traffic": 0,
            "ingoing_traffic": 0,
            "included_traffic": s.server_type.prices()[0]["included_traffic"],
            "protection": {"delete": s.protect_delete, "rebuild": s.protect_rebuild},
            "labels": s.labels,
            "volumes": [],
            "load_balancers": [],
            "primary_disk_size": s.server_type.disk,
            "placement_group": null,
        })
    }

    pub fn create_server(&mut self, body: &Value) -> ApiResult<Value> {
        self.settle();
        let name = req_str(body, "name")?;
        check_name("name", name, true)?;
        let st_ref = body
            .get("server_type")
            .and_then(name_or_id)
            .ok_or_else(|| ApiError::invalid_field("server_type", "is required"))?;
        let server_type = catalog::server_type(&st_ref).ok_or_else(|| {
            ApiError::invalid_field("server_type", format!("unknown server type '{st_ref}'"))
        })?;
        let image_ref = body
            .get("image")
            .and_then(name_or_id)
            .ok_or_else(|| ApiError::invalid_field("image", "is required"))?;
        let image =
            catalog::image(&image_ref, Some(server_type.architecture)).ok_or_else(|| {
                ApiError::invalid_field(
                    "image",
                    format!(
                        "unknown image '{image_ref}' for {}",
                        server_type.architecture
                    ),
                )
            })?;
        if image.architecture != server_type.architecture {
            return Err(ApiError::invalid_field(
                "image",
                "image architecture does not match the server type",
            ));
        }
        let location = match (
            body.get("location").and_then(name_or_id),
            body.get("datacenter").and_then(name_or_id),
        ) {
            (Some(l), _) => catalog::location(&l).ok_or_else(|| {
                ApiError::invalid_field("location", format!("unknown location '{l}'"))
            })?,
            (None, Some(d)) => catalog::location_by_datacenter(&d).ok_or_else(|| {
                ApiError::invalid_field("datacenter", format!("unknown datacenter '{d}'"))
            })?,
            (None, None) => catalog::location(server_type.locations[0])
                .ok_or_else(|| ApiError::invalid_field("location", "no default location"))?,
        };
        if !server_type.locations.contains(&location.name) {
            return Err(ApiError::invalid_field(
                "server_type",
                format!(
                    "server type {} is not available in {}",
                    server_type.name, location.name
                ),
            ));
        }
        let user_data = opt_str(body, "user_data")?;
        if user_data.is_some_and(|u| u.len() > USER_DATA_MAX) {
            return Err(ApiError::invalid_field(
                "user_data",
                format!("user_data must be at most {USER_DATA_MAX} bytes"),
            ));
        }
        let labels = parse_labels(body.get("labels"))?;
        let ssh_keys = self.resolve_ssh_keys(body.get("ssh_keys"))?;
        let firewalls = self.resolve_firewalls(body.get("firewalls"))?;
        let (enable_v4, enable_v6) = match body.get("public_net") {
            None | Some(Value::Null) => (true, true),
            Some(p) => (
                p.get("enable_ipv4")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
                p.get("enable_ipv6")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            ),
        };
        if self.servers.values().any(|s| s.name == name) {
            return Err(ApiError::uniqueness("name"));
        }
        let ipv4 = if enable_v4 {
            let ip = ipv4_for(self.next_ip)
                .ok_or_else(|| ApiError::resource_unavailable("no free IPv4 address left"))?;
            self.next_ip += 1;
            Some((self.next_id(), ip))
        } else {
            None
        };
        let ipv6 = if enable_v6 {
            let id = self.next_id();
            Some((id, format!("2001:db8:{:x}::/64", id)))
        } else {
            None
        };
        let id = self.next_id();
        let now = self.now();
        let create_action = self.start_action("create_server", vec![(id, "server")], now);
        let create_end = self.actions[&create_action].ends;
        let start_action = self.start_action("start_server", vec![(id, "server")], create_end);
        for fw in &firewalls {
            if let Some(f) = self.firewalls.get_mut(fw) {
                f.applied_to.push(Target::Server(id));
            }
        }
        let root_password = if ssh_keys.is_empty() {
            let pw: String = (0..20)
                .map(|_| {
                    char::from(
                        b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
                            [self.dice_index(57)],
                    )
                })
                .collect();
            Value::String(pw)
        } else {
            Value::Null
        };
        let server = Server {
            id,
            name: name.to_string(),
            labels,
            server_type,
            location,
            image,
            ipv4,
            ipv6,
            protect_delete: false,
            protect_rebuild: false,
            created: now,
            create_action,
            start_action,
            delete_action: None,
            user_data: user_data.map(str::to_string),
            ssh_keys,
            backups: false,
            rescue_enabled: false,
            iso: None,
        };
        self.servers.insert(id, server);
        let s = &self.servers[&id];
        Ok(json!({
            "server": self.server_json(s),
            "action": self.action_json(create_action),
            "next_actions": [self.action_json(start_action)],
            "root_password": root_password,
        }))
    }

    fn dice_index(&mut self, n: usize) -> usize {
        rand::thread_rng().gen_range(0..n)
    }

    fn resolve_ssh_keys(&self, v: Option<&Value>) -> ApiResult<Vec<i64>> {
        let list = match v {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(ApiError::invalid_field("ssh_keys", "must be a list")),
        };
        list.iter()
            .map(|k| {
                let r = name_or_id(k).unwrap_or_default();
                self.ssh_keys
                    .values()
                    .find(|key| key.name == r || key.id.to_string() == r)
                    .map(|key| key.id)
                    .ok_or_else(|| {
                        ApiError::invalid_field("ssh_keys", format!("ssh key '{r}' not found"))
                    })
            })
            .collect()
    }

    fn resolve_firewalls(&self, v: Option<&Value>) -> ApiResult<Vec<i64>> {
        let list = match v {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(ApiError::invalid_field("firewalls", "must be a list")),
        };
        list.iter()
            .map(|f| {
                let id = f.get("firewall").and_then(Value::as_i64).ok_or_else(|| {
                    ApiError::invalid_field("firewalls", "each entry needs a 'firewall' id")
                })?;
                if self.firewalls.contains_key(&id) {
                    Ok(id)
                } else {
                    Err(ApiError::invalid_field(
                        "firewalls",
                        format!("firewall {id} not found"),
                    ))
                }
            })
            .collect()
    }

    fn live_server(&self, id: i64) -> ApiResult<&Server> {
        self.servers
            .get(&id)
            .ok_or_else(|| ApiError::not_found("server"))
    }

    pub fn get_server(&mut self, id: i64) -> ApiResult<Value> {
        self.settle();
        let s = self.live_server(id)?;
        Ok(json!({"server": self.server_json(s)}))
    }

    pub fn list_servers(&mut self, q: &QueryPairs) -> ApiResult<Listing> {
        self.settle();
        let query = ListQuery::parse(q)?;
        let statuses = q.all("status");
        let (items, page) = query.apply(
            self.servers
                .values()
                .filter(|s| statuses.is_empty() || statuses.contains(&self.server_status(s))),
        )?;
        Ok(Listing {
            extra: Vec::new(),
            key: "servers",
            items: items.iter().map(|s| self.server_json(s)).collect(),
            page,
        })
    }

    pub fn update_server(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        self.settle();
        self.live_server(id)?;
        let name = opt_str(body, "name")?;
        if let Some(name) = name {
            check_name("name", name, true)?;
            if self.servers.values().any(|s| s.name == name && s.id != id) {
                return Err(ApiError::uniqueness("name"));
            }
        }
        let labels = match body.get("labels") {
            Some(v) => Some(parse_labels(Some(v))?),
            None => None,
        };
        if let Some(s) = self.servers.get_mut(&id) {
            if let Some(name) = name {
                s.name = name.to_string();
            }
            if let Some(labels) = labels {
                s.labels = labels;
            }
        }
        let s = self.live_server(id)?;
        Ok(json!({"server": self.server_json(s)}))
    }

    /// Deletes a server: refused while protected or locked; detaches its
    /// firewalls at once; the server disappears when the action finishes.
    pub fn delete_server(&mut self, id: i64) -> ApiResult<Value> {
        self.settle();
        let s = self.live_server(id)?;
        if s.delete_action.is_some() {
            return Err(ApiError::locked("server"));
        }
        if s.protect_delete {
            return Err(ApiError::protected("server"));
        }
        if self.is_locked(id, "server") {
            return Err(ApiError::locked("server"));
        }
        for f in self.firewalls.values_mut() {
            f.applied_to.retain(|t| *t != Target::Server(id));
        }
        let now = self.now();
        let action = self.start_action("delete_server", vec![(id, "server")], now);
        if let Some(s) = self.servers.get_mut(&id) {
            s.delete_action = Some(action);
        }
        Ok(json!({"action": self.action_json(action)}))
    }

    /// `POST /servers/{id}/actions/change_protection`.
    pub fn change_server_protection(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        self.settle();
        self.live_server(id)?;
        if self.is_locked(id, "server") {
            return Err(ApiError::locked("server"));
        }
        let flag = |f: &str| -> ApiResult<Option<bool>> {
            match body.get(f) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(ApiError::invalid_field(f, "must be a boolean")),
            }
        };
        let (delete, rebuild) = (flag("delete")?, flag("rebuild")?);
        if let Some(s) = self.servers.get_mut(&id) {
            if let Some(d) = delete {
                s.protect_delete = d;
            }
            if let Some(r) = rebuild {
                s.protect_rebuild = r;
            }
        }
        let now = self.now();
        let action = self.start_action("change_protection", vec![(id, "server")], now);
        Ok(json!({"action": self.action_json(action)}))
    }

    /// `enable_backup` / `disable_backup`: an action that locks the server.
    pub fn set_server_backups(&mut self, id: i64, enable: bool) -> ApiResult<Value> {
        self.settle();
        self.live_server(id)?;
        if self.is_locked(id, "server") {
            return Err(ApiError::locked("server"));
        }
        if let Some(s) = self.servers.get_mut(&id) {
            s.backups = enable;
        }
        let now = self.now();
        let command = if enable {
            "enable_backup"
        } else {
            "disable_backup"
        };
        let action = self.start_action(command, vec![(id, "server")], now);
        Ok(json!({"action": self.action_json(action)}))
    }

    /// Power actions (`poweron`, `poweroff`, `reboot`, `shutdown`, `reset`):
    /// an action that locks the server while it runs.
    pub fn server_power_action(&mut self, id: i64, command: &str) -> ApiResult<Value> {
        self.settle();
        self.live_server(id)?;
        if self.is_locked(id, "server") {
            return Err(ApiError::locked("server"));
        }
        let now = self.now();
        let action = self.start_action(command, vec![(id, "server")], now);
        Ok(json!({"action": self.action_json(action)}))
    }
}
