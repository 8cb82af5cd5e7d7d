//! Executing a [`crate::plan::Plan`] against Hetzner: `apply` for `up`,
//! `teardown` for `destroy`. Layer code: no prompts, no flags; the commands
//! decide whether a plan may run, this module runs exactly its steps.

mod apply;
mod error;
mod progress;
pub mod rotate;
pub mod tailnet;
mod teardown;

pub use apply::{apply, Converged, ResourceRef, ServerView};
pub use error::ConvergeError;
pub use teardown::{teardown, TornDown};
