//! The `secrets` vantage: one check per credential, `secrets.age.<key>`,
//! failing past the maximum age the stack's `rotation:` gives it and
//! naming the command that fixes it. Reads the vault only.

use super::check::CheckResult;
use crate::rotation::ages::{ages, By};
use crate::secrets::Vault;
use crate::stack::Stack;

pub fn check(stack: &Stack, vault: &Vault, now: i64) -> Vec<CheckResult> {
    ages(stack, vault, now)
        .into_iter()
        .map(|a| {
            let id = format!("secrets.age.{}", a.key);
            match a.max_days {
                None => CheckResult::pass(
                    id,
                    format!(
                        "{}; no maximum age (`rotation: {{{}: 90d}}` in the stack sets one)",
                        a.summary(),
                        a.key
                    ),
                ),
                Some(_) if a.due => CheckResult::fail(
                    id,
                    format!(
                        "{}; {}{}",
                        a.summary(),
                        a.how,
                        if a.by == By::Clawprov {
                            " (or `clawprov rotate --due`)"
                        } else {
                            ""
                        }
                    ),
                ),
                Some(_) => CheckResult::pass(id, a.summary()),
            }
        })
        .collect()
}
