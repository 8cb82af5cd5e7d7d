//! clawprov: one declarative stack file -> a locked-down OpenClaw gateway on
//! Hetzner Cloud, reachable only over Tailscale.
//!
//! The binary (`src/main.rs`) is a thin shell over this library so that
//! integration tests can reach every layer. Arrows point one way:
//! `commands` -> layers; layers never import `commands`; `sim` is used only by
//! `commands` and tests.

pub mod backup;
pub mod cli;
pub mod commands;
pub mod converge;
pub mod error;
pub mod gateway;
pub mod hetzner;
pub mod host;
pub mod kill_point;
pub mod lock;
pub mod plan;
pub mod preflight;
pub mod remote_text;
pub mod render;
pub mod rotation;
pub mod secrets;
pub mod sim;
pub mod stack;
pub mod tailscale;
pub mod ui;
pub mod verify;
