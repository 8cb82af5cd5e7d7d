//! Bytes moved by `backup` and `restore`: a spinner with the count on a
//! terminal, a plain timestamped line every [`PLAIN_EVERY`] otherwise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::backup::Progress;
use crate::ui::{Step, Ui};

/// How often a plain line is printed.
const PLAIN_EVERY: u64 = 32 * 1024 * 1024;
/// How often the spinner's count is redrawn.
const BAR_EVERY: u64 = 256 * 1024;

pub struct TransferProgress {
    ui: Ui,
    what: String,
    step: Mutex<Option<Step>>,
    shown: AtomicU64,
    total: Option<u64>,
}

impl TransferProgress {
    /// Progress of `what` (e.g. "stack x: backup"), out of `total` bytes when known.
    pub fn new(ui: &Ui, what: &str, total: Option<u64>) -> Self {
        let step = ui.terminal().then(|| ui.step(what));
        if !ui.terminal() {
            ui.info(&format!("{what} ..."));
        }
        TransferProgress {
            ui: ui.clone(),
            what: what.to_string(),
            step: Mutex::new(step),
            shown: AtomicU64::new(0),
            total,
        }
    }

    fn text(&self, bytes: u64) -> String {
        match self.total {
            Some(t) => format!("{} of {}", mib(bytes), mib(t)),
            None => mib(bytes),
        }
    }

    /// The end: `outcome` after the byte count.
    pub fn finish(&self, bytes: u64, outcome: &str) {
        let line = format!("{} ({outcome})", self.text(bytes));
        match self.step.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(step) => step.done(&line),
            None => self.ui.info(&format!("{}: {line}", self.what)),
        }
    }

    pub fn fail(&self, why: &str) {
        if let Some(step) = self.step.lock().unwrap_or_else(|p| p.into_inner()).take() {
            step.fail(why);
        }
    }
}

impl Progress for TransferProgress {
    fn bytes(&self, so_far: u64) {
        let every = if self.ui.terminal() {
            BAR_EVERY
        } else {
            PLAIN_EVERY
        };
        let shown = self.shown.load(Ordering::Relaxed);
        if so_far < shown + every {
            return;
        }
        self.shown.store(so_far, Ordering::Relaxed);
        match &*self.step.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(step) => step.set_detail(&self.text(so_far)),
            None => self
                .ui
                .info(&format!("{}: {}", self.what, self.text(so_far))),
        }
    }
}

impl Drop for TransferProgress {
    fn drop(&mut self) {
        self.fail("stopped here (the error follows)");
    }
}

/// `12.3 MiB`.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}
