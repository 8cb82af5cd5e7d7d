//! Where a vault lives and how it is sealed on its next write: what a
//! command that changes the vault part-way through its work (a rotation
//! keeps the pending value before it touches the server) carries along.

use std::path::PathBuf;

use super::{write, Lock, Recipient, Secret, Vault, VaultError};

/// How the vault is encrypted on the next write.
pub enum Sealing {
    Recipients(Vec<Recipient>),
    Passphrase(Secret),
}

impl Sealing {
    pub fn lock(&self) -> Lock<'_> {
        match self {
            Sealing::Recipients(r) => Lock::Recipients(r),
            Sealing::Passphrase(p) => Lock::Passphrase(p),
        }
    }
}

/// A vault file and its sealing.
pub struct VaultFile {
    pub path: PathBuf,
    pub sealing: Sealing,
}

impl VaultFile {
    /// Replace the file with `vault`, atomically (a failed write keeps the
    /// previous vault).
    pub fn save(&self, vault: &Vault) -> Result<(), VaultError> {
        write(&self.path, vault, &self.sealing.lock())
    }
}
