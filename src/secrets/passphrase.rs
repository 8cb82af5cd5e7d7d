//! The passphrase of a passphrase vault: from `$CLAWPROV_PASSPHRASE`, else
//! asked on the terminal without echo. Never from argv.

use std::io::IsTerminal;

use super::{Secret, VaultError};

/// The environment variable holding a vault passphrase (for scripts and CI).
pub const PASSPHRASE_ENV: &str = "CLAWPROV_PASSPHRASE";

/// The vault passphrase. With `confirm`, a prompted passphrase is asked
/// twice (for a new vault); an environment passphrase is taken as is.
pub fn passphrase(confirm: bool) -> Result<Secret, VaultError> {
    if let Some(value) = std::env::var_os(PASSPHRASE_ENV) {
        let value = value.into_string().map_err(|_| VaultError::NoPassphrase)?;
        return non_empty(Secret::new(value));
    }
    if !std::io::stdin().is_terminal() {
        return Err(VaultError::NoPassphrase);
    }
    let first = prompt("Vault passphrase: ")?;
    if confirm {
        let second = prompt("Repeat the passphrase: ")?;
        if first != second {
            return Err(VaultError::PassphraseMismatch);
        }
    }
    non_empty(first)
}

fn prompt(label: &str) -> Result<Secret, VaultError> {
    rpassword::prompt_password(label)
        .map(Secret::new)
        .map_err(VaultError::PassphrasePrompt)
}

fn non_empty(secret: Secret) -> Result<Secret, VaultError> {
    if secret.expose().is_empty() {
        Err(VaultError::EmptyPassphrase)
    } else {
        Ok(secret)
    }
}
