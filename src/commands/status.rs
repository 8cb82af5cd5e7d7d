//! `clawprov status`: what the stack's labels find, the server's addresses,
//! the tailnet URL and the last known health.

use serde_json::json;

use super::target::{stack_paths, Endpoint, Loaded};
use crate::cli::{GlobalArgs, StatusArgs};
use crate::converge::ServerView;
use crate::error::Result;
use crate::hetzner::ServerStatus;
use crate::plan::{observe, tailnet, Observed, USER_DATA_LABEL};
use crate::rotation::ages::{ages, Age};
use crate::tailscale::Device;
use crate::ui::{Report, Ui};

struct StackStatus {
    stack: String,
    observed: Observed,
    tailnet_url: String,
    /// The stack's devices (`None`: no Tailscale API credentials).
    devices: Option<Vec<Device>>,
    /// How old each credential is, against the stack's `rotation:`.
    credentials: Vec<Age>,
}

impl StackStatus {
    /// What Hetzner knows (the host's own view is `clawprov verify`'s).
    fn health(&self) -> String {
        match self.observed.servers.first() {
            None => "not deployed (no server carries the stack's labels)".into(),
            Some(s) if s.status == ServerStatus::Running => {
                "server running; `clawprov verify` checks the host (cloud-init, gateway, Tailscale Serve) and the lock-down".into()
            }
            Some(s) => format!("server {:?}", s.status).to_lowercase(),
        }
    }
}

struct Statuses(Vec<StackStatus>);

impl Report for Statuses {
    fn human(&self) -> String {
        let mut out = String::new();
        for s in &self.0 {
            out.push_str(&format!("stack {}\n", s.stack));
            for v in s.observed.servers.iter().map(ServerView::from) {
                out.push_str(&format!("  server   {v} firewalls {:?}\n", v.firewall_ids));
            }
            for f in &s.observed.firewalls {
                let inbound = f
                    .rules
                    .iter()
                    .filter(|r| r.direction == crate::hetzner::Direction::In)
                    .count();
                out.push_str(&format!(
                    "  firewall {} #{} inbound rules: {inbound}\n",
                    f.name, f.id
                ));
            }
            for k in &s.observed.ssh_keys {
                out.push_str(&format!("  ssh key  {} #{}\n", k.name, k.id));
            }
            out.push_str(&format!("  tailnet  {}\n", s.tailnet_url));
            match &s.devices {
                None => {
                    out.push_str("  device   unknown (no Tailscale API credentials in the vault)\n")
                }
                Some(d) if d.is_empty() => out.push_str("  device   none on the tailnet\n"),
                Some(devices) => {
                    for d in devices {
                        out.push_str(&format!(
                            "  device   {} #{} {} last seen {}, tags {}, key expiry {}\n",
                            d.name,
                            d.id,
                            if d.online() { "online" } else { "offline" },
                            d.last_seen.as_deref().unwrap_or("never"),
                            d.tags.join(","),
                            if d.key_expiry_disabled { "off" } else { "on" }
                        ));
                    }
                }
            }
            out.push_str(&format!("  health   {}\n", s.health()));
            for c in &s.credentials {
                out.push_str(&format!("  age      {:<30} {}\n", c.key, c.summary()));
            }
            let due: Vec<&Age> = s.credentials.iter().filter(|c| c.due).collect();
            if !due.is_empty() {
                out.push_str(&format!(
                    "  rotate   {} past its maximum age: `clawprov rotate --due` rotates what \
                     clawprov can and lists the rest\n",
                    due.iter()
                        .map(|c| c.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        let stacks: Vec<_> = self
            .0
            .iter()
            .map(|s| {
                json!({
                    "stack": s.stack,
                    "servers": s.observed.servers.iter().map(|x| {
                        let mut v = serde_json::to_value(ServerView::from(x)).unwrap_or_default();
                        v["user_data_fingerprint"] = json!(x.labels.get(USER_DATA_LABEL));
                        v
                    }).collect::<Vec<_>>(),
                    "firewalls": s.observed.firewalls.iter().map(|f| json!({
                        "id": f.id, "name": f.name,
                        "inbound_rules": f.rules.iter().filter(|r| r.direction == crate::hetzner::Direction::In).count(),
                        "applied_to_servers": f.applied_to_servers,
                    })).collect::<Vec<_>>(),
                    "ssh_keys": s.observed.ssh_keys.iter().map(|k| json!({"id": k.id, "name": k.name})).collect::<Vec<_>>(),
                    "tailnet_url": s.tailnet_url,
                    "devices": s.devices.as_ref().map(|ds| ds.iter().map(|d| json!({
                        "id": d.id, "name": d.name, "online": d.online(),
                        "last_seen": d.last_seen, "tags": d.tags, "addresses": d.addresses,
                        "key_expiry_disabled": d.key_expiry_disabled,
                    })).collect::<Vec<_>>()),
                    "health": s.health(),
                    "credentials": s.credentials,
                })
            })
            .collect();
        json!({ "stacks": stacks })
    }
}

pub async fn run(args: StatusArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let endpoint = Endpoint::resolve(global, args.sim, ui).await?;
    let mut out = Vec::new();
    for path in stack_paths(global)? {
        let loaded = Loaded::load(path, global, args.sim, ui)?;
        let client = endpoint.client(Some(&loaded.vault))?;
        let observed = observe(&client, &loaded.stack.name).await?;
        let devices = match endpoint.tailscale(&loaded.vault)? {
            Some(ts) => Some(tailnet::observe(&ts, &loaded.stack, None).await?.devices),
            None => None,
        };
        let t = &loaded.stack.tailscale;
        out.push(StackStatus {
            stack: loaded.stack.name.clone(),
            observed,
            tailnet_url: format!("https://{}.{}/", t.hostname, t.tailnet),
            devices,
            credentials: ages(&loaded.stack, &loaded.vault, crate::secrets::record::now()),
        });
    }
    ui.emit(&Statuses(out));
    Ok(())
}
