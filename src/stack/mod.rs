//! The stack file: one YAML document that declares one deployment.
//!
//! `model` holds the typed form every other layer reads. Loading and
//! validation (allowlists, file:line:column errors) live beside it.

mod model;

pub use model::*;
