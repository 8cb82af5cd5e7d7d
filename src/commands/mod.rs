//! One file per subcommand. Each is thin: it resolves inputs, calls the
//! layers, and returns a [`crate::ui::Report`].

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::ui::Ui;

pub mod sim;

pub async fn run(cli: Cli) -> Result<()> {
    let ui = Ui::new(cli.global.json, cli.global.verbose);
    match cli.command {
        Command::Sim(cmd) => sim::run(cmd, &ui).await,
        Command::Init(_) | Command::Secrets(_) | Command::Render(_) | Command::Validate => {
            let _ = ui;
            Err(crate::error::Error::failed("not built yet"))
        }
    }
}
