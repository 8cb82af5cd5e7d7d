//! The node's Tailscale settings, as its CLI prints them.
//!
//! Two sources (read at v1.90.9, v1.98.10, v1.100.0 and v1.102.3 of
//! `github:tailscale/tailscale`):
//! - `tailscale get --json` (`cmd/tailscale/cli/get.go`, from v1.100.0): a
//!   flat object keyed by `tailscale set` flag names (`ssh`,
//!   `advertise-routes` as a comma string without the /0 routes,
//!   `advertise-exit-node`, `exit-node`, ...). The supported command.
//! - `tailscale debug prefs` (`cmd/tailscale/cli/debug.go`, unlisted, all
//!   those tags): the `ipn.Prefs` JSON (`RunSSH`, `AdvertiseRoutes`,
//!   `ExitNodeID`, `ExitNodeIP`, `AutoExitNode`, ...). It has no
//!   `AdvertiseExitNode` field: an exit node is `0.0.0.0/0` and `::/0` in
//!   `AdvertiseRoutes` (`ipn/prefs.go`, `AdvertisesExitNode`).
//!
//! The shell line that reads them, `get` first: [`READ`].

use serde_json::Value;

/// Prints `get=<base64>` or `prefs=<base64>` (bounded): the supported
/// command where the client has it, else the debug one. For a root shell.
pub const READ: &str = "if out=$(tailscale get --json 2>/dev/null); then \
    printf 'get=%s\\n' \"$(printf '%s' \"$out\" | head -c 1048576 | base64 -w0)\"; \
    else printf 'prefs=%s\\n' \"$(tailscale debug prefs 2>/dev/null | head -c 1048576 | base64 -w0)\"; fi";

/// What clawprov judges of a node's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodePrefs {
    /// Tailscale SSH server on (`None`: the answer did not say).
    pub ssh: Option<bool>,
    /// Offers itself as an exit node.
    pub exit_node_offered: bool,
    /// Subnet routes it advertises (not the /0 exit routes).
    pub subnet_routes: Vec<String>,
    /// The exit node it uses, if any.
    pub exit_node_used: Option<String>,
    /// Every setting, by the name the source uses, for telling what a
    /// re-authentication changed.
    pub all: Vec<(String, String)>,
}

/// Login state, not settings: they change on every re-authentication.
const NOT_SETTINGS: &[&str] = &["Config", "Persist", "LoggedOut", "WantRunning", "Egg"];

impl NodePrefs {
    /// From `tailscale get --json`.
    pub fn from_get(v: &Value) -> NodePrefs {
        let routes = match &v["advertise-routes"] {
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect(),
            other => strings(other),
        };
        let (exit_routes, subnet_routes): (Vec<String>, Vec<String>) =
            routes.into_iter().partition(|r| is_default_route(r));
        NodePrefs {
            ssh: v["ssh"].as_bool(),
            exit_node_offered: v["advertise-exit-node"].as_bool() == Some(true)
                || !exit_routes.is_empty(),
            subnet_routes,
            exit_node_used: v["exit-node"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            all: flatten(v),
        }
    }

    /// From `tailscale debug prefs` (`ipn.Prefs`).
    pub fn from_debug(v: &Value) -> NodePrefs {
        let (exit_routes, subnet_routes): (Vec<String>, Vec<String>) =
            strings(&v["AdvertiseRoutes"])
                .into_iter()
                .partition(|r| is_default_route(r));
        let exit_node_used = ["ExitNodeID", "ExitNodeIP", "AutoExitNode"]
            .iter()
            .find_map(|k| v[*k].as_str().filter(|s| !s.is_empty()))
            .map(str::to_string);
        NodePrefs {
            ssh: v["RunSSH"].as_bool(),
            exit_node_offered: !exit_routes.is_empty(),
            subnet_routes,
            exit_node_used,
            all: flatten(v),
        }
    }

    /// Parse what [`READ`] printed.
    pub fn from_read(text: &str) -> Option<NodePrefs> {
        let decode = |key: &str| -> Option<Value> {
            let prefix = format!("{key}=");
            let line = text.lines().find_map(|l| l.strip_prefix(&prefix))?;
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(line.trim())
                .ok()?;
            serde_json::from_slice(&bytes).ok()
        };
        decode("get")
            .map(|v| NodePrefs::from_get(&v))
            .or_else(|| decode("prefs").map(|v| NodePrefs::from_debug(&v)))
    }

    /// What exposes the node beyond the gateway, one phrase each.
    pub fn exposure(&self) -> Vec<String> {
        let mut bad = vec![];
        match self.ssh {
            Some(false) => {}
            Some(true) => bad.push("Tailscale SSH is on".to_string()),
            None => bad.push("whether Tailscale SSH is on is not shown".to_string()),
        }
        if self.exit_node_offered {
            bad.push("offers itself as an exit node (0.0.0.0/0 and ::/0)".into());
        }
        if !self.subnet_routes.is_empty() {
            bad.push(format!(
                "advertises {} subnet route(s): {}",
                self.subnet_routes.len(),
                self.subnet_routes.join(", ")
            ));
        }
        if let Some(node) = &self.exit_node_used {
            bad.push(format!("uses an exit node ({node})"));
        }
        bad
    }

    /// Settings whose value differs in `after`, as `name: before -> after`.
    pub fn changed_in(&self, after: &NodePrefs) -> Vec<String> {
        let before: std::collections::BTreeMap<&str, &str> = self
            .all
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let after_map: std::collections::BTreeMap<&str, &str> = after
            .all
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut keys: Vec<&str> = before.keys().chain(after_map.keys()).copied().collect();
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .filter(|k| !NOT_SETTINGS.contains(k))
            .filter_map(|k| {
                let (b, a) = (before.get(k).copied(), after_map.get(k).copied());
                (b != a).then(|| {
                    format!(
                        "{k}: {} -> {}",
                        b.unwrap_or("(unset)"),
                        a.unwrap_or("(unset)")
                    )
                })
            })
            .collect()
    }
}

fn is_default_route(r: &str) -> bool {
    r.ends_with("/0")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// Top-level settings as `(name, compact JSON value)`, bounded in length
/// (the values are the node's; they are only ever shown escaped).
fn flatten(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| {
            let mut text = v.to_string();
            if text.len() > 200 {
                let mut cut = 200;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                text.truncate(cut);
                text.push('…');
            }
            (k.clone(), text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_exit_node_is_named_as_one_in_both_formats() {
        let debug = NodePrefs::from_debug(&json!({"RunSSH": false,
            "AdvertiseRoutes": ["0.0.0.0/0", "::/0", "10.1.0.0/16"]}));
        assert!(debug.exit_node_offered);
        assert_eq!(debug.subnet_routes, ["10.1.0.0/16"]);
        let get = NodePrefs::from_get(&json!({"ssh": false,
            "advertise-exit-node": true, "advertise-routes": "10.1.0.0/16"}));
        assert!(get.exit_node_offered);
        assert_eq!(get.subnet_routes, ["10.1.0.0/16"]);
        for p in [&debug, &get] {
            let bad = p.exposure();
            assert_eq!(bad.len(), 2, "{bad:?}");
            assert!(bad[0].contains("exit node"), "{bad:?}");
            assert!(bad[1].contains("1 subnet route"), "{bad:?}");
        }
    }

    #[test]
    fn what_a_reauth_changed_is_named_without_login_state() {
        let before =
            NodePrefs::from_get(&json!({"ssh": false, "accept-dns": false, "webclient": true}));
        let after =
            NodePrefs::from_get(&json!({"ssh": false, "accept-dns": true, "webclient": false}));
        assert_eq!(
            before.changed_in(&after),
            ["accept-dns: false -> true", "webclient: true -> false"]
        );
        let b = NodePrefs::from_debug(&json!({"CorpDNS": false, "Config": {"NodeID": "n1"}}));
        let a = NodePrefs::from_debug(&json!({"CorpDNS": true, "Config": {"NodeID": "n2"}}));
        assert_eq!(b.changed_in(&a), ["CorpDNS: false -> true"]);
    }

    #[test]
    fn the_read_line_is_parsed_either_way() {
        use base64::Engine;
        let enc = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let got = NodePrefs::from_read(&format!("get={}\n", enc(r#"{"ssh":true}"#))).unwrap();
        assert_eq!(got.ssh, Some(true));
        let got = NodePrefs::from_read(&format!("prefs={}\n", enc(r#"{"RunSSH":false}"#))).unwrap();
        assert_eq!(got.ssh, Some(false));
        assert!(NodePrefs::from_read("prefs=\n").is_none());
    }
}
