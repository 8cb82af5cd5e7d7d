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
        /// Channel tokens in the vault no declared channel uses.
        unused: Vec<&'static str>,
    },
}

pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let ctx = StackContext::load(global)?;
    let vault = check_vault(&ctx, ui)?;
    let gateway = crate::gateway::build(&ctx.stack, &crate::gateway::home_of(&ctx.stack))
        .map_err(|e| crate::error::Error::bad_input(e.to_string()))?;
    ui.emit(&Validated {
        path: ctx.path.clone(),
        vault_path: ctx.vault_path.clone(),
        stack: ctx.stack.clone(),
        vault,
        warnings: gateway.warnings,
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
        missing: secrets::missing_requirements(&vault, &ctx.stack),
        unused: secrets::unused_channel_tokens(&vault, &ctx.stack),
    })
}

/// A stack file that passed validation.
struct Validated {
    path: PathBuf,
    vault_path: PathBuf,
    stack: Stack,
    vault: VaultCheck,
    /// The gateway configuration's warnings (weaker than the baseline, a
    /// model not in the release's catalog).
    warnings: Vec<String>,
}

/// `telegram (dm pairing, 2 groups), slack (dm allowlist)`.
fn channels(stack: &Stack) -> String {
    let declared = stack.openclaw.channels.declared();
    if declared.is_empty() {
        return "none".into();
    }
    declared
        .iter()
        .map(|(name, c)| {
            let groups = match c.groups.len() {
                0 => "no groups".to_string(),
                1 => "1 group".to_string(),
                n => format!("{n} groups"),
            };
            format!("{name} (dm {}, {groups})", c.dm.as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report for Validated {
    fn human(&self) -> String {
        let s = &self.stack;
        let h = &s.hetzner;
        let t = &s.tailscale;
        let vault_state = match &self.vault {
            VaultCheck::NotCreated => " (not created yet)".to_string(),
            VaultCheck::NotOpened(why) => format!(" (not opened: {why})"),
            VaultCheck::Opened {
                secrets, missing, ..
            } if missing.is_empty() => {
                format!(" ({secrets} secrets, nothing missing)")
            }
            VaultCheck::Opened {
                secrets, missing, ..
            } => format!(
                " ({secrets} secrets; still needed for up: {})",
                missing
                    .iter()
                    .map(|r| format!("{} ({})", r.label(), r.why))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut notes = String::new();
        if let VaultCheck::Opened { unused, .. } = &self.vault {
            for key in unused {
                notes.push_str(&format!(
                    "\n  note:    the vault has {key} but no channel uses it; declare the channel under openclaw.channels to switch it on"
                ));
            }
        }
        for w in &self.warnings {
            notes.push_str(&format!("\n  warning: {w}"));
        }
        let m = &s.openclaw.model;
        let model = if m.fallbacks.is_empty() {
            m.primary.clone()
        } else {
            format!("{} (fallbacks {})", m.primary, m.fallbacks.join(", "))
        };
        let baseline = match s.openclaw.tools.baseline {
            crate::stack::Baseline::Hardened => "hardened",
            crate::stack::Baseline::Standard => "standard",
        };
        format!(
            "{}: valid\n  name:    {}\n  server:  {} in {} ({})\n  node:    {}.{} tags {}\n  gateway: openclaw {} on 127.0.0.1:{}\n  model:   {}\n  chat:    {}\n  tools:   baseline {}\n  vault:   {}{}{}",
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
            model,
            channels(s),
            baseline,
            self.vault_path.display(),
            vault_state,
            notes,
        )
    }

    fn json(&self) -> serde_json::Value {
        let vault = match &self.vault {
            VaultCheck::NotCreated => json!({ "state": "not_created" }),
            VaultCheck::NotOpened(why) => json!({ "state": "not_opened", "reason": why }),
            VaultCheck::Opened {
                secrets,
                missing,
                unused,
            } => json!({
                "state": "opened",
                "secrets": secrets,
                "missing": missing.iter().map(Requirement::label).collect::<Vec<_>>(),
                "unused_channel_tokens": unused,
            }),
        };
        json!({
            "stack": self.path,
            "name": self.stack.name,
            "valid": true,
            "vault": self.vault_path,
            "vault_check": vault,
            "warnings": self.warnings,
        })
    }
}
