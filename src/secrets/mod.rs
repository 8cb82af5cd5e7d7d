//! The age vault: `stacks/NAME.secrets.age`, an ASCII-armored age file whose
//! plaintext is a YAML map of secret name -> value.
//!
//! Plaintext exists only in memory, inside [`Secret`] and zeroized buffers;
//! it never touches disk. Writes are atomic: a failed write keeps the
//! previous vault.

mod atomic;
mod error;
mod file;
mod generate;
pub mod identity;
mod passphrase;
mod prompt;
mod recipient;
pub mod record;
mod requirements;
mod secret;
mod store;
mod vault;

#[doc(hidden)]
pub use atomic::Stage as WriteStage;
pub use error::VaultError;
#[doc(hidden)]
pub use file::write_interrupted;
pub use file::{
    is_passphrase_vault, read, write, Lock, Unlock, MAX_WORK_FACTOR, PASSPHRASE_WORK_FACTOR,
};
pub use generate::{generate_gateway_token, generate_ssh_key, public_key_of};
pub use passphrase::{passphrase, PASSPHRASE_ENV};
pub use prompt::read_value;
pub use recipient::Recipient;
pub use record::{Record, SetAt};
pub use requirements::{
    missing as missing_requirements, requirements, unused_channel_tokens, Requirement,
};
pub use secret::Secret;
pub use store::{Sealing, VaultFile};
pub use vault::{
    check_key, is_custom_key, Vault, CUSTOM_KEY_ENDINGS, KNOWN_KEYS, MAX_VALUE_BYTES,
    PENDING_GATEWAY_TOKEN, PENDING_SSH_PRIVATE_KEY, RESERVED_KEYS,
};
