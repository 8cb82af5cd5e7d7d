//! `clawprov rotate --due`: every credential past its maximum age that
//! clawprov can rotate by itself, in a safe order (the gateway token
//! first: it is the one people share; then the admin's SSH key; the
//! tailnet key last: its re-auth drops the SSH session the others ride
//! on), then the list of those that need the user, each with what to do.

use serde::Serialize;
use serde_json::json;

use super::{gateway_token, ssh_key, tailscale_key, Planned};
use crate::cli::{GlobalArgs, RotateKeyArgs};
use crate::commands::target::{Endpoint, Loaded};
use crate::error::Result;
use crate::rotation::ages::{ages, Age, By};
use crate::stack::TAILSCALE_NODE_KEY;
use crate::ui::{Report, Ui};

/// The order clawprov rotates in.
const ORDER: &[&str] = &["gateway_token", "ssh_private_key", TAILSCALE_NODE_KEY];

#[derive(Serialize)]
struct Due {
    stack: String,
    /// Rotated by this run, in order, each with its result.
    rotated: Vec<serde_json::Value>,
    /// Past their maximum age, for the user to replace.
    needs_you: Vec<Age>,
}

impl Report for Due {
    fn human(&self) -> String {
        let mut out = format!("stack {}: rotate --due\n", self.stack);
        if self.rotated.is_empty() {
            out.push_str("  nothing clawprov rotates itself is due\n");
        }
        for r in &self.rotated {
            out.push_str(&format!(
                "  rotated  {}\n",
                r["key"].as_str().unwrap_or_default()
            ));
        }
        for a in &self.needs_you {
            out.push_str(&format!(
                "  due      {} ({}): {}\n",
                a.key,
                a.summary(),
                a.how
            ));
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({"stack": self.stack, "rotated": self.rotated, "needs_you": self.needs_you})
    }
}

pub async fn run(
    args: &RotateKeyArgs,
    loaded: &mut Loaded,
    endpoint: &Endpoint,
    global: &GlobalArgs,
    ui: &Ui,
) -> Result<()> {
    let now = crate::secrets::record::now();
    let all = ages(&loaded.stack, &loaded.vault, now);
    let mine: Vec<&str> = ORDER
        .iter()
        .copied()
        .filter(|k| {
            all.iter()
                .any(|a| a.key == *k && a.due && a.by == By::Clawprov)
        })
        .collect();
    let needs_you: Vec<Age> = all
        .iter()
        .filter(|a| a.due && a.by == By::User)
        .cloned()
        .collect();
    if args.plan {
        let mut steps: Vec<String> = mine
            .iter()
            .map(|k| {
                let a = all.iter().find(|a| a.key == *k).expect("listed");
                format!("{}: {}", a.how.trim_matches('`'), a.summary())
            })
            .collect();
        for a in &needs_you {
            steps.push(format!("needs you, {}: {}", a.key, a.how));
        }
        if steps.is_empty() {
            steps.push("nothing is past its maximum age".into());
        }
        Planned {
            stack: loaded.stack.name.clone(),
            what: "rotate --due",
            steps,
        }
        .show(true, ui);
        return Ok(());
    }
    let mut rotated = vec![];
    for key in mine {
        ui.info(&format!("{}: {key} is due", loaded.stack.name));
        let result = match key {
            "gateway_token" => gateway_token::run(args, loaded, endpoint, global, ui)
                .await?
                .map(|r| serde_json::to_value(r).unwrap_or_default()),
            "ssh_private_key" => ssh_key::run(args, loaded, endpoint, global, ui)
                .await?
                .map(|r| serde_json::to_value(r).unwrap_or_default()),
            _ => tailscale_key::run(args, loaded, endpoint, global, ui)
                .await?
                .map(|r| serde_json::to_value(r).unwrap_or_default()),
        };
        rotated.push(json!({"key": key, "result": result}));
    }
    for a in &needs_you {
        ui.warn(&format!(
            "{}: {} is past its maximum age ({}); {}",
            loaded.stack.name,
            a.key,
            a.summary(),
            a.how
        ));
    }
    ui.emit(&Due {
        stack: loaded.stack.name.clone(),
        rotated,
        needs_you,
    });
    Ok(())
}
