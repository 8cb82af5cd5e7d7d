//! What most commands need first: the stack file, and the key to its vault.
//!
//! Resolution order is part of the CLI contract (README "Choosing the stack"):
//! `--stack`, then `$CLAWPROV_STACK`, then the only `stacks/*.yaml` here; the
//! identity from `--identity`, `$CLAWPROV_AGE_IDENTITY`, then the default path.

use std::path::{Path, PathBuf};

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
pub use crate::secrets::Sealing;
use crate::secrets::{self, identity, Recipient, Secret, Unlock, Vault};
use crate::stack::{self, Stack};
use crate::ui::Ui;

/// A loaded, validated stack and where its vault lives.
pub struct StackContext {
    pub path: PathBuf,
    pub stack: Stack,
    pub vault_path: PathBuf,
    identity: Option<PathBuf>,
}

impl StackContext {
    pub fn load(global: &GlobalArgs) -> Result<StackContext> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::failed(format!("cannot read the working directory: {e}")))?;
        let env = std::env::var_os("CLAWPROV_STACK");
        if global.stack.len() > 1 {
            return Err(Error::bad_input(
                "this command takes one stack (-s FILE); only plan, up, destroy and status take several",
            ));
        }
        let path = stack::discover(
            global.stack.first().map(PathBuf::as_path),
            env.as_deref(),
            &cwd,
        )?;
        let stack = stack::load(&path)?;
        let vault_path = stack::vault_path(&stack, &path);
        Ok(StackContext {
            path,
            stack,
            vault_path,
            identity: global.identity.clone(),
        })
    }

    pub fn uses_passphrase(&self) -> bool {
        self.stack.secrets.passphrase
    }

    /// The identity file this run uses (only meaningful for recipient vaults).
    pub fn identity_path(&self) -> Result<PathBuf> {
        Ok(identity::resolve(self.identity.as_deref())?)
    }

    /// Decrypt the vault. A missing vault is bad input with a hint.
    pub fn open_vault(&self) -> Result<(Vault, Sealing)> {
        if !self.vault_path.exists() {
            return Err(Error::bad_input(format!(
                "{}: vault not found (stack {}); create it with `clawprov init {}` or restore it from version control",
                self.vault_path.display(),
                self.path.display(),
                self.stack.name
            )));
        }
        let (mut vault, sealing) = if self.uses_passphrase() {
            let pass = secrets::passphrase(false)?;
            let vault = secrets::read(&self.vault_path, &Unlock::Passphrase(pass.clone()))?;
            (vault, Sealing::Passphrase(pass))
        } else {
            let id_path = self.identity_path()?;
            let identities = identity::load(&id_path)?;
            let vault = secrets::read(&self.vault_path, &Unlock::Identities(identities))?;
            (vault, Sealing::Recipients(self.recipients()?))
        };
        // A vault from before dates were recorded: its secrets' ages count
        // from now, the first time this clawprov opens it, and say so
        // (`SetAt::first_seen`). Written once, so the count holds; a vault
        // that cannot be written (a read-only checkout) counts from now on
        // every run until one can: never an error for a read.
        if !vault.date_unknown(secrets::record::now()).is_empty() {
            let _ = self.save_vault(&vault, &sealing);
        }
        Ok((vault, sealing))
    }

    /// The recipients the vault is sealed to: the stack's list, or, when the
    /// list is empty, the local identity's own recipient.
    pub fn recipients(&self) -> Result<Vec<Recipient>> {
        let texts = self.recipient_texts()?;
        texts
            .iter()
            .map(|t| {
                Recipient::parse(t).map_err(|why| {
                    Error::bad_input(format!(
                        "{}: secrets.recipients: {why}",
                        self.path.display()
                    ))
                })
            })
            .collect()
    }

    pub fn recipient_texts(&self) -> Result<Vec<String>> {
        if !self.stack.secrets.recipients.is_empty() {
            return Ok(self.stack.secrets.recipients.clone());
        }
        Ok(vec![identity::recipient_of(&self.identity_path()?)?])
    }

    pub fn save_vault(&self, vault: &Vault, sealing: &Sealing) -> Result<()> {
        secrets::write(&self.vault_path, vault, &sealing.lock())?;
        Ok(())
    }

    /// The vault's backup signing key (`loaded`: the vault as already
    /// read). A vault made before clawprov signed backups has none: one is
    /// made, saved in the vault (atomically, as every write) and said.
    pub fn backup_signing_key(&self, loaded: &Vault, ui: &Ui) -> Result<Secret> {
        use crate::backup::signature::SIGNING_KEY;
        if let Some(key) = loaded.get(SIGNING_KEY) {
            return Ok(key.clone());
        }
        let (mut vault, sealing) = self.open_vault()?;
        if let Some(key) = vault.get(SIGNING_KEY) {
            return Ok(key.clone());
        }
        let (key, _) = secrets::generate_ssh_key("clawprov-backup")?;
        vault.set(SIGNING_KEY, key.clone())?;
        self.save_vault(&vault, &sealing)?;
        ui.warn(&format!(
            "{}: added {SIGNING_KEY} to the vault: backups are signed with it, and restore \
             takes only archives it signed",
            shown(&self.vault_path)
        ));
        Ok(key)
    }
}

/// Display form of a path relative to the working directory when possible.
pub fn shown(path: &Path) -> String {
    match std::env::current_dir() {
        Ok(cwd) => path
            .strip_prefix(&cwd)
            .unwrap_or(path)
            .display()
            .to_string(),
        Err(_) => path.display().to_string(),
    }
}
