//! The age vault: `stacks/NAME.secrets.age`, an ASCII-armored age file whose
//! plaintext is a YAML map of secret name -> value.
//!
//! Plaintext exists only in memory, inside [`Secret`]; it never touches disk.

mod recipient;
mod secret;

pub use recipient::Recipient;
pub use secret::Secret;
