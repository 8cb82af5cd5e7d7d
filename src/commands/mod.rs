//! One file per subcommand. Each is thin: it resolves inputs, calls the
//! layers, and returns a [`crate::ui::Report`].

mod backup;
mod carry_over;
mod context;
mod destroy;
mod host_progress;
mod init;
mod logs;
mod node;
mod openclaw;
mod plan;
mod render;
mod restore;
mod rotate;
mod secrets;
pub mod sim;
mod ssh;
mod status;
mod target;
mod transfer_progress;
mod up;
pub mod validate;
mod verify;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::ui::Ui;

pub async fn run(cli: Cli) -> Result<()> {
    let ui = Ui::new(cli.global.json, cli.global.verbose);
    match cli.command {
        Command::Init(args) => init::run(args, &cli.global, &ui),
        Command::Secrets(cmd) => secrets::run(cmd, &cli.global, &ui),
        Command::Render(args) => render::run(args, &cli.global, &ui),
        Command::Validate => validate::run(&cli.global, &ui),
        Command::Plan(args) => plan::run(args, &cli.global, &ui).await,
        Command::Up(args) => up::run(args, &cli.global, &ui).await,
        Command::Destroy(args) => destroy::run(args, &cli.global, &ui).await,
        Command::Status(args) => status::run(args, &cli.global, &ui).await,
        Command::Verify(args) => verify::run(args, &cli.global, &ui).await,
        Command::Rotate(cmd) => rotate::run(cmd, &cli.global, &ui).await,
        Command::Backup(args) => backup::run(args, &cli.global, &ui).await,
        Command::Restore(args) => restore::run(args, &cli.global, &ui).await,
        Command::Sim(cmd) => sim::run(cmd, &ui).await,
        Command::Ssh(args) => ssh::run(args, &cli.global, &ui).await,
        Command::Logs(args) => logs::run(args, &cli.global, &ui).await,
        Command::Openclaw(args) => openclaw::run(args, &cli.global, &ui).await,
    }
}
