//! `clawprov ssh [-- CMD...]`: the admin user's shell on the node, or one
//! command, over the pinned SSH connection `up` uses.
//!
//! The command's words go through `env -- CMD ARGS...` (each word quoted by
//! `RemoteCommand`), so what the user typed runs as typed and is not
//! re-parsed by the remote shell; `sh -c '...'` asks for a shell line.
//! On a terminal (stdin and stdout) it gets a PTY; otherwise its stdout
//! and stderr are relayed apart, with vault values shown as
//! `[redacted:KEY]`, stdin forwarded, and its exit status is clawprov's.

use std::io::IsTerminal;

use super::node::Node;
use crate::cli::{GlobalArgs, SshArgs};
use crate::error::{Error, Result};
use crate::host::command::RemoteCommand;
use crate::host::terminal::{self, Program, RemoteExit, Wiring};
use crate::ui::Ui;

pub async fn run(args: SshArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let on_terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let command = if args.command.is_empty() {
        if !on_terminal {
            return Err(Error::bad_input(
                "clawprov ssh without a command opens an interactive shell, which needs a \
                 terminal; to run a command, give it after --: `clawprov ssh -- uptime`",
            ));
        }
        None
    } else {
        let cmd = RemoteCommand::new("env")
            .arg("--")
            .args(args.command.iter());
        cmd.line()
            .map_err(|e| Error::bad_input(format!("clawprov ssh -- ...: {e}")))?;
        Some(cmd)
    };
    let node = Node::connect(&args.node, global, ui, "ssh").await?;
    let (program, name) = match &command {
        Some(cmd) => (Program::Command(cmd), args.command.join(" ")),
        None => (Program::Shell, "the login shell".to_string()),
    };
    let wiring = Wiring::for_user(on_terminal, &node.loaded.vault);
    let status = terminal::run(&node.session, program, wiring).await?;
    if status != 0 {
        return Err(RemoteExit {
            command: name,
            status,
        }
        .into());
    }
    Ok(())
}
