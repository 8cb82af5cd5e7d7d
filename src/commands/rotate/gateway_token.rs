//! `clawprov rotate gateway-token`: the steps are in
//! [`crate::rotation::gateway_token`].

use super::{vault_file, Located, Planned};
use crate::cli::{GlobalArgs, RotateKeyArgs};
use crate::commands::host_progress::UiProgress;
use crate::commands::target::{Endpoint, Loaded};
use crate::error::Result;
use crate::rotation::gateway_token::{self, GatewayRotated};
use crate::secrets::PENDING_GATEWAY_TOKEN;
use crate::ui::{Report, Ui};

impl Report for GatewayRotated {
    fn human(&self) -> String {
        let mut out = format!("stack {}: gateway token rotated\n", self.stack);
        out.push_str(&format!(
            "  token    new since {}{}; the old one is gone from the vault and the gateway \
             refuses it\n",
            self.set,
            if self.resumed {
                " (made by an interrupted run, taken up)"
            } else {
                ""
            }
        ));
        out.push_str(&format!(
            "  gateway  {} with the new env file, {} probes passed\n",
            match self.service {
                crate::host::ServiceAction::AlreadyRunning => "already running",
                crate::host::ServiceAction::Started => "started",
                crate::host::ServiceAction::Restarted => "restarted",
            },
            self.probes
        ));
        out.push_str(
            "  open     sign in with the new token: `clawprov secrets get gateway_token` prints it \
             to this terminal only (paste it; never as an argument, so never in shell history)\n",
        );
        out.push_str(&format!("  devices  {}\n", self.paired_devices));
        out
    }
    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "rotated": self })
    }
}

pub async fn run(
    args: &RotateKeyArgs,
    loaded: &mut Loaded,
    endpoint: &Endpoint,
    global: &GlobalArgs,
    ui: &Ui,
) -> Result<Option<GatewayRotated>> {
    let found = Located::find(args, loaded, endpoint, "rotate the gateway token").await?;
    let stack = &loaded.stack;
    let resumed = loaded.vault.get(PENDING_GATEWAY_TOKEN).is_some();
    let plan = Planned {
        stack: stack.name.clone(),
        what: "rotate gateway-token",
        steps: vec![
            if resumed {
                "take up the pending token an interrupted run left in the vault".into()
            } else {
                "make a new token (256 random bits) and keep it in the vault beside the current one"
                    .into()
            },
            format!(
                "over SSH to {}: deliver the env file with the new token (0600, as {}), restart \
                 the gateway",
                found.target(loaded),
                stack.host.service_user
            ),
            "probe: the new token accepted (also through Serve's headers), no token, a wrong \
             one and the old one refused; put the old env file back if the gateway does not \
             come up"
                .into(),
            "make the new token the vault's gateway_token; the old one is gone".into(),
        ],
    };
    if plan.show(args.plan, ui) {
        return Ok(None);
    }
    let file = vault_file(loaded)?;
    let inputs = found.inputs(loaded, args, global);
    let progress = UiProgress::new(ui, &stack.name);
    let mut vault = loaded.vault.clone();
    let rotated = gateway_token::rotate(&inputs, &mut vault, file, &progress).await?;
    drop(inputs);
    loaded.vault = vault;
    Ok(Some(rotated))
}
