//! The stack file `clawprov init` writes: every field present (or shown
//! commented out) with a comment saying what it does, so the file is its own
//! reference. Defaults come from `model.rs`.

use super::model::{Hetzner, Host, Node, OpenClaw};
use super::scalar::yaml_scalar;

/// The commented stack document for a new stack.
///
/// The caller should still run [`super::parse`] on the result before writing
/// it: values that fail the allowlists are quoted here (they cannot change the
/// document's structure) but make the document invalid.
pub fn init_document(
    name: &str,
    tailnet: &str,
    hostname: &str,
    recipients: &[String],
    passphrase: bool,
) -> String {
    let h = Hetzner::default();
    let o = OpenClaw::default();
    let n = Node::default();
    let u = Host::default();
    let name_q = yaml_scalar(name);
    let recipients_block = if recipients.is_empty() {
        "  recipients: []            # empty: your own age identity (or the passphrase)\n"
            .to_string()
    } else {
        let mut b = "  recipients:                # who can decrypt the vault (age1... or ssh-ed25519 keys)\n".to_string();
        for r in recipients {
            b.push_str(&format!("    - {}\n", yaml_scalar(r)));
        }
        b
    };
    format!(
        r#"# clawprov stack: one private OpenClaw gateway on Hetzner Cloud, reachable only
# over Tailscale. Secrets are NOT in this file: they live in the age vault beside
# it ({vault}), managed with `clawprov secrets ...`.
# Check this file with `clawprov validate`. Every value is checked against a
# narrow allowlist; unknown keys are errors.

# Names every resource (Hetzner labels clawprov/stack=NAME).
# 1-63 lowercase letters, digits and '-'.
name: {name_q}

hetzner:
  location: {location}            # fsn1, nbg1, hel1 (EU); ash, hil (US); sin
  server_type: {server_type}         # ARM cax11..cax41; x86 cpx11..cpx51, cx22..cx52, ccx13..ccx63
  image: {image}       # the image clawprov is tested with
  backups: {backups}             # Hetzner daily backups (+20% of the server price)
  protection:
    delete: {delete}            # true: Hetzner refuses to delete the server
    rebuild: {rebuild}           # true: Hetzner refuses to rebuild the server
  # Outbound only: the cloud firewall has no inbound rule whatever you set here.
  # At least one must be true (the server needs to reach Tailscale, apt, npm).
  public_ipv4: {ipv4}         # Hetzner charges for IPv4; IPv6-only works too
  public_ipv6: {ipv6}

tailscale:
  tailnet: {tailnet_q}   # your tailnet's MagicDNS suffix (admin console: DNS)
  hostname: {hostname_q}   # the node's name on the tailnet (one DNS label)
  tags: [tag:openclaw]      # ACL tags the node advertises (`tag:` + lowercase name)
  auth: oauth               # oauth: the vault's OAuth client (scopes auth_keys,
                            # devices:core; owning these tags) mints a single-use
                            # key per deploy and manages the node's device
                            # auth_key: a key you made, vault key tailscale_auth_key
  # version: 1.90.8         # pin the Tailscale package the first boot installs
                            # (default: pkgs.tailscale.com's current stable);
                            # unattended-upgrades keeps it patched either way

openclaw:
  version: {oc_version}        # exact npm version of openclaw, never "latest"
  port: {port}               # loopback only; Tailscale Serve proxies HTTPS to it
  model:
    primary: {model}   # provider/model; its key from the vault
                                           # (anthropic_api_key or claude_setup_token)
  # channels:                 # none declared: no chat channel (README "Configuring the gateway")
  #   telegram:               # vault key telegram_bot_token
  #     dm: pairing           # pairing | allowlist (with allow_from) | open | disabled
  #     groups:               # group chats the bot answers in, when @mentioned
  #       "-1001234567890": {{}}
  # tools:
  #   baseline: hardened      # OpenClaw's hardened baseline (default) | standard
  # settings: {{}}              # any other openclaw.json keys, checked against the release's schema

node:
  version: {node_version}           # exact Node.js version, installed with nvm
  nvm_version: {nvm_version}         # exact nvm release
  # sha256 of https://raw.githubusercontent.com/nvm-sh/nvm/v{nvm_version}/install.sh
  # (checked before it runs)
  nvm_sha256: {nvm_sha256}

host:
  admin_user: {admin}     # sudo, logs in with the SSH key from the vault, no password
  service_user: {service}    # runs the gateway; no sudo, no login
  authorized_keys: []       # extra operator keys for admin_user ("ssh-ed25519 AAAA... you@host")
  reboot_time: "{reboot_time}"      # unattended-upgrades reboots for a kernel update at HH:MM UTC, or "off"

secrets:
  # file: {vault}   (default: NAME.secrets.age beside this file)
{recipients_block}  passphrase: {passphrase}         # true: encrypt the vault to a passphrase instead
"#,
        vault = format!("{name}.secrets.age")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
            .collect::<String>(),
        reboot_time = u.reboot_time,
        location = h.location,
        server_type = h.server_type,
        image = h.image,
        backups = h.backups,
        delete = h.protection.delete,
        rebuild = h.protection.rebuild,
        ipv4 = h.public_ipv4,
        ipv6 = h.public_ipv6,
        tailnet_q = yaml_scalar(tailnet),
        hostname_q = yaml_scalar(hostname),
        oc_version = o.version,
        port = o.port,
        model = o.model.primary,
        node_version = n.version,
        nvm_version = n.nvm_version,
        nvm_sha256 = n.nvm_sha256,
        admin = u.admin_user,
        service = u.service_user,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn init_documents_validate_and_carry_the_inputs() {
        let age = "age1h07kvhgy6uc29vwgfdsnu0tj3ymgq8hspln7sgfyx80rzjsjtaksy2ehw5".to_string();
        let ssh = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbAq2p5L4g5907fL9lRcd2FvZF44gmr2yPxD4+EGQzu alice@laptop".to_string();
        let cases: Vec<(&str, &str, &str, Vec<String>, bool)> = vec![
            (
                "example",
                "tail1234.ts.net",
                "openclaw-example",
                vec![],
                false,
            ),
            (
                "a",
                "example.com",
                "a",
                vec![age.clone(), ssh.clone()],
                false,
            ),
            ("team-x", "tail5678.ts.net", "team-x", vec![], true),
        ];
        for (name, tailnet, hostname, recipients, passphrase) in cases {
            let doc = init_document(name, tailnet, hostname, &recipients, passphrase);
            let stack = crate::stack::parse(doc.as_bytes(), Path::new("init.yaml"))
                .unwrap_or_else(|e| panic!("{e}\n{doc}"));
            assert_eq!(stack.name, name);
            assert_eq!(stack.tailscale.tailnet, tailnet);
            assert_eq!(stack.tailscale.hostname, hostname);
            assert_eq!(stack.secrets.recipients, recipients);
            assert_eq!(stack.secrets.passphrase, passphrase);
            assert_eq!(stack.hetzner, Hetzner::default());
            assert_eq!(stack.node, Node::default());
        }
    }

    #[test]
    fn hostile_inputs_cannot_add_structure() {
        let doc = init_document("x\npassphrase: true", "a.b\n#", "h", &[], false);
        let err =
            crate::stack::parse(doc.as_bytes(), Path::new("init.yaml")).expect_err("invalid name");
        assert_eq!(err.field, "name");
    }
}
