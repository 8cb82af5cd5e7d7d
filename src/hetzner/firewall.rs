//! Firewalls: the deny-all-inbound firewall every server is created behind.

use super::action::PendingActions;
use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;

use super::client::{Call, Created, Hetzner};
use super::error::HetznerError;
use super::pagination::{labels_match, selector_for, ListFilter};
use super::ssh_key::is_not_found;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    In,
    Out,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    Esp,
    Gre,
}

/// One firewall rule. Ordered and comparable so a plan can diff the wanted
/// rules against the observed ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FirewallRule {
    pub direction: Direction,
    pub protocol: Protocol,
    /// "22", "1024-5000"; only for tcp/udp.
    pub port: Option<String>,
    /// For inbound rules.
    pub source_ips: Vec<String>,
    /// For outbound rules.
    pub destination_ips: Vec<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firewall {
    pub id: i64,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub rules: Vec<FirewallRule>,
    /// Servers the firewall is applied to directly.
    pub applied_to_servers: Vec<i64>,
    /// Label selectors it is applied to (every server they match).
    pub applied_to_selectors: Vec<String>,
}

impl From<hcloud::models::Firewall> for Firewall {
    fn from(f: hcloud::models::Firewall) -> Self {
        use hcloud::models::rule_response::{Direction as D, Protocol as P};
        let rules = f
            .rules
            .into_iter()
            .map(|r| FirewallRule {
                direction: match r.direction {
                    D::In => Direction::In,
                    D::Out => Direction::Out,
                },
                protocol: match r.protocol {
                    P::Tcp => Protocol::Tcp,
                    P::Udp => Protocol::Udp,
                    P::Icmp => Protocol::Icmp,
                    P::Esp => Protocol::Esp,
                    P::Gre => Protocol::Gre,
                },
                port: r.port,
                source_ips: r.source_ips,
                destination_ips: r.destination_ips,
                description: r.description.flatten(),
            })
            .collect();
        let applied_to_servers = f
            .applied_to
            .iter()
            .filter_map(|a| a.server.as_ref().map(|s| s.id))
            .collect();
        let applied_to_selectors = f
            .applied_to
            .iter()
            .filter_map(|a| a.label_selector.as_ref().map(|l| l.selector.clone()))
            .collect();
        Firewall {
            id: f.id,
            name: f.name,
            labels: f.labels.unwrap_or_default().into_iter().collect(),
            rules,
            applied_to_servers,
            applied_to_selectors,
        }
    }
}

/// The API's request shape for a rule (hcloud::models::Rule), built by hand
/// as JSON so that absent lists are omitted rather than sent empty.
fn rule_json(r: &FirewallRule) -> serde_json::Value {
    let mut v = json!({
        "direction": match r.direction { Direction::In => "in", Direction::Out => "out" },
        "protocol": match r.protocol {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Esp => "esp",
            Protocol::Gre => "gre",
        },
    });
    if let Some(port) = &r.port {
        v["port"] = json!(port);
    }
    match r.direction {
        Direction::In => v["source_ips"] = json!(r.source_ips),
        Direction::Out => v["destination_ips"] = json!(r.destination_ips),
    }
    if let Some(d) = &r.description {
        v["description"] = json!(d);
    }
    v
}

impl Hetzner {
    /// Every firewall matching `selector`, over all pages.
    pub async fn list_firewalls(&self, selector: &str) -> Result<Vec<Firewall>, HetznerError> {
        self.list_firewalls_filtered(selector, None).await
    }

    async fn list_firewalls_filtered(
        &self,
        selector: &str,
        name: Option<&str>,
    ) -> Result<Vec<Firewall>, HetznerError> {
        let all = self
            .list_all::<hcloud::models::ListFirewallsResponse>(
                &format!("list firewalls ({selector})"),
                "/firewalls",
                ListFilter {
                    label_selector: Some(selector),
                    name,
                },
            )
            .await?;
        Ok(all.into_iter().map(Firewall::from).collect())
    }

    /// Create a firewall with exactly `rules`; adopts an existing one with
    /// this name and labels if an earlier attempt's outcome was unclear.
    pub async fn create_firewall(
        &self,
        name: &str,
        rules: &[FirewallRule],
        labels: &BTreeMap<String, String>,
    ) -> Result<Firewall, HetznerError> {
        let (firewall, pending) = self.create_firewall_started(name, rules, labels).await?;
        let left = format!("firewall {} ({name}) exists", firewall.id);
        self.wait_batch(&format!("create firewall {name}"), pending, Some(&left))
            .await?;
        Ok(firewall)
    }

    /// [`create_firewall`](Self::create_firewall) without waiting for the
    /// actions it started (applying its rules): they come back to be waited
    /// for together with later work. A server may be created with the
    /// firewall while they run: the firewall exists, and one with no rules
    /// lets nothing in (if the API answers `locked`, the create is retried).
    pub(crate) async fn create_firewall_started(
        &self,
        name: &str,
        rules: &[FirewallRule],
        labels: &BTreeMap<String, String>,
    ) -> Result<(Firewall, PendingActions), HetznerError> {
        let selector = selector_for(labels);
        let operation = format!("create firewall {name}");
        let rules_json: Vec<_> = rules.iter().map(rule_json).collect();
        let call = Call::new(
            Method::POST,
            &operation,
            "/firewalls",
            Some(json!({"name": name, "labels": labels, "rules": rules_json})),
        );
        let lookup = || async {
            let found = self.list_firewalls_filtered(&selector, Some(name)).await?;
            Ok(found
                .into_iter()
                .find(|f| f.name == name && labels_match(&f.labels, labels)))
        };
        let note = format!(
            "firewall {name} may have been created: look for name {name} with labels {selector}"
        );
        match self.create(&call, lookup, &note).await? {
            Created::Fresh(r) => {
                let r: hcloud::models::CreateFirewallResponse = r;
                let firewall = r.firewall.ok_or_else(|| HetznerError::Request {
                    operation: operation.clone(),
                    attempts: 1,
                    cause: super::error::Cause::Decode("answer has no firewall".into()),
                    left_behind: Some(note.clone()),
                })?;
                let firewall = Firewall::from(*firewall);
                let now = std::time::Instant::now();
                let pending = r
                    .actions
                    .unwrap_or_default()
                    .into_iter()
                    .map(|a| (a, now))
                    .collect();
                Ok((firewall, pending))
            }
            Created::Adopted(f) => {
                // An adopted firewall may carry older rules; make them exact.
                if f.rules != rules {
                    self.set_firewall_rules(f.id, rules).await?;
                    return Ok((self.get_firewall(f.id).await?, vec![]));
                }
                Ok((f, vec![]))
            }
        }
    }

    pub async fn get_firewall(&self, id: i64) -> Result<Firewall, HetznerError> {
        let call = Call::get(format!("get firewall {id}"), format!("/firewalls/{id}"));
        let r: hcloud::models::GetFirewallResponse = self.request(&call).await?;
        Ok(Firewall::from(*r.firewall))
    }

    /// Replace the firewall's rules with exactly `rules` and wait until the
    /// change is applied.
    pub async fn set_firewall_rules(
        &self,
        id: i64,
        rules: &[FirewallRule],
    ) -> Result<(), HetznerError> {
        let operation = format!("set rules of firewall {id}");
        let rules_json: Vec<_> = rules.iter().map(rule_json).collect();
        let call = Call::new(
            Method::POST,
            &operation,
            format!("/firewalls/{id}/actions/set_rules"),
            Some(json!({ "rules": rules_json })),
        );
        let r: hcloud::models::SetRulesResponse = self.request(&call).await?;
        self.wait_actions(&operation, r.actions, None).await
    }

    /// Apply the firewall to one server and wait until it is applied.
    /// Already applied (`firewall_already_applied`) = Ok.
    pub async fn apply_firewall_to_server(
        &self,
        id: i64,
        server_id: i64,
    ) -> Result<(), HetznerError> {
        let operation = format!("apply firewall {id} to server {server_id}");
        let call = Call::new(
            Method::POST,
            &operation,
            format!("/firewalls/{id}/actions/apply_to_resources"),
            Some(json!({ "apply_to": [{"type": "server", "server": {"id": server_id}}] })),
        );
        match self
            .request::<hcloud::models::ApplyToResourcesResponse>(&call)
            .await
        {
            Ok(r) => self.wait_actions(&operation, r.actions, None).await,
            Err(e) if e.api_code() == Some("firewall_already_applied") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Delete a firewall: detach it from its servers first, then delete,
    /// retrying while the API still reports it in use. Already gone = Ok.
    pub async fn delete_firewall(&self, id: i64) -> Result<(), HetznerError> {
        let operation = format!("delete firewall {id}");
        let left = format!("firewall {id} still exists");
        let firewall = match self.get_firewall(id).await {
            Ok(f) => f,
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(e.leaving(left)),
        };
        if !firewall.applied_to_servers.is_empty() {
            let remove: Vec<_> = firewall
                .applied_to_servers
                .iter()
                .map(|s| json!({"type": "server", "server": {"id": s}}))
                .collect();
            let call = Call::new(
                Method::POST,
                format!("remove firewall {id} from its servers"),
                format!("/firewalls/{id}/actions/remove_from_resources"),
                Some(json!({ "remove_from": remove })),
            );
            match self
                .request::<hcloud::models::RemoveFromResourcesResponse>(&call)
                .await
            {
                Ok(r) => {
                    self.wait_actions(&operation, r.actions, Some(&left))
                        .await?
                }
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) => return Err(e.leaving(left)),
            }
        }
        let call = Call::new(Method::DELETE, &operation, format!("/firewalls/{id}"), None);
        // resource_in_use lingers briefly after detaching (and while a server
        // that used it is being deleted): retry it within the same budget.
        let max = self.options().retry.max_attempts;
        let mut tries = 0u32;
        loop {
            tries += 1;
            match self.request::<serde_json::Value>(&call).await {
                Ok(_) => return Ok(()),
                Err(e) if is_not_found(&e) => return Ok(()),
                Err(e) if e.api_code() == Some("resource_in_use") && tries < max => {
                    self.backoff_sleep(tries).await;
                }
                Err(e) => return Err(e.leaving(left)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_json_has_the_api_shape() {
        let r = FirewallRule {
            direction: Direction::Out,
            protocol: Protocol::Tcp,
            port: Some("443".into()),
            source_ips: vec![],
            destination_ips: vec!["0.0.0.0/0".into(), "::/0".into()],
            description: None,
        };
        let v = rule_json(&r);
        assert_eq!(
            v,
            json!({"direction": "out", "protocol": "tcp", "port": "443",
                   "destination_ips": ["0.0.0.0/0", "::/0"]})
        );
        // And the hcloud crate's request model accepts it.
        let parsed: hcloud::models::Rule = serde_json::from_value(v).unwrap();
        assert_eq!(parsed.port, Some(Some("443".into())));
    }
}
