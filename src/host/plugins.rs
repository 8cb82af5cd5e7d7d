//! OpenClaw plugins the vault calls for, installed before the gateway starts.
//!
//! OpenClaw 2026.9 ships Discord as a plugin (`@openclaw/discord`, released
//! in step with OpenClaw). Without it a gateway configured for Discord
//! installs it itself at start, unpinned and at a moment nobody watches.
//! So when the vault has a Discord token, the host phase installs the
//! plugin at the OpenClaw version the stack pins, as the service user,
//! before delivering openclaw.json (the install edits that file; clawprov's
//! version, delivered right after, enables the plugin itself). This is the
//! host phase's, not the bootstrap's: adding a Discord token later then
//! needs no new server.

use std::time::Duration;

use super::account::Account;
use super::command::RemoteCommand;
use super::session::Session;
use super::HostError;
use crate::secrets::Vault;
use crate::stack::Stack;

/// npm install of a plugin with its dependencies.
const TIMEOUT: Duration = Duration::from_secs(600);

/// A plugin and the vault key that calls for it.
pub struct Plugin {
    /// The plugin's id in `openclaw plugins list`.
    pub id: &'static str,
    pub package: &'static str,
    pub vault_key: &'static str,
}

pub const PLUGINS: &[Plugin] = &[Plugin {
    id: "discord",
    package: "@openclaw/discord",
    vault_key: "discord_bot_token",
}];

/// The plugins `vault` calls for.
pub fn wanted(vault: &Vault) -> impl Iterator<Item = &'static Plugin> + '_ {
    PLUGINS.iter().filter(|p| vault.get(p.vault_key).is_some())
}

/// `openclaw ARGS` as the service user, with the stack's release.
pub fn openclaw(stack: &Stack, account: &Account) -> RemoteCommand {
    super::Release::of(stack).openclaw(account)
}

/// The command that installs `plugin` at the stack's OpenClaw version.
pub fn install_command(stack: &Stack, account: &Account, plugin: &Plugin) -> RemoteCommand {
    openclaw(stack, account).args([
        "plugins".to_string(),
        "install".to_string(),
        format!("{}@{}", plugin.package, stack.openclaw.version),
    ])
}

/// Install every wanted plugin not installed yet; the ids installed now.
pub async fn ensure(
    session: &Session,
    stack: &Stack,
    account: &Account,
    vault: &Vault,
) -> Result<Vec<&'static str>, HostError> {
    let wanted: Vec<&Plugin> = wanted(vault).collect();
    if wanted.is_empty() {
        return Ok(vec![]);
    }
    let list = openclaw(stack, account).args(["plugins", "list", "--json"]);
    let out = session.check(&list, None, Duration::from_secs(120)).await?;
    let present = installed(&out.stdout).ok_or_else(|| HostError::Unexpected {
        command: list.to_string(),
        detail: "not the JSON plugin list".into(),
    })?;
    let mut now = vec![];
    for plugin in wanted {
        if present.iter().any(|id| id == plugin.id) {
            continue;
        }
        session
            .check(&install_command(stack, account, plugin), None, TIMEOUT)
            .await?;
        now.push(plugin.id);
    }
    Ok(now)
}

/// Ids of the plugins installed beside OpenClaw (origin `global`: under
/// the state dir's npm projects), from `openclaw plugins list --json`.
/// Bundled plugins (origin `bundled`) do not count.
pub fn installed(json: &str) -> Option<Vec<String>> {
    let start = json.find('{')?;
    let v: serde_json::Value = serde_json::from_str(&json[start..]).ok()?;
    Some(
        v["plugins"]
            .as_array()?
            .iter()
            .filter(|p| p["origin"] == "global")
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_installed_plugins() {
        let json = r#"{"plugins":[{"id":"a2a","origin":"bundled"},
            {"id":"discord","origin":"global","status":"loaded"}]}"#;
        assert_eq!(installed(json), Some(vec!["discord".to_string()]));
        assert_eq!(installed("nope"), None);
    }
}
