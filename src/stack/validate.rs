//! Apply the allowlists in `rules` to a parsed [`Stack`], field by field,
//! and the rules that tie fields together.

use std::collections::HashSet;

use super::model::{Stack, TailscaleAuth};
use super::rules::{self, Rejection, Verdict};

/// The first field that fails, as (field path, why). Fields are checked in
/// the order a stack file lists them, so the error points at the first
/// problem a reader meets.
pub fn check(stack: &Stack) -> Result<(), (String, Rejection)> {
    let at = |path: &str, verdict: Verdict| verdict.map_err(|r| (path.to_string(), r));
    let fail = |path: &str, message: &str, hint: &str| {
        Err((
            path.to_string(),
            Rejection {
                message: message.into(),
                hint: Some(hint.into()),
            },
        ))
    };

    at("name", rules::stack_name(&stack.name))?;

    let h = &stack.hetzner;
    at("hetzner.location", rules::location(&h.location))?;
    at("hetzner.server_type", rules::server_type(&h.server_type))?;
    at("hetzner.image", rules::image(&h.image))?;
    if !h.public_ipv4 && !h.public_ipv6 {
        return fail(
            "hetzner.public_ipv6",
            "public_ipv4 and public_ipv6 are both false: the server could not reach Tailscale, apt or npm",
            "keep at least one (IPv6-only is fine: public_ipv6: true); the firewall still allows no inbound traffic",
        );
    }

    let t = &stack.tailscale;
    at("tailscale.tailnet", rules::tailnet(&t.tailnet))?;
    at("tailscale.hostname", rules::hostname(&t.hostname))?;
    if let Some(v) = &t.version {
        at("tailscale.version", rules::exact_version(v, "1.90.8"))?;
    }
    // Tags are required (not only for oauth, whose keys must carry tags):
    // they are what the tailnet ACL grants access by.
    if t.tags.is_empty() {
        let hint = match t.auth {
            TailscaleAuth::Oauth => "auth: oauth mints keys that must carry tags the OAuth client owns, e.g. [tag:openclaw]",
            TailscaleAuth::AuthKey => "list at least one ACL tag, e.g. [tag:openclaw]",
        };
        return fail("tailscale.tags", "no tags", hint);
    }
    if t.tags.len() > rules::MAX_TAGS {
        return fail(
            "tailscale.tags",
            &format!("{} tags; at most {}", t.tags.len(), rules::MAX_TAGS),
            "keep the tags your ACL needs",
        );
    }
    let mut seen = HashSet::new();
    for (i, tag) in t.tags.iter().enumerate() {
        let path = format!("tailscale.tags[{i}]");
        at(&path, rules::tag(tag))?;
        if !seen.insert(tag) {
            return fail(
                &path,
                &format!("`{tag}` is listed twice"),
                "remove the duplicate",
            );
        }
    }

    at(
        "openclaw.version",
        rules::package_version(&stack.openclaw.version),
    )?;
    at(
        "openclaw.version",
        rules::supported_openclaw(&stack.openclaw.version),
    )?;
    at("openclaw.port", rules::port(stack.openclaw.port))?;

    let n = &stack.node;
    at(
        "node.version",
        rules::exact_version(&n.version, super::model::DEFAULT_NODE_VERSION),
    )?;
    at(
        "node.nvm_version",
        rules::exact_version(&n.nvm_version, "0.40.3"),
    )?;
    at("node.nvm_sha256", rules::sha256_hex(&n.nvm_sha256))?;

    let host = &stack.host;
    at("host.admin_user", rules::user_name(&host.admin_user))?;
    at("host.service_user", rules::user_name(&host.service_user))?;
    if host.admin_user == host.service_user {
        return fail(
            "host.service_user",
            "service_user is the same as admin_user",
            "the gateway must run as its own unprivileged user, separate from the sudo login",
        );
    }
    keys(
        "host.authorized_keys",
        &host.authorized_keys,
        rules::ssh_ed25519_key,
    )?;
    at("host.reboot_time", rules::reboot_time(&host.reboot_time))?;

    let s = &stack.secrets;
    if let Some(file) = &s.file {
        match file.to_str() {
            Some(f) => at("secrets.file", rules::vault_file(f))?,
            None => {
                return fail(
                    "secrets.file",
                    "the path is not valid UTF-8",
                    "use a plain file name ending in .age",
                )
            }
        }
    }
    keys("secrets.recipients", &s.recipients, rules::recipient)?;
    for (key, age) in &stack.rotation {
        at(&format!("rotation.{key}"), rules::rotation_key(key))?;
        at(&format!("rotation.{key}"), rules::rotation_age(age))?;
    }
    if s.passphrase && !s.recipients.is_empty() {
        return fail(
            "secrets.passphrase",
            "passphrase: true cannot be combined with recipients",
            "a vault is encrypted either to recipients or to a passphrase: remove the recipients or set passphrase: false",
        );
    }
    Ok(())
}

/// A list of keys: each passes `rule`, none twice, at most MAX_KEYS.
fn keys(
    field: &str,
    list: &[String],
    rule: fn(&str) -> Verdict,
) -> Result<(), (String, Rejection)> {
    let fail = |path: String, message: String, hint: &str| {
        Err((
            path,
            Rejection {
                message,
                hint: Some(hint.into()),
            },
        ))
    };
    if list.len() > rules::MAX_KEYS {
        return fail(
            field.into(),
            format!("{} entries; at most {}", list.len(), rules::MAX_KEYS),
            "remove some",
        );
    }
    let mut seen = HashSet::new();
    for (i, item) in list.iter().enumerate() {
        let path = format!("{field}[{i}]");
        rule(item).map_err(|r| (path.clone(), r))?;
        if !seen.insert(item) {
            return fail(
                path,
                "this key is listed twice".into(),
                "remove the duplicate",
            );
        }
    }
    Ok(())
}
