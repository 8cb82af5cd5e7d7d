//! One file per subcommand. Each is thin: it resolves inputs, calls the
//! layers, and returns a [`crate::ui::Report`].

pub mod validate;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::ui::Ui;

pub async fn run(cli: Cli) -> Result<()> {
    let ui = Ui::new(cli.global.json, cli.global.verbose);
    match cli.command {
        Command::Validate => validate::run(&cli.global, &ui),
        Command::Init(_) | Command::Secrets(_) | Command::Render(_) => {
            let _ = ui;
            Err(crate::error::Error::failed("not built yet"))
        }
    }
}
