//! The stack file: one YAML document that declares one deployment.
//!
//! `model` holds the typed form every other layer reads. Loading runs the
//! input through `text` (size, encoding, characters), `outline` (structure,
//! positions, unknown keys against `schema`), serde, then `validate`
//! (allowlists in `rules`); any failure is a [`StackError`] naming the file,
//! line, column and field.

mod discover;
mod document;
mod error;
mod load;
mod model;
mod outline;
mod recipients;
mod rules;
mod scalar;
mod schema;
mod text;
mod validate;

pub use discover::discover;
pub use document::init_document;
pub use error::{StackError, DOCUMENT, FILE};
pub use load::{load, parse, vault_path};
pub use model::*;
pub use recipients::set_recipients;
pub use rules::OPENCLAW_SUPPORTED;
pub use text::MAX_FILE_BYTES;
