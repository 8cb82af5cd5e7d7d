//! `clawprov openclaw -- ARGS`: the OpenClaw CLI on the node as the service
//! user, the way the gateway runs (`host::plugins::openclaw`: the pinned
//! Node, the service user's HOME and PATH), with the gateway's environment
//! loaded from its env file *on the node*
//! (`plugins::with_gateway_env`), so the gateway token reaches the CLI
//! without ever being in an argv, here or there.
//!
//! The OpenClaw CLI finds the gateway from `~/.openclaw/openclaw.json`
//! (`gateway.port`, loopback) and authenticates with
//! `OPENCLAW_GATEWAY_TOKEN` (the contract test runs `devices list` this
//! way against the real package). On a terminal it gets a PTY (its
//! prompts and colours work, and what it prints, such as
//! `dashboard`'s one-time pairing link, is shown as is); otherwise its
//! output is relayed with vault values shown as `[redacted:KEY]`.

use std::io::IsTerminal;

use super::node::Node;
use crate::cli::{GlobalArgs, OpenclawArgs};
use crate::error::{Error, Result};
use crate::host::plugins;
use crate::host::terminal::{self, Program, RemoteExit, Wiring};
use crate::ui::Ui;

pub async fn run(args: OpenclawArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    if let Some(bad) = args.args.iter().find(|a| a.contains(['\0', '\n', '\r'])) {
        return Err(Error::bad_input(format!(
            "clawprov openclaw -- ...: the argument {bad:?} holds a NUL or a line break"
        )));
    }
    let on_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let node = Node::connect(&args.node, global, ui, "openclaw").await?;
    let cmd = plugins::with_gateway_env(&node.loaded.stack, &node.account, &args.args);
    let wiring = Wiring::for_user(on_terminal, &node.loaded.vault);
    let status = terminal::run(&node.session, Program::Command(&cmd), wiring).await?;
    if status != 0 {
        return Err(RemoteExit {
            command: format!("openclaw {}", args.args.join(" ")),
            status,
        }
        .into());
    }
    Ok(())
}
