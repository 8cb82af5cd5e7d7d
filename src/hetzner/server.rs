//! Servers: created behind their firewall (passed in the create request, so
//! the server is never reachable unprotected), waited for until running.

use super::action::PendingActions;
use std::collections::BTreeMap;
use std::time::Instant;

use reqwest::Method;
use serde_json::json;

use super::client::{Call, Created, Hetzner};
use super::error::HetznerError;
use super::pagination::{labels_match, selector_for, ListFilter};
use super::ssh_key::is_not_found;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerStatus {
    Initializing,
    Starting,
    Running,
    Stopping,
    Off,
    Deleting,
    Migrating,
    Rebuilding,
    Unknown,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Protection {
    pub delete: bool,
    pub rebuild: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub id: i64,
    pub name: String,
    pub status: ServerStatus,
    pub labels: BTreeMap<String, String>,
    pub ipv4: Option<String>,
    /// The server's IPv6 network, e.g. "2001:db8:1::/64".
    pub ipv6: Option<String>,
    pub protection: Protection,
    /// Firewalls applied to the server's public interface.
    pub firewall_ids: Vec<i64>,
    /// Those of them whose rules are not in effect yet (`pending`).
    pub firewalls_pending: Vec<i64>,
    /// Booted into the rescue system next time (or now).
    pub rescue_enabled: bool,
    /// The ISO attached to the server's virtual drive, if any.
    pub iso: Option<String>,
    pub server_type: String,
    pub location: String,
    pub image: Option<String>,
    pub backups_enabled: bool,
    /// When Hetzner created it (RFC 3339): which tailnet device is this
    /// server's node is decided by creation times.
    pub created: String,
}

impl From<hcloud::models::Server> for Server {
    fn from(s: hcloud::models::Server) -> Self {
        use hcloud::models::server::Status as S;
        let status = match s.status {
            S::Initializing => ServerStatus::Initializing,
            S::Starting => ServerStatus::Starting,
            S::Running => ServerStatus::Running,
            S::Stopping => ServerStatus::Stopping,
            S::Off => ServerStatus::Off,
            S::Deleting => ServerStatus::Deleting,
            S::Migrating => ServerStatus::Migrating,
            S::Rebuilding => ServerStatus::Rebuilding,
            S::Unknown => ServerStatus::Unknown,
        };
        let net = &s.public_net;
        Server {
            id: s.id,
            name: s.name.clone(),
            status,
            labels: s.labels.clone().into_iter().collect(),
            ipv4: net.ipv4.as_ref().map(|v| v.ip.clone()),
            ipv6: net.ipv6.as_ref().map(|v| v.ip.clone()),
            protection: Protection {
                delete: s.protection.delete,
                rebuild: s.protection.rebuild,
            },
            firewall_ids: net
                .firewalls
                .iter()
                .flatten()
                .filter_map(|f| f.id)
                .collect(),
            firewalls_pending: net
                .firewalls
                .iter()
                .flatten()
                .filter(|f| {
                    f.status == Some(hcloud::models::server_public_net_firewall::Status::Pending)
                })
                .filter_map(|f| f.id)
                .collect(),
            rescue_enabled: s.rescue_enabled,
            iso: s
                .iso
                .as_ref()
                .map(|i| i.name.clone().unwrap_or_else(|| format!("#{}", i.id))),
            server_type: s.server_type.name.clone(),
            location: s.location.name.clone(),
            image: s.image.as_ref().and_then(|i| i.name.clone()),
            backups_enabled: s.backup_window.is_some(),
            created: s.created.clone(),
        }
    }
}

/// What to create. The firewall ids go into the create request itself.
#[derive(Debug, Clone)]
pub struct ServerSpec<'a> {
    pub name: &'a str,
    pub server_type: &'a str,
    pub location: &'a str,
    pub image: &'a str,
    pub user_data: &'a str,
    pub ssh_key_ids: Vec<i64>,
    pub firewall_ids: Vec<i64>,
    pub labels: BTreeMap<String, String>,
    pub public_ipv4: bool,
    pub public_ipv6: bool,
}

impl Hetzner {
    /// Every server matching `selector`, over all pages.
    pub async fn list_servers(&self, selector: &str) -> Result<Vec<Server>, HetznerError> {
        self.list_servers_filtered(selector, None).await
    }

    async fn list_servers_filtered(
        &self,
        selector: &str,
        name: Option<&str>,
    ) -> Result<Vec<Server>, HetznerError> {
        let all = self
            .list_all::<hcloud::models::ListServersResponse>(
                &format!("list servers ({selector})"),
                "/servers",
                ListFilter {
                    label_selector: Some(selector),
                    name,
                },
            )
            .await?;
        Ok(all.into_iter().map(Server::from).collect())
    }

    pub async fn get_server(&self, id: i64) -> Result<Server, HetznerError> {
        let call = Call::get(format!("get server {id}"), format!("/servers/{id}"));
        let r: hcloud::models::GetServerResponse = self.request(&call).await?;
        match r.server {
            Some(s) => Ok(Server::from(*s)),
            None => Err(HetznerError::Request {
                operation: format!("get server {id}"),
                attempts: 1,
                cause: super::error::Cause::Decode("answer has no server".into()),
                left_behind: None,
            }),
        }
    }

    /// Create a server and return it once it is running. After an unclear
    /// failure it adopts a server with this name and labels rather than
    /// creating a second one.
    pub async fn create_server(&self, spec: &ServerSpec<'_>) -> Result<Server, HetznerError> {
        self.create_server_after(spec, vec![]).await
    }

    /// [`create_server`](Self::create_server), also waiting for `pending`
    /// actions of earlier requests (its firewall's rules) in the same batch.
    pub(crate) async fn create_server_after(
        &self,
        spec: &ServerSpec<'_>,
        pending: PendingActions,
    ) -> Result<Server, HetznerError> {
        let name = spec.name;
        let selector = selector_for(&spec.labels);
        let operation = format!("create server {name}");
        let firewalls: Vec<_> = spec
            .firewall_ids
            .iter()
            .map(|id| json!({ "firewall": id }))
            .collect();
        let body = json!({
            "name": name,
            "server_type": spec.server_type,
            "location": spec.location,
            "image": spec.image,
            "user_data": spec.user_data,
            "ssh_keys": spec.ssh_key_ids.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
            "firewalls": firewalls,
            "labels": spec.labels,
            "public_net": {"enable_ipv4": spec.public_ipv4, "enable_ipv6": spec.public_ipv6},
            "start_after_create": true,
        });
        let call = Call::new(Method::POST, &operation, "/servers", Some(body));
        let lookup = || async {
            let found = self.list_servers_filtered(&selector, Some(name)).await?;
            Ok(found
                .into_iter()
                .find(|s| s.name == name && labels_match(&s.labels, &spec.labels)))
        };
        let note = format!(
            "server {name} may have been created: look for name {name} with labels {selector}"
        );
        let id = match self.create(&call, lookup, &note).await? {
            Created::Fresh(r) => {
                let r: hcloud::models::CreateServerResponse = r;
                let id = r.server.id;
                let left = format!("server {id} ({name}) exists with labels {selector}");
                let now = Instant::now();
                let mut actions = pending;
                actions.push((*r.action, now));
                actions.extend(r.next_actions.into_iter().map(|a| (a, now)));
                let started_after_create = actions.iter().any(|(a, _)| a.command == "start_server");
                self.wait_batch(&operation, actions, Some(&left)).await?;
                if started_after_create {
                    // create_server and start_server both succeeded, so the
                    // server runs; its addresses, labels and firewalls are
                    // in the create answer already: no extra GET.
                    let mut server = Server::from(*r.server);
                    server.status = ServerStatus::Running;
                    return Ok(server);
                }
                id
            }
            Created::Adopted(s) => {
                if !pending.is_empty() {
                    let left = format!("server {} ({name}) exists", s.id);
                    self.wait_batch(&operation, pending, Some(&left)).await?;
                }
                s.id
            }
        };
        self.wait_running(&operation, id, &selector).await
    }

    /// Poll the server until it reports running (an adopted server may still
    /// be starting), within the action deadline.
    async fn wait_running(
        &self,
        operation: &str,
        id: i64,
        selector: &str,
    ) -> Result<Server, HetznerError> {
        let started = Instant::now();
        let left = format!("server {id} exists with labels {selector}");
        let mut polls = 0u32;
        loop {
            let server = self.get_server(id).await.map_err(|e| e.leaving(&left))?;
            if server.status == ServerStatus::Running {
                return Ok(server);
            }
            polls += 1;
            let wait = self.options().action_poll.nominal(polls);
            if started.elapsed() + wait > self.options().action_deadline {
                return Err(HetznerError::Deadline {
                    operation: operation.to_string(),
                    what: format!("server {id} still {:?}", server.status),
                    waited_secs: started.elapsed().as_secs(),
                    left_behind: Some(left),
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Delete a server and wait until the deletion is done. Already gone = Ok.
    pub async fn delete_server(&self, id: i64) -> Result<(), HetznerError> {
        let operation = format!("delete server {id}");
        let left = format!("server {id} may still exist");
        let call = Call::new(Method::DELETE, &operation, format!("/servers/{id}"), None);
        match self
            .request::<hcloud::models::DeleteServerResponse>(&call)
            .await
        {
            Ok(r) => {
                let actions = r.action.map(|a| vec![*a]).unwrap_or_default();
                self.wait_actions(&operation, actions, Some(&left)).await
            }
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(e.leaving(left)),
        }
    }

    /// Replace the server's labels with `labels` (`PUT /servers/{id}`: a
    /// synchronous update, no action to wait for).
    pub async fn set_server_labels(
        &self,
        id: i64,
        labels: &std::collections::BTreeMap<String, String>,
    ) -> Result<(), HetznerError> {
        let operation = format!("set the labels of server {id}");
        let call = Call::new(
            Method::PUT,
            &operation,
            format!("/servers/{id}"),
            Some(json!({ "labels": labels })),
        );
        let _: hcloud::models::ReplaceServerResponse = self.request(&call).await?;
        Ok(())
    }

    /// Set delete/rebuild protection and wait for it to apply.
    pub async fn set_server_protection(
        &self,
        id: i64,
        delete: bool,
        rebuild: bool,
    ) -> Result<(), HetznerError> {
        let operation = format!("change protection of server {id}");
        let call = Call::new(
            Method::POST,
            &operation,
            format!("/servers/{id}/actions/change_protection"),
            Some(json!({"delete": delete, "rebuild": rebuild})),
        );
        let r: hcloud::models::ChangeServerProtectionResponse = self.request(&call).await?;
        self.wait_actions(&operation, vec![*r.action], None).await
    }

    /// Enable backups (+20 % of the server price) and wait for it to apply.
    pub async fn enable_backups(&self, id: i64) -> Result<(), HetznerError> {
        let operation = format!("enable backups of server {id}");
        let call = Call::new(
            Method::POST,
            &operation,
            format!("/servers/{id}/actions/enable_backup"),
            None,
        );
        let r: hcloud::models::EnableAndConfigureBackupsForServerResponse =
            self.request(&call).await?;
        self.wait_actions(&operation, vec![*r.action], None).await
    }

    /// Disable backups (Hetzner deletes the server's existing backups) and
    /// wait for it to apply.
    pub async fn disable_backups(&self, id: i64) -> Result<(), HetznerError> {
        let operation = format!("disable backups of server {id}");
        let call = Call::new(
            Method::POST,
            &operation,
            format!("/servers/{id}/actions/disable_backup"),
            None,
        );
        let r: hcloud::models::DisableBackupsForServerResponse = self.request(&call).await?;
        self.wait_actions(&operation, vec![*r.action], None).await
    }
}
