//! Devices (nodes) of the tailnet: listed, read, deleted, tagged,
//! authorized, and their node-key expiry. They come into being through the
//! control plane (see [`control`](super::control)).

use std::time::SystemTime;

use serde_json::{json, Value};

use super::error::{TsError, TsResult};
use super::keys::{check_owned_tags, string_list};
use super::oauth::{Actor, Scope};
use super::{timestamp, TailscaleWorld, ZERO_TIMESTAMP};
use crate::sim::query::QueryPairs;

/// What `tailscale version` of the simulated nodes says.
pub const CLIENT_VERSION: &str = "1.90.6-t1a2b3c4d5-g6e7f8a9b0";

/// One node of the tailnet.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Numeric string, e.g. `"1234567890123456"`.
    pub id: String,
    /// `n...CNTRL`.
    pub node_id: String,
    /// The MagicDNS FQDN without the trailing dot, e.g. `gw.tail1234.ts.net`
    /// (or `gw-1.tail1234.ts.net` when `gw` was taken when it joined).
    pub name: String,
    /// The OS hostname the node reported.
    pub hostname: String,
    /// The stable per-machine id the node joined with (the control plane's
    /// notion of "the same machine"); not part of the API's answer.
    pub machine: String,
    /// `["100.64.x.y", "fd7a:115c:a1e0::x"]`, unique per device.
    pub addresses: Vec<String>,
    pub tags: Vec<String>,
    /// The login that owns an untagged device.
    pub owner: String,
    pub created: SystemTime,
    pub last_seen: SystemTime,
    pub expires: SystemTime,
    pub key_expiry_disabled: bool,
    pub authorized: bool,
    pub ephemeral: bool,
    pub connected_to_control: bool,
    pub os: String,
    pub client_version: String,
}

impl Device {
    /// The name's first label (`gw` of `gw.tail1234.ts.net`).
    pub fn short_name(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }

    /// What the API shows as `user`: tagged devices belong to no user.
    pub fn user(&self) -> &str {
        if self.tags.is_empty() {
            &self.owner
        } else {
            "tagged-devices"
        }
    }

    /// The API's device object; `all` adds what `fields=all` adds.
    pub fn json(&self, now: SystemTime, all: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "nodeId": self.node_id,
            "name": self.name,
            "hostname": self.hostname,
            "addresses": self.addresses,
            "tags": self.tags,
            "user": self.user(),
            "os": self.os,
            "clientVersion": self.client_version,
            "updateAvailable": false,
            "created": timestamp(self.created),
            // A connected node is being seen right now.
            "lastSeen": timestamp(if self.connected_to_control { now } else { self.last_seen }),
            "expires": if self.key_expiry_disabled {
                ZERO_TIMESTAMP.to_string()
            } else {
                timestamp(self.expires)
            },
            "keyExpiryDisabled": self.key_expiry_disabled,
            "authorized": self.authorized,
            "isExternal": false,
            "isEphemeral": self.ephemeral,
            "connectedToControl": self.connected_to_control,
            "blocksIncomingConnections": false,
        });
        if all {
            v["advertisedRoutes"] = json!([]);
            v["enabledRoutes"] = json!([]);
            v["clientConnectivity"] = json!({
                "endpoints": [],
                "latency": {},
                "mappingVariesByDestIP": false,
                "clientSupports": {
                    "hairPinning": false, "ipv6": false, "pcp": false,
                    "pmp": false, "udp": true, "upnp": false,
                },
            });
        }
        v
    }
}

/// `fields=default|all` (absent: default).
fn fields_all(q: &QueryPairs) -> TsResult<bool> {
    match q.get("fields") {
        None | Some("") | Some("default") => Ok(false),
        Some("all") => Ok(true),
        Some(other) => Err(TsError::bad_request(format!(
            "invalid fields value \"{other}\": use default or all"
        ))),
    }
}

/// Whether a device's JSON passes one exact-match filter: a string field
/// equals the value, a list field holds it, a flag or number prints as it.
fn matches(device: &Value, field: &str, want: &str) -> bool {
    match device.get(field) {
        Some(Value::String(s)) => s == want,
        Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some(want)),
        Some(v @ (Value::Bool(_) | Value::Number(_))) => {
            serde_json::from_str::<Value>(want).ok().as_ref() == Some(v)
        }
        _ => false,
    }
}

fn required_flag(body: &Value, field: &str) -> TsResult<bool> {
    body.get(field)
        .and_then(Value::as_bool)
        .ok_or_else(|| TsError::bad_request(format!("{field} (a boolean) is required")))
}

impl TailscaleWorld {
    fn device_index(&self, id: &str) -> TsResult<usize> {
        self.devices
            .iter()
            .position(|d| d.id == id || d.node_id == id)
            .ok_or_else(|| TsError::not_found("device"))
    }

    /// `GET /tailnet/{t}/devices`: every device, in join order; any query
    /// pair but `fields` is an exact-match filter (`hostname=gw`).
    pub fn list_devices(&self, actor: &Actor, q: &QueryPairs) -> TsResult<Value> {
        actor.require(Scope::DevicesRead)?;
        let all = fields_all(q)?;
        let now = self.now();
        let filters: Vec<&(String, String)> = q.0.iter().filter(|(k, _)| k != "fields").collect();
        let devices: Vec<Value> = self
            .devices
            .iter()
            .map(|d| d.json(now, all))
            .filter(|v| filters.iter().all(|(k, want)| matches(v, k, want)))
            .collect();
        Ok(json!({ "devices": devices }))
    }

    /// `GET /device/{id}` (`id` or `nodeId`).
    pub fn get_device(&self, actor: &Actor, id: &str, q: &QueryPairs) -> TsResult<Value> {
        actor.require(Scope::DevicesRead)?;
        let all = fields_all(q)?;
        let i = self.device_index(id)?;
        Ok(self.devices[i].json(self.now(), all))
    }

    /// `DELETE /device/{id}`: the device and its name are gone; the next
    /// join of that machine is a new device.
    pub fn delete_device(&mut self, actor: &Actor, id: &str) -> TsResult<()> {
        actor.require(Scope::Devices)?;
        let i = self.device_index(id)?;
        self.devices.remove(i);
        Ok(())
    }

    /// `POST /device/{id}/key {"keyExpiryDisabled": bool}`.
    pub fn set_key_expiry(&mut self, actor: &Actor, id: &str, body: &Value) -> TsResult<()> {
        actor.require(Scope::Devices)?;
        let disabled = required_flag(body, "keyExpiryDisabled")?;
        let i = self.device_index(id)?;
        self.devices[i].key_expiry_disabled = disabled;
        Ok(())
    }

    /// `POST /device/{id}/authorized {"authorized": bool}`.
    pub fn set_authorized(&mut self, actor: &Actor, id: &str, body: &Value) -> TsResult<()> {
        actor.require(Scope::Devices)?;
        let authorized = required_flag(body, "authorized")?;
        let i = self.device_index(id)?;
        self.devices[i].authorized = authorized;
        Ok(())
    }

    /// `POST /device/{id}/tags {"tags": [...]}`: an OAuth client may only
    /// hand out tags it owns.
    pub fn set_device_tags(&mut self, actor: &Actor, id: &str, body: &Value) -> TsResult<()> {
        actor.require(Scope::Devices)?;
        if !body.get("tags").is_some_and(Value::is_array) {
            return Err(TsError::bad_request("tags (a list) is required"));
        }
        let tags = string_list(body.get("tags"), "tags")?;
        check_owned_tags(actor, &tags)?;
        let i = self.device_index(id)?;
        let mut unique = Vec::new();
        for t in tags {
            if !unique.contains(&t) {
                unique.push(t);
            }
        }
        self.devices[i].tags = unique;
        Ok(())
    }

    /// `POST /device/{id}/expire`: the node key expires now, so the node is
    /// logged out until it re-authenticates (joins again).
    pub fn expire_device_key(&mut self, actor: &Actor, id: &str) -> TsResult<()> {
        actor.require(Scope::Devices)?;
        let i = self.device_index(id)?;
        let now = self.now();
        let d = &mut self.devices[i];
        d.expires = now;
        d.key_expiry_disabled = false;
        d.connected_to_control = false;
        d.last_seen = now;
        Ok(())
    }

    /// Every device, in join order.
    pub fn devices(&self) -> Vec<Device> {
        self.devices.clone()
    }

    /// The device with this `id` or `nodeId`.
    pub fn device(&self, id: &str) -> Option<Device> {
        self.device_index(id).ok().map(|i| self.devices[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::test_support::{oauth_actor, world};
    use super::*;

    #[test]
    fn list_get_and_filters() {
        let (mut w, _) = world();
        let actor = oauth_actor(&mut w);
        let gw = w.seed_device("gw", &["tag:openclaw"], true);
        w.seed_device("laptop", &[], false);
        let all = w.list_devices(&actor, &QueryPairs::default()).unwrap();
        assert_eq!(all["devices"].as_array().unwrap().len(), 2);
        let only = w
            .list_devices(&actor, &QueryPairs::parse(Some("hostname=gw")))
            .unwrap();
        assert_eq!(only["devices"][0]["id"], gw.id.as_str());
        assert_eq!(only["devices"].as_array().unwrap().len(), 1);
        let tagged = w
            .list_devices(&actor, &QueryPairs::parse(Some("tags=tag:openclaw")))
            .unwrap();
        assert_eq!(tagged["devices"].as_array().unwrap().len(), 1);
        let by_node = w
            .get_device(&actor, &gw.node_id, &QueryPairs::default())
            .unwrap();
        assert_eq!(by_node["name"], "gw.tail1234.ts.net");
        assert_eq!(by_node["user"], "tagged-devices");
        assert!(by_node.get("clientConnectivity").is_none());
        let full = w
            .get_device(&actor, &gw.id, &QueryPairs::parse(Some("fields=all")))
            .unwrap();
        assert!(full["clientConnectivity"]["clientSupports"].is_object());
        assert_eq!(
            w.get_device(&actor, &gw.id, &QueryPairs::parse(Some("fields=some")))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            w.get_device(&actor, "nope", &QueryPairs::default())
                .unwrap_err()
                .status,
            404
        );
    }

    #[test]
    fn changes_and_their_scopes() {
        let (mut w, clock) = world();
        let gw = w.seed_device("gw", &["tag:openclaw"], true);
        w.config.oauth_clients[0].scopes = vec!["devices:core:read".into()];
        let reader = oauth_actor(&mut w);
        assert!(w.list_devices(&reader, &QueryPairs::default()).is_ok());
        for e in [
            w.delete_device(&reader, &gw.id),
            w.set_authorized(&reader, &gw.id, &json!({"authorized": true})),
            w.set_key_expiry(&reader, &gw.id, &json!({"keyExpiryDisabled": true})),
            w.set_device_tags(&reader, &gw.id, &json!({"tags": ["tag:openclaw"]})),
        ] {
            let e = e.unwrap_err();
            assert_eq!(e.status, 403);
            assert!(e.message.contains("\"devices:core\""), "{}", e.message);
        }
        w.config.oauth_clients[0].scopes = vec!["devices:core".into()];
        let writer = oauth_actor(&mut w);
        w.set_key_expiry(&writer, &gw.id, &json!({"keyExpiryDisabled": true}))
            .unwrap();
        let v = w
            .get_device(&writer, &gw.id, &QueryPairs::default())
            .unwrap();
        assert_eq!(v["keyExpiryDisabled"], true);
        assert_eq!(v["expires"], ZERO_TIMESTAMP);
        assert_eq!(
            w.set_key_expiry(&writer, &gw.id, &json!({}))
                .unwrap_err()
                .status,
            400
        );
        w.set_authorized(&writer, &gw.id, &json!({"authorized": false}))
            .unwrap();
        assert!(!w.device(&gw.id).unwrap().authorized);
        let e = w
            .set_device_tags(&writer, &gw.id, &json!({"tags": ["tag:other"]}))
            .unwrap_err();
        assert_eq!(
            e.message,
            "requested tags [tag:other] are invalid or not permitted"
        );
        w.set_device_tags(
            &Actor::ApiToken,
            &gw.id,
            &json!({"tags": ["tag:other", "tag:other"]}),
        )
        .unwrap();
        assert_eq!(
            w.device(&gw.id).unwrap().tags,
            vec!["tag:other".to_string()]
        );
        clock.advance(Duration::from_secs(10));
        w.expire_device_key(&writer, &gw.id).unwrap();
        let d = w.device(&gw.id).unwrap();
        assert_eq!(d.expires, w.now());
        assert!(!d.connected_to_control);
        w.delete_device(&writer, &gw.node_id).unwrap();
        assert!(w.devices().is_empty());
        assert_eq!(w.delete_device(&writer, &gw.id).unwrap_err().status, 404);
    }
}
