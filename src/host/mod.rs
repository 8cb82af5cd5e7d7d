//! The host phase of `up`: everything done on the server over SSH after
//! the Hetzner phase, until the gateway runs behind Tailscale Serve and
//! nothing sensitive is left lying around.
//!
//! Entry point: [`run`] with [`HostInputs`] and a [`Progress`]. The steps,
//! one file each: [`target`] (find the node, wait for its SSH port),
//! [`session`] (ssh2, host key pinned in [`known_hosts`], peers checked by
//! [`address`]), `cloud_init`, `deliver`, `service`, `serve`, `shred`.
//! Every remote command comes from [`command::RemoteCommand`].

mod account;
pub mod address;
pub mod authorized_keys;
mod cloud_init;
pub mod command;
mod connect;
mod deliver;
mod error;
pub mod journal;
pub mod known_hosts;
pub mod node_prefs;
mod paths;
mod phase;
pub mod plugins;
pub mod probe;
mod progress;
pub mod reauth;
pub mod release;
pub mod scrubbed;
mod serve;
pub mod serve_config;
mod service;
pub mod session;
mod shred;
pub mod target;
pub mod terminal;
mod token_swap;
mod write_back;

pub use account::Account;
pub use address::PeerPolicy;
pub use deliver::{
    desired_files, gateway_secrets, DesiredFile, FileOutcome, CONFIG_FILE, ENV_FILE, LOG_FILE,
};
pub use error::HostError;
pub use known_hosts::{HostKey, KnownHosts, Pin};
pub use paths::{node_bin_dir, release_dir, HostPaths, GATEWAY_UNIT, UNIT_FILE};
pub use phase::{login, route, run, HostInputs, HostKeyReport, HostReport, ReleaseReport};
pub use progress::{HostStep, Progress, Silent};
pub use release::Release;
pub use service::{scrub, socket_uid, ServiceAction};
pub use session::{Output, Session};
pub use target::{node_target, Target};
pub use token_swap::{swap_token, Swapped};
