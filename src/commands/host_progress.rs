//! The host phase's progress, shown through [`Ui`]: one spinner (or plain
//! line) per step, prefixed with the stack's name.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::host::{HostStep, Progress};
use crate::ui::{Step, Ui};

pub struct UiProgress {
    ui: Ui,
    stack: String,
    steps: Mutex<HashMap<HostStep, Step>>,
}

impl UiProgress {
    pub fn new(ui: &Ui, stack: &str) -> Self {
        UiProgress {
            ui: ui.clone(),
            stack: stack.to_string(),
            steps: Mutex::new(HashMap::new()),
        }
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, HashMap<HostStep, Step>> {
        self.steps
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Progress for UiProgress {
    fn started(&self, step: HostStep) {
        let shown = self.ui.step(&format!("{}: {step}", self.stack));
        self.steps().insert(step, shown);
    }

    fn detail(&self, step: HostStep, detail: &str) {
        if let Some(shown) = self.steps().get(&step) {
            shown.set_detail(detail);
        }
    }

    fn finished(&self, step: HostStep, outcome: &str) {
        if let Some(shown) = self.steps().remove(&step) {
            shown.done(outcome);
        }
    }
}

impl Drop for UiProgress {
    /// A step still open when the phase ended is where it stopped: say so
    /// (the error itself follows; "did not finish" read like a timeout).
    fn drop(&mut self) {
        for (_, shown) in self.steps().drain() {
            shown.fail("stopped here (the error follows)");
        }
    }
}
