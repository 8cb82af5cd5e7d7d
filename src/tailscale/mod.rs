//! Tailscale API v2 client layer, beside [`crate::hetzner`].
//!
//! One client type, [`Tailscale`]: OAuth client credentials (token cached
//! for its lifetime, never logged) or an API access token; bounded retries
//! with backoff on 429/5xx; errors that name the call and the fix. One file
//! per resource: [`keys`] (auth keys minted per deploy), [`devices`], and
//! [`node`], which says which devices are a stack's and which one is the
//! node of its current server.

mod client;
mod credentials;
mod devices;
mod error;
pub mod keys;
pub mod node;
mod oauth;

pub use client::{endpoint_from, ClientOptions, Tailscale, TailscaleCounts, DEFAULT_ENDPOINT};
pub use credentials::Credentials;
pub use devices::Device;
pub use error::TailscaleError;
pub use keys::{AuthKey, CreateCaps, KeySpec, NewKey, UnseenKey};
