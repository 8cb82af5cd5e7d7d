//! `clawprov rotate ssh-key`: the steps are in [`crate::rotation::ssh_key`].

use super::{vault_file, Located, Planned};
use crate::cli::{GlobalArgs, RotateKeyArgs};
use crate::commands::host_progress::UiProgress;
use crate::commands::target::{Endpoint, Loaded};
use crate::error::Result;
use crate::plan::resource_name;
use crate::rotation::ssh_key::{self, SshKeyRotated};
use crate::secrets::PENDING_SSH_PRIVATE_KEY;
use crate::ui::{Report, Ui};

impl Report for SshKeyRotated {
    fn human(&self) -> String {
        let mut out = format!("stack {}: admin SSH key rotated\n", self.stack);
        out.push_str(&format!(
            "  new key  {} (since {}){}\n",
            short(&self.new_public_key),
            self.set,
            if self.resumed {
                "; an interrupted run's state taken up"
            } else {
                ""
            }
        ));
        if let Some(old) = &self.old_public_key {
            out.push_str(&format!(
                "  old key  {} removed from the node's authorized_keys and from Hetzner; gone \
                 from the vault\n",
                short(old)
            ));
        }
        if let Some(id) = self.hetzner_ssh_key {
            out.push_str(&format!(
                "  hetzner  SSH key #{id} holds the new key (the one a new server gets)\n"
            ));
        }
        if self.relabelled {
            out.push_str(
                "  server   relabelled with the user-data fingerprint that leaves the operator \
                 keys out (so the new key is not a replace)\n",
            );
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "rotated": self })
    }
}

/// `ssh-ed25519 AAAA…last8`: enough to tell keys apart.
fn short(key: &str) -> String {
    match key.split_once(' ') {
        Some((kind, body)) if body.len() > 16 => {
            format!("{kind} {}…{}", &body[..8], &body[body.len() - 8..])
        }
        _ => key.to_string(),
    }
}

pub async fn run(
    args: &RotateKeyArgs,
    loaded: &mut Loaded,
    endpoint: &Endpoint,
    global: &GlobalArgs,
    ui: &Ui,
) -> Result<Option<SshKeyRotated>> {
    let found = Located::find(args, loaded, endpoint, "rotate the SSH key").await?;
    let (desired, _user_data) = loaded.desired(global, false)?;
    let stack = &loaded.stack;
    let resumed = loaded.vault.get(PENDING_SSH_PRIVATE_KEY).is_some()
        || loaded.vault.record().retiring_ssh_key.is_some();
    let plan = Planned {
        stack: stack.name.clone(),
        what: "rotate ssh-key",
        steps: vec![
            if resumed {
                "take up the state an interrupted run left in the vault (a pending key, or an old key still to remove)".into()
            } else {
                "make a new ed25519 key and keep it in the vault beside the current one".into()
            },
            format!(
                "over SSH to {} as {}: add the new key to authorized_keys",
                found.target(loaded),
                stack.host.admin_user
            ),
            "log in afresh with the new key alone".into(),
            "make the new key the vault's ssh_private_key (the old private key leaves the vault)".into(),
            "logged in with the new key: remove the old one from authorized_keys, read it back".into(),
            format!(
                "Hetzner: replace SSH key {} (delete the old, create the new, same name and labels)",
                resource_name(&stack.name)
            ),
        ],
    };
    if plan.show(args.plan, ui) {
        return Ok(None);
    }
    let file = vault_file(loaded)?;
    let inputs = found.inputs(loaded, args, global);
    let progress = UiProgress::new(ui, &stack.name);
    let mut vault = loaded.vault.clone();
    let rotated = ssh_key::rotate(
        &inputs,
        &mut vault,
        file,
        &found.hetzner,
        &found.server,
        &desired,
        &progress,
    )
    .await?;
    drop(inputs);
    loaded.vault = vault;
    Ok(Some(rotated))
}
