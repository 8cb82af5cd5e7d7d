//! The control plane: what `tailscaled` does with the coordination server,
//! simplified to two calls. Not part of Tailscale's API (see the module
//! doc of [`tailscale`](super) for the wire shapes).
//!
//! A join spends an auth key and yields a device; the same machine joining
//! again (with a new key, as `tailscale up --force-reauth` does) keeps its
//! device. Tests reach the same rules through [`TailscaleWorld::join`],
//! [`TailscaleWorld::seed_device`] and [`TailscaleWorld::set_online`].

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::devices::{Device, CLIENT_VERSION};
use super::error::{TsError, TsResult};
use super::TailscaleWorld;

/// How long a node key lives before it must re-authenticate (Tailscale's
/// default key expiry).
pub const NODE_KEY_LIFETIME: Duration = Duration::from_secs(180 * 24 * 3600);

/// `POST /sim/tailscale/join`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct JoinRequest {
    /// `tskey-auth-...`: the only credential of the call.
    pub auth_key: String,
    /// The OS hostname (`tailscale up --hostname`).
    pub hostname: String,
    /// `tailscale up --advertise-tags`: each must be one of the key's tags.
    #[serde(default)]
    pub advertise_tags: Vec<String>,
    /// A stable per-machine id (what tailscaled's machine key is to the
    /// real control plane): the same machine re-authenticates its device.
    pub machine: String,
}

/// `POST /sim/tailscale/seen`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SeenRequest {
    pub machine: String,
    pub online: bool,
}

/// Parses a control-plane body, or 400 saying what is wrong.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &Value) -> TsResult<T> {
    serde_json::from_value(body.clone())
        .map_err(|e| TsError::bad_request(format!("invalid request body: {e}")))
}

/// A hostname as Tailscale turns it into a MagicDNS label: lower case,
/// anything but letters, digits and dashes becomes a dash, at most 63.
fn dns_label(hostname: &str) -> String {
    let label: String = hostname
        .trim()
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let label = label.trim_matches('-');
    label
        .chars()
        .take(63)
        .collect::<String>()
        .trim_end_matches('-')
        .to_string()
}

impl TailscaleWorld {
    /// The first free name: `label`, else `label-1`, `label-2`...
    fn free_name(&self, label: &str) -> String {
        let taken = |n: &str| self.devices.iter().any(|d| d.short_name() == n);
        if !taken(label) {
            return label.to_string();
        }
        (1..)
            .map(|i| format!("{label}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| label.to_string())
    }

    fn add_device(
        &mut self,
        hostname: &str,
        machine: &str,
        tags: Vec<String>,
        authorized: bool,
        ephemeral: bool,
        online: bool,
    ) -> TsResult<Device> {
        let label = dns_label(hostname);
        if label.is_empty() {
            return Err(TsError::bad_request(format!(
                "hostname {hostname:?} has no letters or digits"
            )));
        }
        let n = self.next_address;
        self.next_address += 1;
        let v4 = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(100, 64, 0, 0)) + n);
        let now = self.now();
        let device = Device {
            id: self.device_id(),
            node_id: self.stable_id('n'),
            name: format!(
                "{}.{}",
                self.free_name(&label),
                self.config.magic_dns_suffix
            ),
            hostname: hostname.to_string(),
            machine: machine.to_string(),
            addresses: vec![v4.to_string(), format!("fd7a:115c:a1e0::{n:x}")],
            tags,
            owner: format!("admin@{}", self.config.tailnet),
            created: now,
            last_seen: now,
            expires: now + NODE_KEY_LIFETIME,
            key_expiry_disabled: false,
            authorized,
            ephemeral,
            connected_to_control: online,
            os: "linux".to_string(),
            client_version: CLIENT_VERSION.to_string(),
        };
        self.devices.push(device.clone());
        Ok(device)
    }

    /// A node logs in with an auth key. 401 `invalid key: ...` for an
    /// unknown, revoked, expired or spent key; 400 for advertised tags the
    /// key does not carry. A failed join does not spend the key.
    pub fn join(&mut self, req: &JoinRequest) -> TsResult<Device> {
        if req.machine.trim().is_empty() {
            return Err(TsError::bad_request("machine is required"));
        }
        if dns_label(&req.hostname).is_empty() {
            return Err(TsError::bad_request("hostname is required"));
        }
        let now = self.now();
        let key = self
            .keys
            .iter()
            .find(|k| k.key == req.auth_key)
            .ok_or_else(|| TsError::new(401, "invalid key: unable to validate API key"))?;
        if key.revoked.is_some() {
            return Err(TsError::new(
                401,
                format!("invalid key: key {} has been revoked", key.id),
            ));
        }
        if !key.reusable && key.first_used.is_some() {
            return Err(TsError::new(
                401,
                format!(
                    "invalid key: single-use key {} has already been used",
                    key.id
                ),
            ));
        }
        if now >= key.expires {
            return Err(TsError::new(
                401,
                format!("invalid key: key {} has expired", key.id),
            ));
        }
        let foreign: Vec<String> = req
            .advertise_tags
            .iter()
            .filter(|t| !key.tags.contains(t))
            .cloned()
            .collect();
        if !foreign.is_empty() {
            return Err(TsError::tags_not_permitted(&foreign));
        }
        let (tags, preauthorized, ephemeral) = (key.tags.clone(), key.preauthorized, key.ephemeral);
        if let Some(key) = self.key_by_secret_mut(&req.auth_key) {
            key.uses += 1;
            key.first_used.get_or_insert(now);
        }
        if let Some(d) = self.devices.iter_mut().find(|d| d.machine == req.machine) {
            // Re-auth: the same node, with a fresh node key.
            d.hostname = req.hostname.clone();
            d.tags = tags;
            d.authorized |= preauthorized;
            d.ephemeral = ephemeral;
            d.last_seen = now;
            d.expires = now + NODE_KEY_LIFETIME;
            d.connected_to_control = true;
            return Ok(d.clone());
        }
        self.add_device(
            &req.hostname,
            &req.machine,
            tags,
            preauthorized,
            ephemeral,
            true,
        )
    }

    /// A device as if a node had joined long ago (authorized, no key spent),
    /// e.g. a stale gateway left behind by an earlier deployment. Its
    /// machine id is `seed-<n>`.
    pub fn seed_device(&mut self, hostname: &str, tags: &[&str], online: bool) -> Device {
        let machine = format!("seed-{}", self.next_address);
        let tags = tags.iter().map(|t| t.to_string()).collect();
        self.add_device(hostname, &machine, tags, true, false, online)
            .unwrap_or_else(|e| panic!("seed_device({hostname:?}): {e}"))
    }

    /// A node goes offline or comes back: `who` is its machine id, device
    /// id or nodeId.
    pub fn set_online(&mut self, who: &str, online: bool) -> TsResult<Device> {
        let now = self.now();
        let d = self
            .devices
            .iter_mut()
            .find(|d| d.machine == who || d.id == who || d.node_id == who)
            .ok_or_else(|| TsError::not_found("device"))?;
        d.connected_to_control = online;
        d.last_seen = now;
        Ok(d.clone())
    }

    /// `POST /sim/tailscale/seen`.
    pub fn seen(&mut self, req: &SeenRequest) -> TsResult<Device> {
        self.set_online(&req.machine, req.online)
    }

    /// `GET /sim/tailscale/machines`: the machine of every device, so a
    /// real control plane in front of the simulator (the test suite's
    /// tailnet helper) drops the nodes whose device was deleted.
    pub fn machines(&self) -> Vec<String> {
        self.devices.iter().map(|d| d.machine.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::keys::KeyRequest;
    use super::super::oauth::Actor;
    use super::super::test_support::world;
    use super::*;

    fn key(w: &mut TailscaleWorld, reusable: bool) -> String {
        w.mint_key(
            &Actor::ApiToken,
            &KeyRequest {
                reusable,
                preauthorized: true,
                tags: vec!["tag:openclaw".into()],
                expiry_seconds: 3600,
                ..KeyRequest::default()
            },
        )
        .expect("minted")
        .key
    }

    fn join(key: &str, hostname: &str, machine: &str) -> JoinRequest {
        JoinRequest {
            auth_key: key.to_string(),
            hostname: hostname.to_string(),
            advertise_tags: vec!["tag:openclaw".into()],
            machine: machine.to_string(),
        }
    }

    #[test]
    fn a_single_use_key_joins_once() {
        let (mut w, _) = world();
        let k = key(&mut w, false);
        let d = w.join(&join(&k, "gw", "m1")).expect("joins");
        assert_eq!(d.name, "gw.tail1234.ts.net");
        assert_eq!(d.tags, vec!["tag:openclaw".to_string()]);
        assert!(d.authorized && d.connected_to_control && !d.ephemeral);
        assert_eq!(d.expires, w.now() + NODE_KEY_LIFETIME);
        let id = w.keys()[0].id.clone();
        let e = w.join(&join(&k, "gw", "m2")).unwrap_err();
        assert_eq!(e.status, 401);
        assert!(e.message.starts_with("invalid key: "), "{}", e.message);
        assert_eq!(w.key(&id).unwrap().json(w.now())["invalid"], true);
        assert_eq!(w.devices().len(), 1);
    }

    #[test]
    fn a_taken_name_gets_a_suffix_and_keeps_it() {
        let (mut w, _) = world();
        let k = key(&mut w, true);
        let a = w.join(&join(&k, "gw", "m1")).unwrap();
        let b = w.join(&join(&k, "gw", "m2")).unwrap();
        let c = w.join(&join(&k, "GW", "m3")).unwrap();
        assert_eq!(b.name, "gw-1.tail1234.ts.net");
        assert_eq!(c.name, "gw-2.tail1234.ts.net");
        assert_eq!(c.hostname, "GW");
        assert_ne!(a.addresses, b.addresses);
        assert!(
            a.addresses[0].starts_with("100.64.") && a.addresses[1].starts_with("fd7a:115c:a1e0::")
        );
        // The original goes; the suffixed one keeps its name, and a newcomer
        // gets the free plain name.
        w.delete_device(&Actor::ApiToken, &a.id).unwrap();
        assert_eq!(w.device(&b.id).unwrap().name, "gw-1.tail1234.ts.net");
        let d = w.join(&join(&k, "gw", "m4")).unwrap();
        assert_eq!(d.name, "gw.tail1234.ts.net");
        assert!(
            !w.devices().iter().any(|x| x.addresses == a.addresses),
            "no address reused"
        );
    }

    #[test]
    fn the_same_machine_reauths_into_the_same_device() {
        let (mut w, clock) = world();
        let first = key(&mut w, false);
        let d = w.join(&join(&first, "gw", "m1")).unwrap();
        w.set_online("m1", false).unwrap();
        clock.advance(Duration::from_secs(600));
        let second = key(&mut w, false);
        let again = w.join(&join(&second, "gw", "m1")).unwrap();
        assert_eq!(
            (&again.id, &again.node_id, &again.name, &again.addresses),
            (&d.id, &d.node_id, &d.name, &d.addresses)
        );
        assert!(again.connected_to_control);
        assert_eq!(again.last_seen, w.now());
        assert_eq!(again.created, d.created);
        assert_eq!(w.devices().len(), 1);
    }

    #[test]
    fn expired_revoked_and_unknown_keys_are_refused() {
        let (mut w, clock) = world();
        let k = key(&mut w, true);
        let id = w.keys()[0].id.clone();
        clock.advance(Duration::from_secs(3600));
        let e = w.join(&join(&k, "gw", "m1")).unwrap_err();
        assert_eq!(
            (e.status, e.message.contains("expired")),
            (401, true),
            "{e}"
        );
        let k2 = key(&mut w, true);
        let id2 = w.keys()[1].id.clone();
        w.delete_key(&Actor::ApiToken, &id2).unwrap();
        let e = w.join(&join(&k2, "gw", "m1")).unwrap_err();
        assert_eq!(
            (e.status, e.message.contains("revoked")),
            (401, true),
            "{e}"
        );
        assert_eq!(
            w.join(&join("tskey-auth-nope", "gw", "m1"))
                .unwrap_err()
                .status,
            401
        );
        assert!(w.devices().is_empty());
        assert_eq!(w.key(&id).unwrap().uses, 0);
    }

    #[test]
    fn advertised_tags_must_be_the_keys() {
        let (mut w, _) = world();
        let k = key(&mut w, false);
        let mut req = join(&k, "gw", "m1");
        req.advertise_tags = vec!["tag:openclaw".into(), "tag:admin".into()];
        let e = w.join(&req).unwrap_err();
        assert_eq!(e, TsError::tags_not_permitted(&["tag:admin".to_string()]));
        assert!(
            w.keys()[0].first_used.is_none(),
            "a failed join spends nothing"
        );
        req.advertise_tags.clear();
        let d = w.join(&req).expect("no advertised tags: the key's tags");
        assert_eq!(d.tags, vec!["tag:openclaw".to_string()]);
    }

    #[test]
    fn preauthorized_and_ephemeral_come_from_the_key() {
        let (mut w, _) = world();
        let k = w
            .mint_key(
                &Actor::ApiToken,
                &KeyRequest {
                    ephemeral: true,
                    ..KeyRequest::default()
                },
            )
            .unwrap()
            .key;
        let d = w
            .join(&JoinRequest {
                auth_key: k,
                hostname: "Build Box".into(),
                advertise_tags: vec![],
                machine: "m".into(),
            })
            .unwrap();
        assert!(!d.authorized && d.ephemeral);
        assert_eq!(d.name, "build-box.tail1234.ts.net");
        assert_eq!(d.user(), "admin@example.com");
    }

    #[test]
    fn machines_lists_each_device_until_it_is_deleted() {
        let (mut w, _clock) = world();
        let a = w.seed_device("gw", &["tag:openclaw"], true);
        let b = w.seed_device("laptop", &[], true);
        assert_eq!(w.machines(), vec![a.machine.clone(), b.machine.clone()]);
        w.delete_device(&Actor::ApiToken, &a.id).unwrap();
        assert_eq!(w.machines(), vec![b.machine]);
    }

    #[test]
    fn seen_flips_connected_and_last_seen() {
        let (mut w, clock) = world();
        let d = w.seed_device("gw", &["tag:openclaw"], true);
        clock.advance(Duration::from_secs(30));
        let off = w
            .seen(&SeenRequest {
                machine: d.machine.clone(),
                online: false,
            })
            .unwrap();
        assert!(!off.connected_to_control);
        assert_eq!(off.last_seen, w.now());
        clock.advance(Duration::from_secs(30));
        let v = off.json(w.now(), false);
        assert_eq!(v["connectedToControl"], false);
        assert_eq!(v["lastSeen"], "2026-12-01T10:00:30Z");
        assert_eq!(w.set_online("nope", true).unwrap_err().status, 404);
    }
}
