//! `clawprov secrets ...`: read and edit the vault. Values come in on stdin
//! (or a no-echo prompt) and go out only through `secrets get`.

use serde_json::json;

use super::context::{shown, Sealing, StackContext};
use crate::cli::{GlobalArgs, RecipientsCommand, SecretsCommand};
use crate::error::{Error, Result};
use crate::secrets::{Recipient, Secret};
use crate::stack;
use crate::ui::{Report, Ui};

pub fn run(cmd: SecretsCommand, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let ctx = StackContext::load(global)?;
    match cmd {
        SecretsCommand::List => list(&ctx, ui),
        SecretsCommand::Get { key } => get(&ctx, ui, &key),
        SecretsCommand::Set { key } => set(&ctx, ui, &key),
        SecretsCommand::Rm { key } => rm(&ctx, ui, &key),
        SecretsCommand::Recipients(cmd) => recipients(&ctx, ui, cmd),
    }
}

struct KeyList {
    vault: String,
    keys: Vec<String>,
}

impl Report for KeyList {
    fn human(&self) -> String {
        if self.keys.is_empty() {
            return format!("{}: no secrets", self.vault);
        }
        self.keys.join("\n")
    }
    fn json(&self) -> serde_json::Value {
        json!({ "vault": self.vault, "keys": self.keys })
    }
}

fn list(ctx: &StackContext, ui: &Ui) -> Result<()> {
    let (vault, _) = ctx.open_vault()?;
    ui.emit(&KeyList {
        vault: shown(&ctx.vault_path),
        keys: vault.keys().map(str::to_string).collect(),
    });
    Ok(())
}

/// The one place a value leaves the vault for the user: on stdout, on request.
struct Revealed<'a> {
    key: &'a str,
    value: &'a Secret,
}

impl Report for Revealed<'_> {
    fn human(&self) -> String {
        self.value.expose().to_string()
    }
    fn json(&self) -> serde_json::Value {
        json!({ "key": self.key, "value": self.value.expose() })
    }
}

fn get(ctx: &StackContext, ui: &Ui, key: &str) -> Result<()> {
    let (vault, _) = ctx.open_vault()?;
    let value = vault.get(key).ok_or_else(|| missing(ctx, key))?;
    ui.emit(&Revealed { key, value });
    Ok(())
}

struct Changed {
    action: &'static str,
    key: String,
    vault: String,
}

impl Report for Changed {
    fn human(&self) -> String {
        format!("{} {} in {}", self.action, self.key, self.vault)
    }
    fn json(&self) -> serde_json::Value {
        json!({ "action": self.action, "key": self.key, "vault": self.vault })
    }
}

fn set(ctx: &StackContext, ui: &Ui, key: &str) -> Result<()> {
    // Validate the name before asking for a value nobody can store.
    crate::secrets::check_key(key)?;
    let (mut vault, sealing) = ctx.open_vault()?;
    let value = crate::secrets::read_value(ui.interactive(), key)?;
    let action = if vault.get(key).is_some() {
        "updated"
    } else {
        "added"
    };
    vault.set(key, value)?;
    ctx.save_vault(&vault, &sealing)?;
    ui.emit(&Changed {
        action,
        key: key.to_string(),
        vault: shown(&ctx.vault_path),
    });
    Ok(())
}

fn rm(ctx: &StackContext, ui: &Ui, key: &str) -> Result<()> {
    let (mut vault, sealing) = ctx.open_vault()?;
    if !vault.remove(key) {
        return Err(missing(ctx, key));
    }
    ctx.save_vault(&vault, &sealing)?;
    ui.emit(&Changed {
        action: "removed",
        key: key.to_string(),
        vault: shown(&ctx.vault_path),
    });
    Ok(())
}

fn missing(ctx: &StackContext, key: &str) -> Error {
    Error::bad_input(format!(
        "{}: no secret named {key}; `clawprov secrets list` shows what is there",
        shown(&ctx.vault_path)
    ))
}

struct RecipientList {
    stack: String,
    recipients: Vec<String>,
    implicit: bool,
}

impl Report for RecipientList {
    fn human(&self) -> String {
        let mut out = self.recipients.join("\n");
        if self.implicit {
            out.push_str("\n(the stack lists none: the vault is sealed to your own identity)");
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({ "stack": self.stack, "recipients": self.recipients, "implicit": self.implicit })
    }
}

fn recipients(ctx: &StackContext, ui: &Ui, cmd: RecipientsCommand) -> Result<()> {
    if ctx.uses_passphrase() {
        return Err(Error::bad_input(format!(
            "{}: secrets.passphrase is true: this vault has a passphrase, not recipients",
            shown(&ctx.path)
        )));
    }
    let current = ctx.recipient_texts()?;
    let next = match cmd {
        RecipientsCommand::List => {
            ui.emit(&RecipientList {
                stack: shown(&ctx.path),
                recipients: current,
                implicit: ctx.stack.secrets.recipients.is_empty(),
            });
            return Ok(());
        }
        RecipientsCommand::Add { recipient } => {
            let parsed = Recipient::parse(&recipient)
                .map_err(|why| Error::bad_input(format!("recipient: {why}")))?;
            if current.iter().any(|r| same_key(r, parsed.as_str())) {
                return Err(Error::bad_input(
                    "recipient: already a recipient of this vault".to_string(),
                ));
            }
            let mut next = current.clone();
            next.push(parsed.as_str().to_string());
            next
        }
        RecipientsCommand::Rm { recipient } => {
            let wanted = recipient.trim();
            let next: Vec<String> = current
                .iter()
                .filter(|r| !same_key(r, wanted))
                .cloned()
                .collect();
            if next.len() == current.len() {
                return Err(Error::bad_input(
                    "recipient: not a recipient of this vault; `clawprov secrets recipients list` shows them",
                ));
            }
            if next.is_empty() {
                return Err(Error::bad_input(
                    "recipient: cannot remove the last recipient: nobody could decrypt the vault"
                        .to_string(),
                ));
            }
            next
        }
    };
    let (vault, _) = ctx.open_vault()?;
    let parsed: Vec<Recipient> = next
        .iter()
        .map(|t| Recipient::parse(t).map_err(|why| Error::bad_input(format!("recipient: {why}"))))
        .collect::<Result<_>>()?;
    // Vault first: if the stack-file update then fails, the vault is already
    // sealed to the new list and the error says which file to fix.
    ctx.save_vault(&vault, &Sealing::Recipients(parsed))?;
    stack::set_recipients(&ctx.path, &next)?;
    ui.emit(&RecipientList {
        stack: shown(&ctx.path),
        recipients: next,
        implicit: false,
    });
    Ok(())
}

/// Two recipient strings name the same key (ssh keys may differ in comment).
fn same_key(a: &str, b: &str) -> bool {
    let key = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    key(a) == key(b)
}
