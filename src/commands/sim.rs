//! `clawprov sim serve`: run the embedded Hetzner Cloud API simulator (and
//! the Tailscale API simulator on the same port) until interrupted. Prints
//! where it listens first (the human lines, or one JSON object with `--json`)
//! so scripts and tests can read it.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::cli::{SimCommand, SimServeArgs};
use crate::error::{Error, Result};
use crate::sim::{self, Faults, RateLimit, SimConfig};
use crate::ui::{Report, Ui};

pub async fn run(cmd: SimCommand, ui: &Ui) -> Result<()> {
    match cmd {
        SimCommand::Serve(args) => serve(args, ui).await,
    }
}

/// Turns the flags into a checked [`SimConfig`].
pub fn config_from_args(args: &SimServeArgs) -> Result<SimConfig> {
    for (flag, p) in [
        ("--error-rate", args.error_rate),
        ("--drop-rate", args.drop_rate),
        ("--create-timeout-rate", args.create_timeout_rate),
        ("--action-error-rate", args.action_error_rate),
    ] {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::bad_input(format!(
                "{flag} must be between 0 and 1, got {p}"
            )));
        }
    }
    if args.rate_limit == 0 || !(args.rate_refill >= 0.0 && args.rate_refill.is_finite()) {
        return Err(Error::bad_input(
            "--rate-limit must be at least 1 and --rate-refill a non-negative number",
        ));
    }
    let defaults = SimConfig::default();
    Ok(SimConfig {
        tokens: if args.tokens.is_empty() {
            defaults.tokens
        } else {
            args.tokens.clone()
        },
        readonly_tokens: args.readonly_tokens.clone(),
        other_project_tokens: args.other_project_tokens.clone(),
        action_duration: Duration::from_millis(args.action_ms),
        latency: Duration::from_millis(args.latency_ms),
        faults: Faults {
            error_rate: args.error_rate,
            drop_rate: args.drop_rate,
            create_timeout_after_success: args.create_timeout_rate,
            action_error_rate: args.action_error_rate,
        },
        rate_limit: RateLimit {
            capacity: args.rate_limit,
            refill_per_second: args.rate_refill,
        },
        seed: args.seed,
        clock: defaults.clock,
        tailscale: defaults.tailscale,
    })
}

struct Listening {
    endpoint: String,
    /// Only the built-in token is shown; tokens the user passed are theirs.
    default_token: Option<&'static str>,
    /// The Tailscale API on the same server.
    tailscale_endpoint: String,
    tailnet: String,
    /// The simulated OAuth client (`tailscale_oauth_client_id` and
    /// `tailscale_oauth_client_secret` in a vault).
    oauth_client: Option<(String, String)>,
}

impl Report for Listening {
    fn human(&self) -> String {
        let mut s = format!(
            "Hetzner Cloud API simulator listening on {}\n",
            self.endpoint
        );
        s.push_str(&format!("  export HCLOUD_ENDPOINT={}\n", self.endpoint));
        if let Some(t) = self.default_token {
            s.push_str(&format!("  export HCLOUD_TOKEN={t}\n"));
        }
        s.push_str(&format!(
            "Tailscale API simulator listening on {} (tailnet {})\n",
            self.tailscale_endpoint, self.tailnet
        ));
        if let Some((id, secret)) = &self.oauth_client {
            s.push_str(&format!("  OAuth client id:     {id}\n"));
            s.push_str(&format!("  OAuth client secret: {secret}\n"));
        }
        s.push_str("Press Ctrl-C to stop.");
        s
    }

    fn json(&self) -> serde_json::Value {
        let (client_id, client_secret) = match &self.oauth_client {
            Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
            None => (None, None),
        };
        serde_json::json!({
            "endpoint": self.endpoint,
            "token": self.default_token,
            "tailscale": {
                "endpoint": self.tailscale_endpoint,
                "tailnet": self.tailnet,
                "oauth_client_id": client_id,
                "oauth_client_secret": client_secret,
            },
        })
    }
}

async fn serve(args: SimServeArgs, ui: &Ui) -> Result<()> {
    let config = config_from_args(&args)?;
    let default_token = args.tokens.is_empty().then_some(sim::DEFAULT_TOKEN);
    let tailnet = config.tailscale.tailnet.clone();
    let oauth_client = config
        .tailscale
        .oauth_clients
        .first()
        .map(|c| (c.id.clone(), c.secret.clone()));
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = sim::serve(config, addr)
        .await
        .map_err(|e| Error::failed(format!("cannot listen on {addr}: {e}")))?;
    ui.emit(&Listening {
        endpoint: server.endpoint(),
        default_token,
        tailscale_endpoint: server.tailscale_endpoint(),
        tailnet,
        oauth_client,
    });
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.wait() => {}
    }
    Ok(())
}
