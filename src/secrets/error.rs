//! What can go wrong with the vault, its identity and its keys.
//!
//! Every message names the file (or the key name) involved and what to do
//! next, and never contains a secret value: variants carry paths, key names
//! and fixed reasons only, never text taken from a decrypted vault.

use std::path::PathBuf;

use crate::error::{Error, Kind};

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("vault {path}: not found (create it with `clawprov init`)")]
    NotFound { path: PathBuf },

    #[error("vault {path}: cannot {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "vault {path}: none of the given identities can decrypt it \
         (it is encrypted to other recipients; use the identity whose public key is \
         listed in the stack's secrets.recipients, via --identity or $CLAWPROV_AGE_IDENTITY)"
    )]
    NoMatchingIdentity { path: PathBuf },

    #[error(
        "vault {path}: is encrypted to a passphrase, not to recipients \
         (set $CLAWPROV_PASSPHRASE or run in a terminal to be asked for it)"
    )]
    NeedsPassphrase { path: PathBuf },

    #[error(
        "vault {path}: is encrypted to recipients, not to a passphrase \
         (use --identity or $CLAWPROV_AGE_IDENTITY)"
    )]
    NeedsIdentity { path: PathBuf },

    #[error(
        "vault {path}: the passphrase-protected SSH identity could not be unlocked \
         (run in a terminal to be asked for its passphrase)"
    )]
    SshIdentityLocked { path: PathBuf },

    #[error("vault {path}: wrong passphrase")]
    WrongPassphrase { path: PathBuf },

    #[error(
        "vault {path}: its passphrase work factor 2^{required} is above the accepted \
         maximum 2^{max} (re-encrypt it with a lower work factor)"
    )]
    ExcessiveWork {
        path: PathBuf,
        required: u8,
        max: u8,
    },

    #[error("vault {path}: malformed: {reason}")]
    Malformed { path: PathBuf, reason: String },

    #[error(
        "unknown secret name {name}; known names: {known} \
         (check the spelling), or a name of your own ending in {endings} \
         (for `{{secret: KEY}}` in the stack)",
        known = super::KNOWN_KEYS.join(", "),
        endings = super::CUSTOM_KEY_ENDINGS.join(", ")
    )]
    UnknownKey { name: String },

    #[error(
        "secret {name}: the name is clawprov's own (an interrupted rotation's new value, or its record of dates); `clawprov rotate` writes it"
    )]
    ReservedKey { name: String },

    #[error(
        "not a valid secret name (use one of: {known})",
        known = super::KNOWN_KEYS.join(", ")
    )]
    InvalidKeyName,

    #[error("secret {name}: {reason}")]
    InvalidValue { name: String, reason: &'static str },

    #[error(
        "vault {path}: no recipients to encrypt to \
         (add one with `clawprov secrets recipients add`, or use a passphrase vault)"
    )]
    NoRecipients { path: PathBuf },

    #[error("vault {path}: cannot encrypt: {reason}")]
    Encrypt { path: PathBuf, reason: String },

    #[error(
        "identity {path}: not found (create one with `clawprov init`, or point \
         --identity / $CLAWPROV_AGE_IDENTITY at an existing one)"
    )]
    IdentityNotFound { path: PathBuf },

    #[error("identity {path}: {reason}")]
    IdentityMalformed { path: PathBuf, reason: String },

    #[error("identity {path}: already exists; refusing to overwrite it")]
    IdentityExists { path: PathBuf },

    #[error("identity {path}: cannot {action}: {source}")]
    IdentityIo {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "cannot find the default identity: neither $XDG_CONFIG_HOME nor $HOME is set \
         (pass --identity or set $CLAWPROV_AGE_IDENTITY)"
    )]
    NoConfigHome,

    #[error("no passphrase: set $CLAWPROV_PASSPHRASE, or run in a terminal to be asked for it")]
    NoPassphrase,

    #[error("the passphrase is empty")]
    EmptyPassphrase,

    #[error("the two passphrases do not match")]
    PassphraseMismatch,

    #[error("cannot read the passphrase from the terminal: {0}")]
    PassphrasePrompt(#[source] std::io::Error),

    #[error("ssh_private_key: {reason}")]
    SshKey { reason: String },

    #[error("cannot generate an ssh key: {reason}")]
    SshKeyGenerate { reason: String },
}

impl VaultError {
    /// Whether the input (a file, a name, a passphrase) was wrong, as opposed
    /// to the operation failing on good input.
    pub fn kind(&self) -> Kind {
        match self {
            VaultError::Io { .. } | VaultError::IdentityIo { .. } | VaultError::Encrypt { .. } => {
                Kind::Failed
            }
            VaultError::PassphrasePrompt(_) | VaultError::SshKeyGenerate { .. } => Kind::Failed,
            VaultError::NotFound { .. }
            | VaultError::NoMatchingIdentity { .. }
            | VaultError::NeedsPassphrase { .. }
            | VaultError::NeedsIdentity { .. }
            | VaultError::WrongPassphrase { .. }
            | VaultError::SshIdentityLocked { .. }
            | VaultError::ExcessiveWork { .. }
            | VaultError::Malformed { .. }
            | VaultError::UnknownKey { .. }
            | VaultError::ReservedKey { .. }
            | VaultError::InvalidKeyName
            | VaultError::InvalidValue { .. }
            | VaultError::NoRecipients { .. }
            | VaultError::IdentityNotFound { .. }
            | VaultError::IdentityMalformed { .. }
            | VaultError::IdentityExists { .. }
            | VaultError::NoConfigHome
            | VaultError::NoPassphrase
            | VaultError::EmptyPassphrase
            | VaultError::PassphraseMismatch
            | VaultError::SshKey { .. } => Kind::BadInput,
        }
    }
}

impl From<VaultError> for Error {
    fn from(e: VaultError) -> Self {
        Error::new(e.kind(), e)
    }
}
