//! SSH keys: unique by name and by fingerprint.

use std::time::SystemTime;

use serde_json::{json, Value};

use super::clock::rfc3339;
use super::error::{ApiError, ApiResult};
use super::fingerprint::ssh_fingerprint;
use super::labels::{parse_labels, Labels};
use super::query::{ListQuery, Listing, QueryPairs};
use super::world::{check_name, opt_str, req_str, World};

#[derive(Debug, Clone)]
pub struct SshKey {
    pub id: i64,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub labels: Labels,
    pub created: SystemTime,
}

impl SshKey {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "fingerprint": self.fingerprint,
            "public_key": self.public_key,
            "labels": self.labels,
            "created": rfc3339(self.created),
        })
    }
}

super::query::listed_resource!(SshKey);

impl World {
    pub fn create_ssh_key(&mut self, body: &Value) -> ApiResult<Value> {
        let name = req_str(body, "name")?;
        check_name("name", name, false)?;
        let public_key = req_str(body, "public_key")?.trim().to_string();
        let fingerprint = ssh_fingerprint(&public_key)
            .ok_or_else(|| ApiError::invalid_field("public_key", "invalid public key"))?;
        let labels = parse_labels(body.get("labels"))?;
        if self.ssh_keys.values().any(|k| k.name == name) {
            return Err(ApiError::uniqueness("name"));
        }
        if self.ssh_keys.values().any(|k| k.fingerprint == fingerprint) {
            return Err(ApiError::uniqueness("public_key"));
        }
        let id = self.next_id();
        let key = SshKey {
            id,
            name: name.to_string(),
            public_key,
            fingerprint,
            labels,
            created: self.now(),
        };
        let out = json!({"ssh_key": key.json()});
        self.ssh_keys.insert(id, key);
        Ok(out)
    }

    pub fn get_ssh_key(&self, id: i64) -> ApiResult<Value> {
        self.ssh_keys
            .get(&id)
            .map(|k| json!({"ssh_key": k.json()}))
            .ok_or_else(|| ApiError::not_found("ssh_key"))
    }

    pub fn list_ssh_keys(&self, q: &QueryPairs) -> ApiResult<Listing> {
        let query = ListQuery::parse(q)?;
        let fingerprint = q.get("fingerprint");
        let (items, page) = query.apply(
            self.ssh_keys
                .values()
                .filter(|k| fingerprint.is_none_or(|f| k.fingerprint == f)),
        )?;
        Ok(Listing {
            extra: Vec::new(),
            key: "ssh_keys",
            items: items.iter().map(|k| k.json()).collect(),
            page,
        })
    }

    pub fn update_ssh_key(&mut self, id: i64, body: &Value) -> ApiResult<Value> {
        if !self.ssh_keys.contains_key(&id) {
            return Err(ApiError::not_found("ssh_key"));
        }
        let name = opt_str(body, "name")?;
        if let Some(name) = name {
            check_name("name", name, false)?;
            if self.ssh_keys.values().any(|k| k.name == name && k.id != id) {
                return Err(ApiError::uniqueness("name"));
            }
        }
        let labels = match body.get("labels") {
            Some(v) => Some(parse_labels(Some(v))?),
            None => None,
        };
        let key = self
            .ssh_keys
            .get_mut(&id)
            .ok_or_else(|| ApiError::not_found("ssh_key"))?;
        if let Some(name) = name {
            key.name = name.to_string();
        }
        if let Some(labels) = labels {
            key.labels = labels;
        }
        Ok(json!({"ssh_key": key.json()}))
    }

    pub fn delete_ssh_key(&mut self, id: i64) -> ApiResult<()> {
        self.ssh_keys
            .remove(&id)
            .map(|_| ())
            .ok_or_else(|| ApiError::not_found("ssh_key"))
    }
}
