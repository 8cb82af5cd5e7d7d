//! SSH keys: the operator's key a server is created with.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use super::client::{Call, Created, Hetzner};
use super::error::{Cause, HetznerError};
use super::pagination::{labels_match, selector_for, ListFilter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshKey {
    pub id: i64,
    pub name: String,
    pub fingerprint: String,
    pub public_key: String,
    pub labels: BTreeMap<String, String>,
}

impl From<hcloud::models::SshKey> for SshKey {
    fn from(k: hcloud::models::SshKey) -> Self {
        SshKey {
            id: k.id,
            name: k.name,
            fingerprint: k.fingerprint,
            public_key: k.public_key,
            labels: k.labels.into_iter().collect(),
        }
    }
}

impl Hetzner {
    /// Every SSH key matching `selector` (all pages; empty selector = all).
    pub async fn list_ssh_keys(&self, selector: &str) -> Result<Vec<SshKey>, HetznerError> {
        self.list_ssh_keys_filtered(selector, None).await
    }

    async fn list_ssh_keys_filtered(
        &self,
        selector: &str,
        name: Option<&str>,
    ) -> Result<Vec<SshKey>, HetznerError> {
        let keys = self
            .list_all::<hcloud::models::ListSshKeysResponse>(
                &format!("list ssh keys ({selector})"),
                "/ssh_keys",
                ListFilter {
                    label_selector: Some(selector),
                    name,
                },
            )
            .await?;
        Ok(keys.into_iter().map(SshKey::from).collect())
    }

    /// Create an SSH key; if an earlier attempt may have created it, adopt
    /// the key with this name and these labels instead of creating another.
    pub async fn create_ssh_key(
        &self,
        name: &str,
        public_key: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<SshKey, HetznerError> {
        let selector = selector_for(labels);
        let operation = format!("create ssh key {name}");
        let call = Call::new(
            Method::POST,
            &operation,
            "/ssh_keys",
            Some(json!({"name": name, "public_key": public_key, "labels": labels})),
        );
        let lookup = || async {
            let found = self.list_ssh_keys_filtered(&selector, Some(name)).await?;
            Ok(found
                .into_iter()
                .find(|k| k.name == name && labels_match(&k.labels, labels)))
        };
        let note = format!(
            "ssh key {name} may have been created: look for name {name} with labels {selector}"
        );
        match self.create(&call, lookup, &note).await? {
            Created::Fresh(r) => {
                let r: hcloud::models::CreateSshKeyResponse = r;
                Ok(SshKey::from(*r.ssh_key))
            }
            Created::Adopted(k) => Ok(k),
        }
    }

    /// Delete an SSH key. One that is already gone counts as deleted.
    pub async fn delete_ssh_key(&self, id: i64) -> Result<(), HetznerError> {
        let call = Call::new(
            Method::DELETE,
            format!("delete ssh key {id}"),
            format!("/ssh_keys/{id}"),
            None,
        );
        match self.request::<serde_json::Value>(&call).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.leaving(format!("ssh key {id} still exists"))),
        }
    }
}

pub(crate) fn is_not_found(e: &HetznerError) -> bool {
    matches!(
        e,
        HetznerError::Request {
            cause: Cause::Api { status: 404, .. },
            ..
        }
    ) || e.api_code() == Some("not_found")
}
