//! `clawprov rotate hcloud-token`: the checks are in
//! [`crate::rotation::hcloud_token`]; this reads the new token (stdin, or
//! a hidden prompt on a terminal; never argv) and prints the result.

use super::{vault_file, Planned};
use crate::cli::{GlobalArgs, RotateTokenArgs};
use crate::commands::target::{Endpoint, Loaded};
use crate::error::Result;
use crate::host::KnownHosts;
use crate::rotation::hcloud_token::{self, Compared, HcloudRotated};
use crate::ui::{Report, Ui};

impl Report for HcloudRotated {
    fn human(&self) -> String {
        let mut out = format!(
            "stack {}: Hetzner API token replaced in the vault\n",
            self.stack
        );
        out.push_str(&format!(
            "  checked  the new token sees {} servers, {} firewalls, {} SSH keys of the stack, {}{}\n",
            self.seen.servers.len(),
            self.seen.firewalls.len(),
            self.seen.ssh_keys.len(),
            match self.compared_with {
                Compared::OldToken => "the same ids as the old token",
                Compared::PinnedServer => "among them the server the known_hosts pin names (the old token is refused)",
                Compared::NothingDeployed => "as the old one (nothing deployed: not compared further)",
            },
            if self.write_checked {
                "; it may write"
            } else {
                ""
            }
        ));
        out.push_str(&format!("  old      {}\n", self.old_token));
        out
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "rotated": self })
    }
}

pub async fn run(
    args: &RotateTokenArgs,
    loaded: &mut Loaded,
    endpoint: &Endpoint,
    _global: &GlobalArgs,
    ui: &Ui,
) -> Result<()> {
    let stack = &loaded.stack;
    let plan = Planned {
        stack: stack.name.clone(),
        what: "rotate hcloud-token",
        steps: vec![
            "read the new token (stdin, or a hidden prompt on a terminal)".into(),
            "list the stack's labelled resources with it and with the old token: the same ids"
                .into(),
            "put the server's labels back unchanged with it (proves it may write)".into(),
            "replace hcloud_token in the vault; say where to delete the old token".into(),
        ],
    };
    if plan.show(args.plan, ui) {
        return Ok(());
    }
    let file = vault_file(loaded)?;
    let new = crate::secrets::read_value(ui.interactive(), "hcloud_token")?;
    let old = endpoint.client(Some(&loaded.vault))?;
    let fresh = endpoint.client_with(new.clone())?;
    let pinned = KnownHosts::new(crate::host::HostInputs::known_hosts_beside(
        &loaded.path,
        stack,
    ))
    .pinned_servers()
    .last()
    .copied();
    let mut vault = loaded.vault.clone();
    let rotated = hcloud_token::rotate(stack, &mut vault, file, &old, &fresh, new, pinned).await?;
    loaded.vault = vault;
    ui.emit(&rotated);
    Ok(())
}
