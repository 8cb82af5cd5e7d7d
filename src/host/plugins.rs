//! OpenClaw plugins the declared channels call for, installed before the
//! gateway starts.
//!
//! OpenClaw 2026.9 ships Discord as a plugin (`@openclaw/discord`, released
//! in step with OpenClaw). Without it a gateway configured for Discord
//! installs it itself at start, unpinned and at a moment nobody watches.
//! So when the stack declares Discord, the host phase installs the
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
use crate::stack::Stack;

/// npm install of a plugin with its dependencies.
const TIMEOUT: Duration = Duration::from_secs(600);

pub use crate::gateway::Plugin;

/// The plugins the stack's declared channels need
/// ([`crate::gateway::Gateway::plugins`]).
pub fn wanted(stack: &Stack) -> Vec<Plugin> {
    crate::gateway::build(stack, &crate::gateway::home_of(stack))
        .map(|g| g.plugins)
        .unwrap_or_default()
}

/// `openclaw ARGS` as the service user, with the stack's release.
pub fn openclaw(stack: &Stack, account: &Account) -> RemoteCommand {
    super::Release::of(stack).openclaw(account)
}

/// `openclaw ARGS` as [`openclaw`] runs it, with the gateway's environment
/// (its env file on the server, token included) exported first by the
/// server's shell (`RemoteCommand::with_env_file`): what `clawprov openclaw
/// -- ARGS` runs, so that the CLI reaches the gateway with no secret in any
/// argv.
pub fn with_gateway_env(stack: &Stack, account: &Account, args: &[String]) -> RemoteCommand {
    openclaw(stack, account)
        .args(args.iter())
        .with_env_file(format!("{}/{}", account.home, super::ENV_FILE))
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
) -> Result<Vec<String>, HostError> {
    let wanted = wanted(stack);
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
        if present.contains(&plugin.id) {
            continue;
        }
        session
            .check(&install_command(stack, account, &plugin), None, TIMEOUT)
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
