//! Output: human text vs `--json`, progress on a terminal vs plain lines.
//!
//! Commands produce a value implementing [`Report`]; [`Ui::emit`] prints it in
//! the form the user asked for. Progress goes to stderr so stdout stays clean
//! for `--json` and for values such as `secrets get`. Every human line
//! passes [`escape`] (reports and progress quote what hosts sent back).

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::remote_text::escape;

/// A command's result, printable for people and for scripts.
pub trait Report {
    /// Text for a person (stdout).
    fn human(&self) -> String;
    /// One JSON value for a script (stdout with `--json`).
    fn json(&self) -> serde_json::Value;
}

#[derive(Debug, Clone)]
pub struct Ui {
    json: bool,
    verbose: u8,
    terminal: bool,
}

impl Ui {
    pub fn new(json: bool, verbose: u8) -> Self {
        Ui {
            json,
            verbose,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// True when stderr is a terminal (progress draws there).
    pub fn terminal(&self) -> bool {
        self.terminal
    }

    /// True when stdin and stderr are a terminal, so a prompt can be shown.
    pub fn interactive(&self) -> bool {
        self.terminal && std::io::stdin().is_terminal()
    }

    /// Print a command's result.
    pub fn emit(&self, report: &dyn Report) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let _ = writeln!(out, "{}", report.json());
        } else {
            let text = report.human();
            if !text.is_empty() {
                let _ = writeln!(out, "{}", escape(text.trim_end_matches('\n')));
            }
        }
    }

    /// A line of progress or information on stderr (suppressed with --json
    /// unless -v is given).
    pub fn info(&self, msg: &str) {
        if self.json && self.verbose == 0 {
            return;
        }
        self.line(msg);
    }

    /// A warning on stderr; always shown.
    pub fn warn(&self, msg: &str) {
        self.line(&format!("warning: {msg}"));
    }

    fn line(&self, msg: &str) {
        let msg = escape(msg);
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = writeln!(err, "{msg}");
        } else {
            let _ = writeln!(err, "{} {msg}", timestamp());
        }
    }

    /// Start a long wait: a spinner on a terminal, a plain timestamped line
    /// otherwise. Finish it with [`Step::done`] or [`Step::fail`].
    pub fn step(&self, msg: &str) -> Step {
        if self.terminal && !self.json {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(escape(msg).into_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            Step {
                ui: self.clone(),
                msg: msg.to_string(),
                bar: Some(bar),
            }
        } else {
            self.info(&format!("{msg} ..."));
            Step {
                ui: self.clone(),
                msg: msg.to_string(),
                bar: None,
            }
        }
    }
}

/// One long-running step shown to the user.
pub struct Step {
    ui: Ui,
    msg: String,
    bar: Option<ProgressBar>,
}

impl Step {
    /// Update the detail shown next to the step (e.g. "action 40%").
    pub fn set_detail(&self, detail: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(escape(&format!("{} ({detail})", self.msg)).into_owned()),
            None if self.ui.verbose > 0 => self.ui.info(&format!("{}: {detail}", self.msg)),
            None => {}
        }
    }

    pub fn done(self, outcome: &str) {
        let line = format!("{}: {outcome}", self.msg);
        match &self.bar {
            Some(bar) => bar.finish_with_message(escape(&line).into_owned()),
            None => self.ui.info(&line),
        }
    }

    pub fn fail(self, why: &str) {
        let line = format!("{}: FAILED: {why}", self.msg);
        match &self.bar {
            Some(bar) => bar.abandon_with_message(escape(&line).into_owned()),
            None => self.ui.line(&line),
        }
    }
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .unwrap_or_default()
}
