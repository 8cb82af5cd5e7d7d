//! Firewalls: rules (validated like the real API), what they are applied to,
//! and the rule that an applied firewall cannot be deleted.

use std::net::IpAddr;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::clock::rfc3339;
use super::error::{ApiError, ApiResult};
use super::labels::{parse_labels, Labels, Selector};
use super::query::{ListQuery, Listing, QueryPairs};
use super::world::{check_name, opt_str, req_str, World};

/// What a firewall is applied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Server(i64),
    LabelSelector(String),
}

#[derive(Debug, Clone)]
pub struct Firewall {
    pub id: i64,
    pub name: String,
    pub labels: Labels,
    /// Normalized rule objects, as returned by the API.
    pub rules: Vec<Value>,
    pub applied_to: Vec<Target>,
    pub created: SystemTime,
}

super::query::listed_resource!(Firewall);

fn cidr_ok(s: &str) -> bool {
    let Some((ip, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

fn port_ok(s: &str) -> bool {
    let n = |p: &str| p.parse::<u32>().ok().filter(|n| (1..=65535).contains(n));
    match s.split_once('-') {
        _ if s == "any" => true,
        Some((a, b)) => matches!((n(a), n(b)), (Some(a), Some(b)) if a < b),
        None => n(s).is_some(),
    }
}

/// Validates and normalizes one rule; `i` names it in the error.
fn parse_rule(i: usize, rule: &Value) -> ApiResult<Value> {
    let bad = |msg: String| ApiError::invalid_field("rules", format!("rule {i}: {msg}"));
    let direction = rule.get("direction").and_then(Value::as_str).unwrap_or("");
    if !["in", "out"].contains(&direction) {
        return Err(bad("direction must be 'in' or 'out'".into()));
    }
    let protocol = rule.get("protocol").and_then(Value::as_str).unwrap_or("");
    if !["tcp", "udp", "icmp", "esp", "gre"].contains(&protocol) {
        return Err(bad(
            "protocol must be one of tcp, udp, icmp, esp, gre".into()
        ));
    }
    let port = rule.get("port").and_then(Value::as_str);
    match (protocol, port) {
        ("tcp" | "udp", None) => return Err(bad("port is required for tcp and udp".into())),
        ("tcp" | "udp", Some(p)) if !port_ok(p) => return Err(bad(format!("invalid port '{p}'"))),
        ("icmp" | "esp" | "gre", Some(_)) => {
            return Err(bad(format!("port is not allowed for {protocol}")))
        }
        _ => {}
    }
    let ips = |field: &str| -> ApiResult<Vec<String>> {
        match rule.get(field) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| match v.as_str() {
                    Some(s) if cidr_ok(s) => Ok(s.to_string()),
                    _ => Err(bad(format!("{field}: '{v}' is not a CIDR network"))),
                })
                .collect(),
            Some(_) => Err(bad(format!("{field} must be a list"))),
        }
    };
    let source_ips = ips("source_ips")?;
    let destination_ips = ips("destination_ips")?;
    match direction {
        "in" if source_ips.is_empty() => {
            return Err(bad("source_ips is required for direction in".into()))
        }
        "in" if !destination_ips.is_empty() => {
            return Err(bad("destination_ips is not allowed for direction in".into()))
        }
        "out" if destination_ips.is_empty() => {
            return Err(bad("destination_ips is required for direction out".into()))
        }
        "out" if !source_ips.is_empty() => {
            return Err(bad("source_ips is not allowed for direction out".into()))
        }
        _ => {}
    }
    let description = match rule.get("description") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) if s.len() <= 255 => Value::String(s.clone()),
        Some(_) => {
            return Err(bad(
                "description must be a string of at most 255 characters".into(),
            ))
        }
    };
    Ok(json!({
        "direction": direction,
        "protocol": protocol,
        "port": port,
        "source_ips": source_ips,
        "destination_ips": destination_ips,
        "description": description,
    }))
}

fn parse_rules(v: Option<&Value>) -> ApiResult<Vec<Value>> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, r)| parse_rule(i, r))
            .collect(),
        Some(_) => Err(ApiError::invalid_field("rules", "must be a list")),
    }
}

impl World {
    /// Parses `apply_to` / `remove_from` entries; servers must exist.
    fn parse_targets(&self, field: &str, v: Option<&Value>) -> ApiResult<Vec<Target>> {
        let list = match v {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(_) => return Err(ApiError::invalid_field(field, "must be a list")),
        };
        list.iter()
            .map(|t| match t.get("type").and_then(Value::as_str) {
                Some("server") => {
                    let id = t
                        .pointer("/server/id")
                        .and_then(Value::as_i64)
                        .ok_or_else(|| ApiError::invalid_field(field, "server.id is required"))?;
                    if !self.servers.contains_key(&id) {
                        return Err(ApiError::invalid_field(
                            field,
                            format!("server {id} not found"),
                        ));
                    }
                    Ok(Target::Server(id))
                }
                Some("label_selector") => {
                    let sel = t
                        .pointer("/label_selector/selector")
                        .and_then(Value::as_str)
                        .ok_or_else(|| {
                            ApiError::invalid_field(field, "label_selector.selector is required")
                        })?;
                    Selector::parse(sel)?;
                    Ok(Target::LabelSelector(sel.to_string()))
                }
                _ => Err(ApiError::invalid_field(
                    field,
                    "type must be 'server' or 'label_selector'",
                )),
            })
            .collect()
    }

    /// Servers a target currently covers.
    fn target_servers(&self, t: &Target) -> Vec<i64> {
        match t {
            Target::Server(id) => vec![*id],
            Target::LabelSelector(s) => match Selector::parse(s) {
                Ok(sel) => self
                    .servers
                    .values()
                    .filter(|s| sel.matches(&s.labels))
                    .map(|s| s.id)
                    .collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    /// Ids of firewalls that protect `server`, directly or by selector.
    pub fn firewalls_of_server(&self, server: i64) -> Vec<i64> {
        self.firewalls
            .values()
            .filter(|f| {
                f.applied_to
                    .iter()
                    .any(|t| self.target_servers(t).contains(&server))
            })
            .map(|f| f.id)
            .collect()
    }

    pub fn firewall_json(&self, f: &Firewall) -> Value {
        let applied: Vec<Value> = f
            .applied_to
            .iter()
            .map(|t| match t {
                Target::Server(id) => json!({"type": "server", "server": {"id": id}}),
                Target::LabelSelector(s) => json!({
                    "type": "label_selector",
                    "label_selector": {"selector": s},
                    "applied_to_resources": self.target_servers(t).iter()
                        .map(|id| json!({"type": "server", "server": {"id": id}})).collect::<Vec<_>>(),
                }),
            })
            .collect();
        json!({
            "id": f.id,
            "name": f.name,
            "labels": f.labels,
            "created": rfc3339(f.created),
            "rules": f.rules,
            "applied_to": applied,
        })
    }

    fn firewall_apply_actions(&mut self, fw: i64, targets: &[Target], command: &str) -> Vec<i64> {
        let now = self.now();
        targets
            .iter()
            .map(|t| {
                let mut res = vec![(fw, "firewall")];
                res.extend(self.target_servers(t).into_iter().map(|s| (s, "server")));
                self.start_action(command, res, now)
            })
            .collect()
    }

    pub fn create_firewall(&mut self, body: &Value) -> ApiResult<Value> {
        self.settle();
        let name = req_str(body, "name")?;
        check_name("name", name, false)?;
        let labels = parse_labels(body.get("labels"))?;
        let rules = parse_rules(body.get("rules"))?;
        let targets = self.parse_targets("apply_to", body.get("apply_to"))?;
        if self.firewalls.values().any(|f| f.name == name) {
            return Err(ApiError::uniqueness("name"));
        }
        let id = self.next_id();
        let now = self.now();
        self.firewalls.insert(
            id,
            Firewall {
                id,
                name: name.to_string(),
                labels,
                rules,
                applied_to: targets.clone(),
                created: now,
            },
        );
        let mut actions =
            vec![self.start_action("set_firewall_rules", vec![(id, "firewall")], now)];
        actions.extend(self.firewall_apply_actions(id, &targets, "apply_firewall"));
        let fw = self.firewall_json(&self.firewalls[&id]);
        Ok(json!({
            "firewall": fw,
            "actions": actions.iter().map(|a| self.action_json(*a)).collect::<Vec<_>>(),
        }))
    }

    pub fn get_firewall(&mut self, id: i64) -> ApiResult<Value> {
        self.settle();
        let f = self
            .firewalls
            .get(&id)
            .ok_or_else(|| ApiError::not_found("firewall"))?;
        Ok(json!({"firewall": self.firewall_json(f)}))
    }

    pub fn list_firewalls(&mut self, q: &QueryPairs) -> ApiResult<Listing> {
        self.settle();
        let query = ListQuery::parse(q)?;
        let (items, page) = query.apply(self.firewalls.values())?;
        Ok(Listing {
            extra: Vec::new(),
            key: "firewalls",
            items: items.iter().map(|f| self.firewall_json(f)).collect(),
            page,
        })
    }

    pub fn update_firewall(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        self.settle();
        if !self.firewalls.contains_key(&id) {
            return Err(ApiError::not_found("firewall"));
        }
        let name = opt_str(body, "name")?;
        if let Some(name) = name {
            check_name("name", name, false)?;
            if self
                .firewalls
                .values()
                .any(|f| f.name == name && f.id != id)
            {
                return Err(ApiError::uniqueness("name"));
            }
        }
        let labels = match body.get("labels") {
            Some(v) => Some(parse_labels(Some(v))?),
            None => None,
        };
        let f = self
            .firewalls
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("firewall"))?;
        if let Some(name) = name {
            f.name = name.to_string();
        }
        if let Some(labels) = labels {
            f.labels = labels;
        }
        let f = &self.firewalls[&id];
        Ok(json!({"firewall": self.firewall_json(f)}))
    }

    /// Refuses with `resource_in_use` while the firewall is applied anywhere.
    pub fn delete_firewall(&mut self, id: i64) -> ApiResult<()> {
        self.settle();
        let f = self
            .firewalls
            .get(&id)
            .ok_or_else(|| ApiError::not_found("firewall"))?;
        if !f.applied_to.is_empty() {
            return Err(ApiError::resource_in_use("firewall"));
        }
        self.firewalls.remove(&id);
        Ok(())
    }

    pub fn set_firewall_rules(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        self.settle();
        if !self.firewalls.contains_key(&id) {
            return Err(ApiError::not_found("firewall"));
        }
        let rules = match body.get("rules") {
            Some(v) => parse_rules(Some(v))?,
            None => return Err(ApiError::invalid_field("rules", "is required")),
        };
        let mut resources = vec![(id, "firewall")];
        for t in self.firewalls[&id].applied_to.clone() {
            resources.extend(self.target_servers(&t).into_iter().map(|s| (s, "server")));
        }
        if let Some(f) = self.firewalls.get_mut(&id) {
            f.rules = rules;
        }
        let now = self.now();
        let a = self.start_action("set_firewall_rules", resources, now);
        Ok(json!({"actions": [self.action_json(a)]}))
    }

    pub fn apply_firewall(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        self.settle();
        let f = self
            .firewalls
            .get(&id)
            .ok_or_else(|| ApiError::not_found("firewall"))?;
        let targets = self.parse_targets("apply_to", body.get("apply_to"))?;
        if targets.iter().any(|t| f.applied_to.contains(t)) {
            return Err(ApiError::firewall_already_applied());
        }
        if let Some(f) = self.firewalls.get_mut(&id) {
            f.applied_to.extend(targets.iter().cloned());
        }
        let actions = self.firewall_apply_actions(id, &targets, "apply_firewall");
        Ok(json!({"actions": actions.iter().map(|a| self.action_json(*a)).collect::<Vec<_>>()}))
    }

    pub fn remove_firewall(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        self.settle();
        let f = self
            .firewalls
            .get(&id)
            .ok_or_else(|| ApiError::not_found("firewall"))?;
        let targets = self.parse_targets("remove_from", body.get("remove_from"))?;
        if targets.iter().any(|t| !f.applied_to.contains(t)) {
            return Err(ApiError::firewall_already_removed());
        }
        let actions = self.firewall_apply_actions(id, &targets, "remove_firewall");
        if let Some(f) = self.firewalls.get_mut(&id) {
            f.applied_to.retain(|t| !targets.contains(t));
        }
        Ok(json!({"actions": actions.iter().map(|a| self.action_json(*a)).collect::<Vec<_>>()}))
    }
}
