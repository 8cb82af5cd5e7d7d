//! One file per subcommand. Each is thin: it resolves inputs, calls the
//! layers, and returns a [`crate::ui::Report`].

mod context;
mod init;
mod render;
mod secrets;
pub mod sim;
pub mod validate;

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
        Command::Sim(cmd) => sim::run(cmd, &ui).await,
    }
}
