//! One plan step shown while it runs: a spinner (terminal) or timestamped
//! lines, with the action's progress as detail.

use std::future::Future;
use std::sync::Arc;

use crate::hetzner::{Hetzner, HetznerError};
use crate::ui::Ui;

/// Run `work` with a client that reports its action progress to a step
/// line labelled `label`, and finish the line with the outcome.
pub(crate) async fn shown<T, F, Fut>(
    h: &Hetzner,
    ui: &Ui,
    label: String,
    work: F,
) -> Result<T, HetznerError>
where
    F: FnOnce(Hetzner) -> Fut,
    Fut: Future<Output = Result<T, HetznerError>>,
{
    let step = Arc::new(ui.step(&label));
    let seen = step.clone();
    let client = h.with_progress(move |p| {
        seen.set_detail(&format!("{} {}%", p.command, p.progress));
    });
    let result = work(client).await;
    // The client (and its clone of the step) is gone once `work` finished.
    if let Ok(step) = Arc::try_unwrap(step) {
        match &result {
            Ok(_) => step.done("done"),
            Err(e) => step.fail(&e.to_string()),
        }
    }
    result
}
