//! Devices (nodes): listed to find the stack's node and its stale
//! predecessors, deleted with the stack, kept from expiring.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::gone_is_fine;
use super::keys::path_id;
use super::{Tailscale, TailscaleError};

/// A device as `GET /tailnet/-/devices?fields=all` shows it (the fields
/// clawprov reads; unknown ones are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub id: String,
    #[serde(default)]
    pub node_id: String,
    /// The MagicDNS name, `<name>.<tailnet suffix>` (no trailing dot).
    #[serde(default)]
    pub name: String,
    /// The OS hostname the node registered with (`tailscale up --hostname`).
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub last_seen: Option<String>,
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default)]
    pub key_expiry_disabled: bool,
    #[serde(default)]
    pub authorized: bool,
    #[serde(default)]
    pub is_ephemeral: bool,
    #[serde(default)]
    pub connected_to_control: Option<bool>,
}

impl Device {
    /// The first label of the MagicDNS name (`gw` or, after a clash, `gw-1`).
    pub fn dns_label(&self) -> &str {
        self.name.split('.').next().unwrap_or("")
    }

    /// The device's tailnet IPv4 address (100.64.0.0/10), else its first one.
    pub fn address(&self) -> Option<std::net::IpAddr> {
        let parsed: Vec<std::net::IpAddr> = self
            .addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect();
        parsed
            .iter()
            .find(|a| a.is_ipv4() && crate::host::address::is_tailnet(**a))
            .or_else(|| {
                parsed
                    .iter()
                    .find(|a| crate::host::address::is_tailnet(**a))
            })
            .copied()
    }

    pub fn online(&self) -> bool {
        self.connected_to_control.unwrap_or(false)
    }
}

#[derive(Deserialize)]
struct DeviceList {
    #[serde(default)]
    devices: Vec<Device>,
}

impl Tailscale {
    /// Every device of the tailnet (the API does not paginate).
    pub async fn list_devices(&self) -> Result<Vec<Device>, TailscaleError> {
        let path = format!("/tailnet/{}/devices?fields=all", self.tailnet());
        let list: DeviceList = self
            .json(
                "list devices (GET /tailnet/-/devices)",
                Method::GET,
                &path,
                None,
                true,
            )
            .await?;
        Ok(list.devices)
    }

    /// Delete a device. True if this call deleted it, false if it was gone.
    pub async fn delete_device(&self, id: &str) -> Result<bool, TailscaleError> {
        let id = path_id("device", id)?;
        gone_is_fine(
            self.send(
                &format!("delete device {id} (DELETE /device/{id})"),
                Method::DELETE,
                &format!("/device/{id}"),
                None,
                true,
            )
            .await,
        )
    }

    /// Turn node-key expiry off: a server must not drop off the tailnet
    /// when its key expires (180 days by default) with nobody to log it in.
    pub async fn disable_key_expiry(&self, id: &str) -> Result<(), TailscaleError> {
        let id = path_id("device", id)?;
        self.send(
            &format!("disable key expiry of device {id} (POST /device/{id}/key)"),
            Method::POST,
            &format!("/device/{id}/key"),
            Some(json!({"keyExpiryDisabled": true})),
            true,
        )
        .await
        .map(drop)
    }
}
