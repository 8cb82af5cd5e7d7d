//! What can go wrong while rendering user-data, and whose fault it is.

use std::path::PathBuf;

use crate::error::Error;

/// A rendering failure. None of these carry the Tailscale auth key: template
/// errors quote template source positions, never rendered output.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A template failed to parse or evaluate (syntax error, undefined
    /// variable, a value printed without a quoting filter, a filter refusing
    /// a value).
    #[error("template {file}, line {line}: {detail}{hint}",
        line = line.map_or_else(|| "?".to_string(), |l| l.to_string()),
        hint = if *from_override { "" } else { " (embedded template: this is a clawprov bug)" })]
    Template {
        /// The template's file name, with its directory when it came from `--templates`.
        file: String,
        line: Option<usize>,
        detail: String,
        /// True when the template came from a `--templates` directory.
        from_override: bool,
    },

    #[error("cannot read template directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot read template {path}: {detail}")]
    ReadTemplate { path: PathBuf, detail: String },

    #[error(
        "{path}: not a clawprov template (known names: {known}); \
         remove it or fix its name so it is not silently ignored"
    )]
    UnknownTemplate { path: PathBuf, known: String },

    #[error(
        "rendered user-data is {size} bytes, over Hetzner's limit of {limit} bytes; \
         shorten the templates"
    )]
    TooLarge { size: usize, limit: usize },

    #[error("rendered user-data is not a valid #cloud-config document: {detail}")]
    NotCloudConfig { detail: String, from_override: bool },

    #[error(
        "no operator SSH key for the admin user: the vault's ssh_private_key or \
         host.authorized_keys must provide at least one"
    )]
    NoOperatorKey,
}

impl RenderError {
    /// Whether the user can fix this by changing their input (templates
    /// directory, stack, vault) rather than it being a clawprov bug.
    fn is_bad_input(&self) -> bool {
        match self {
            RenderError::Template { from_override, .. }
            | RenderError::NotCloudConfig { from_override, .. } => *from_override,
            RenderError::ReadDir { .. }
            | RenderError::ReadTemplate { .. }
            | RenderError::UnknownTemplate { .. }
            | RenderError::TooLarge { .. }
            | RenderError::NoOperatorKey => true,
        }
    }
}

impl From<RenderError> for Error {
    fn from(e: RenderError) -> Self {
        if e.is_bad_input() {
            Error::bad_input(e)
        } else {
            Error::failed(e)
        }
    }
}
