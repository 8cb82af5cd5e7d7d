//! `clawprov validate`: find the stack file, load it (every allowlist), and,
//! when the key to the vault is at hand, open the vault and list what a
//! deploy would still miss. Changes nothing.

use std::path::PathBuf;

use serde_json::json;

use super::context::StackContext;
use crate::cli::GlobalArgs;
use crate::error::Result;
use crate::secrets::{self, Requirement};
use crate::stack::Stack;
use crate::ui::{Report, Ui};

/// What validate could say about the vault.
enum VaultCheck {
    NotCreated,
    NotOpened(String),
    Opened {
        secrets: usize,
        missing: Vec<Requirement>,
    },
}

pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let ctx = StackContext::load(global)?;
    let vault = check_vault(&ctx, ui)?;
    ui.emit(&Validated {
        path: ctx.path.clone(),
        vault_path: ctx.vault_path.clone(),
        stack: ctx.stack.clone(),
        vault,
    });
    Ok(())
}

/// Open the vault only when that needs no prompt the user did not expect;
/// a vault that is there but will not open with the key at hand is an error.
fn check_vault(ctx: &StackContext, ui: &Ui) -> Result<VaultCheck> {
    if !ctx.vault_path.exists() {
        return Ok(VaultCheck::NotCreated);
    }
    if ctx.uses_passphrase() {
        if std::env::var_os(secrets::PASSPHRASE_ENV).is_none() && !ui.interactive() {
            return Ok(VaultCheck::NotOpened(format!(
                "passphrase vault and ${} is not set",
                secrets::PASSPHRASE_ENV
            )));
        }
    } else {
        let identity = ctx.identity_path()?;
        if !identity.exists() {
            return Ok(VaultCheck::NotOpened(format!(
                "no age identity at {}",
                identity.display()
            )));
        }
    }
    let (vault, _) = ctx.open_vault()?;
    Ok(VaultCheck::Opened {
        secrets: vault.len(),
        missing: secrets::missing_requirements(&vault, ctx.stack.tailscale.auth),
    })
}

/// A stack file that passed validation.
struct Validated {
    path: PathBuf,
    vault_path: PathBuf,
    stack: Stack,
    vault: VaultCheck,
}

impl Report for Validated {
    fn human(&self) -> String {
        let s = &self.stack;
        let h = &s.hetzner;
        let t = &s.tailscale;
        let vault_state = match &self.vault {
            VaultCheck::NotCreated => " (not created yet)".to_string(),
            VaultCheck::NotOpened(why) => format!(" (not opened: {why})"),
            VaultCheck::Opened { secrets, missing } if missing.is_empty() => {
                format!(" ({secrets} secrets, nothing missing)")
            }
            VaultCheck::Opened { secrets, missing } => format!(
                " ({secrets} secrets; still needed for up: {})",
                missing
                    .iter()
                    .map(Requirement::label)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        format!(
            "{}: valid\n  name:    {}\n  server:  {} in {} ({})\n  node:    {}.{} tags {}\n  gateway: openclaw {} on 127.0.0.1:{}\n  vault:   {}{}",
            self.path.display(),
            s.name,
            h.server_type,
            h.location,
            h.image,
            t.hostname,
            t.tailnet,
            t.tags.join(","),
            s.openclaw.version,
            s.openclaw.port,
            self.vault_path.display(),
            vault_state,
        )
    }

    fn json(&self) -> serde_json::Value {
        let vault = match &self.vault {
            VaultCheck::NotCreated => json!({ "state": "not_created" }),
            VaultCheck::NotOpened(why) => json!({ "state": "not_opened", "reason": why }),
            VaultCheck::Opened { secrets, missing } => json!({
                "state": "opened",
                "secrets": secrets,
                "missing": missing.iter().map(Requirement::label).collect::<Vec<_>>(),
            }),
        };
        json!({
            "stack": self.path,
            "name": self.stack.name,
            "valid": true,
            "vault": self.vault_path,
            "vault_check": vault,
        })
    }
}
