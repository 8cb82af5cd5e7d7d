//! Which vault keys a stack needs before `up` can run. `validate` and `up`
//! report what is missing instead of failing half-way through a deploy.

use super::Vault;
use crate::stack::TailscaleAuth;

/// A requirement: any one of `keys` satisfies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub keys: &'static [&'static str],
    pub why: &'static str,
}

impl Requirement {
    /// `a` or `a | b`, as shown to the user.
    pub fn label(&self) -> String {
        self.keys.join(" | ")
    }
}

/// Every requirement for a stack with the given Tailscale auth mode.
pub fn requirements(auth: TailscaleAuth) -> Vec<Requirement> {
    let mut all = vec![
        Requirement {
            keys: &["hcloud_token"],
            why: "creates the server",
        },
        Requirement {
            keys: &["gateway_token"],
            why: "the gateway's shared token",
        },
        Requirement {
            keys: &["ssh_private_key"],
            why: "clawprov's login to the server",
        },
        Requirement {
            keys: &["claude_setup_token", "anthropic_api_key"],
            why: "the model credential",
        },
    ];
    match auth {
        TailscaleAuth::AuthKey => all.push(Requirement {
            keys: &["tailscale_auth_key"],
            why: "joins the node to the tailnet",
        }),
        TailscaleAuth::Oauth => {
            all.push(Requirement {
                keys: &["tailscale_oauth_client_id"],
                why: "mints the node's auth key",
            });
            all.push(Requirement {
                keys: &["tailscale_oauth_client_secret"],
                why: "mints the node's auth key",
            });
        }
    }
    all
}

/// The requirements the vault does not meet yet.
pub fn missing(vault: &Vault, auth: TailscaleAuth) -> Vec<Requirement> {
    requirements(auth)
        .into_iter()
        .filter(|r| !r.keys.iter().any(|k| vault.get(k).is_some()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secret;

    #[test]
    fn a_fresh_vault_misses_everything_but_what_init_generates() {
        let mut vault = Vault::new();
        vault
            .set("gateway_token", Secret::new("a".repeat(64)))
            .unwrap();
        let missing: Vec<String> = missing(&vault, TailscaleAuth::AuthKey)
            .iter()
            .map(Requirement::label)
            .collect();
        assert_eq!(
            missing,
            [
                "hcloud_token",
                "ssh_private_key",
                "claude_setup_token | anthropic_api_key",
                "tailscale_auth_key"
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
        let missing: Vec<String> = missing(&vault, TailscaleAuth::Oauth)
            .iter()
            .map(Requirement::label)
            .collect();
        assert_eq!(missing, ["tailscale_oauth_client_secret"]);
        assert_eq!(super::missing(&vault, TailscaleAuth::AuthKey).len(), 1);
    }
}
