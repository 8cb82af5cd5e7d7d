//! Which vault keys a stack needs before `up` can run. `validate` and `up`
//! report what is missing instead of failing half-way through a deploy.

use super::Vault;
use crate::stack::{Stack, TailscaleAuth};

/// A requirement: any one of `keys` satisfies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub keys: Vec<String>,
    pub why: String,
}

impl Requirement {
    fn new(keys: &[&str], why: &str) -> Requirement {
        Requirement {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            why: why.to_string(),
        }
    }

    /// `a` or `a | b`, as shown to the user.
    pub fn label(&self) -> String {
        self.keys.join(" | ")
    }
}

/// Every requirement of `stack`: clawprov's own keys, then what the
/// gateway's configuration names (the model's credential, each declared
/// channel's tokens, every `{secret: KEY}`).
pub fn requirements(stack: &Stack) -> Vec<Requirement> {
    let mut all = vec![
        Requirement::new(&["hcloud_token"], "creates the server"),
        Requirement::new(&["ssh_private_key"], "clawprov's login to the server"),
    ];
    match stack.tailscale.auth {
        TailscaleAuth::AuthKey => all.push(Requirement::new(
            &["tailscale_auth_key"],
            "joins the node to the tailnet",
        )),
        TailscaleAuth::Oauth => {
            all.push(Requirement::new(
                &["tailscale_oauth_client_id"],
                "mints the node's auth key",
            ));
            all.push(Requirement::new(
                &["tailscale_oauth_client_secret"],
                "mints the node's auth key",
            ));
        }
    }
    if let Ok(gateway) = crate::gateway::build(stack, &crate::gateway::home_of(stack)) {
        for need in gateway.env.needs() {
            all.push(Requirement {
                keys: need.keys.clone(),
                why: need.why.clone(),
            });
        }
    }
    all
}

/// The requirements the vault does not meet yet.
pub fn missing(vault: &Vault, stack: &Stack) -> Vec<Requirement> {
    requirements(stack)
        .into_iter()
        .filter(|r| !r.keys.iter().any(|k| vault.get(k).is_some()))
        .collect()
}

/// Channel tokens in the vault that no declared channel uses (a token no
/// longer switches a channel on by itself).
pub fn unused_channel_tokens(vault: &Vault, stack: &Stack) -> Vec<&'static str> {
    let used = crate::host::gateway_secrets(stack);
    [
        "telegram_bot_token",
        "discord_bot_token",
        "slack_bot_token",
        "slack_app_token",
    ]
    .into_iter()
    .filter(|k| vault.get(k).is_some() && !used.iter().any(|u| u == k))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    fn stack(extra: &str) -> Stack {
        crate::stack::parse(
            format!("name: t\ntailscale: {{tailnet: a.ts.net, hostname: h{extra}}}\n").as_bytes(),
            std::path::Path::new("t.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn a_fresh_vault_misses_everything_but_what_init_generates() {
        let mut vault = Vault::new();
        vault
            .set("gateway_token", Secret::new("a".repeat(64)))
            .unwrap();
        let missing: Vec<String> = missing(&vault, &stack(""))
            .iter()
            .map(Requirement::label)
            .collect();
        assert_eq!(
            missing,
            [
                "hcloud_token",
                "ssh_private_key",
                "tailscale_auth_key",
                "anthropic_api_key | claude_setup_token",
            ]
        );
    }

    #[test]
    fn either_model_credential_satisfies_and_oauth_needs_both_halves() {
        let mut vault = Vault::new();
        for k in [
            "hcloud_token",
            "gateway_token",
            "ssh_private_key",
            "anthropic_api_key",
            "tailscale_oauth_client_id",
        ] {
            vault.set(k, Secret::new("v")).unwrap();
        }
        let missing: Vec<String> = missing(&vault, &stack(", auth: oauth"))
            .iter()
            .map(Requirement::label)
            .collect();
        assert_eq!(missing, ["tailscale_oauth_client_secret"]);
        assert_eq!(super::missing(&vault, &stack("")).len(), 1);
    }

    #[test]
    fn a_declared_channel_needs_its_token_and_an_undeclared_token_is_named() {
        let mut vault = Vault::new();
        vault.set("discord_bot_token", Secret::new("v")).unwrap();
        let s = crate::stack::parse(
            b"name: t\ntailscale: {tailnet: a.ts.net, hostname: h}\nopenclaw:\n  model: {primary: openai/gpt-5.2}\n  channels: {slack: {}}\n",
            std::path::Path::new("t.yaml"),
        )
        .unwrap();
        let labels: Vec<String> = missing(&vault, &s).iter().map(Requirement::label).collect();
        assert!(labels.contains(&"openai_api_key".to_string()), "{labels:?}");
        assert!(
            labels.contains(&"slack_bot_token".to_string()),
            "{labels:?}"
        );
        assert!(
            labels.contains(&"slack_app_token".to_string()),
            "{labels:?}"
        );
        assert_eq!(unused_channel_tokens(&vault, &s), ["discord_bot_token"]);
    }
}
