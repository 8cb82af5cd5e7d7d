//! The clawprov binary: parse, dispatch, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = match clawprov::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to
            // stderr; usage errors are bad input (exit 2).
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(clawprov::commands::run(cli));
    if let Err(e) = result {
        // The message may carry text from the host (a journal tail, a
        // command's stderr, names in an archive): escaped for the terminal.
        eprintln!("error: {}", clawprov::remote_text::escape(&e.to_string()));
        std::process::exit(e.exit_code());
    }
}
