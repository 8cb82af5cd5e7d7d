//! Rendering cloud-init user-data from minijinja templates.
//!
//! One `#cloud-config` document per stack: users, SSH hardening, UFW, the
//! metadata-endpoint block, and a bootstrap script (run from `runcmd`) that
//! installs Tailscale, nvm, Node and OpenClaw and prepares the gateway's
//! systemd user unit. The only secret in it is the Tailscale auth key
//! (invariant 3); everything else arrives later over SSH.
//!
//! The templates live in `templates/`, are embedded in the binary and can be
//! overridden with `--templates DIR` (see [`Templates`]). Every value reaches
//! the output through a quoting filter made for its context ([`quote`]); the
//! environment refuses any other interpolation.

mod environment;
mod error;
pub mod quote;
mod templates;
mod user_data;

use serde::Serialize;

use crate::secrets::Secret;
use crate::stack::Stack;

pub use error::RenderError;
pub use templates::{Templates, CLOUD_CONFIG, EMBEDDED};
pub use user_data::{UserData, FINGERPRINT_HEX_LEN, MAX_USER_DATA, REDACTED};

/// Everything a rendering depends on.
pub struct RenderInputs<'a> {
    pub stack: &'a Stack,
    /// ssh-ed25519 public keys for the admin user (the vault key's public
    /// half and `stack.host.authorized_keys`).
    pub operator_keys: &'a [String],
    /// The one secret allowed in user-data.
    pub tailscale_auth_key: &'a Secret,
}

/// Paths on the server that depend on the stack, computed once here so the
/// templates do not build paths from pieces (the host phase uses the same
/// [`crate::host::Release`] to install and switch releases).
#[derive(Serialize)]
struct ServicePaths {
    home: String,
    nvm_dir: String,
    node_bin_dir: String,
    node_bin: String,
    /// The npm prefix OpenClaw is installed into.
    openclaw_dir: String,
    openclaw_bin: String,
    /// The gateway's `PATH`: the release's Node, then its OpenClaw.
    path: String,
}

impl ServicePaths {
    fn new(stack: &Stack) -> Self {
        let home = format!("/home/{}", stack.host.service_user);
        let release = crate::host::Release::of(stack);
        ServicePaths {
            nvm_dir: format!("{home}/.nvm"),
            node_bin_dir: release.node_bin_dir(&home),
            node_bin: release.node_bin(&home),
            openclaw_dir: release.dir(&home),
            openclaw_bin: release.openclaw_bin(&home),
            path: release.path_env(&home),
            home,
        }
    }
}

/// What the file templates see. The auth key is not in it: only the
/// cloud-config template gets the key, so no script can print it.
#[derive(Serialize)]
struct FileContext<'a> {
    stack: &'a Stack,
    operator_keys: &'a [String],
    service: ServicePaths,
}

/// What the cloud-config template sees: the above, the rendered files, and
/// the auth key (or [`REDACTED`]).
#[derive(Serialize)]
struct CloudConfigContext<'a> {
    #[serde(flatten)]
    base: &'a FileContext<'a>,
    files: &'a std::collections::BTreeMap<&'static str, String>,
    tailscale_auth_key: &'a str,
}

/// What the host phase owns once the server runs, held fixed in the
/// rendering the fingerprint is taken over: the Node and OpenClaw versions
/// (and so every path and unit line derived from them). The bootstrap
/// installs the pinned release at first boot; after that an upgrade is the
/// host phase's, in place, so it must not make `plan` replace the server.
pub const HOST_OWNED: &str = "host-owned";

/// Which of clawprov's first-boot scripts a server was set up with (label
/// `clawprov/bootstrap`; servers without it were set up by generation 1).
/// A change to clawprov's own templates bumps it. Generation 2: OpenClaw's
/// tree is no longer installed at first boot but by the host phase, from
/// the release's lock (src/lock), which does not fit in user-data.
///
/// Which template changes need a new server: a first-boot step that only
/// a new server can apply (the firewall, SSH, the service user, joining
/// the tailnet) does, and then servers of earlier generations are
/// replaced. A step the host phase brings into line on a running server
/// (the release, the unit, the gateway's files, Serve) does not: a server
/// of [`PREVIOUS_GENERATION`] whose user-data matches what that
/// generation would have rendered for the stack is kept, and the host
/// phase brings it into line (README, "Servers made by an earlier
/// clawprov").
pub const BOOTSTRAP_GENERATION: u32 = 2;
/// The generation kept in place (its bootstrap is kept beside, to
/// recognise its user-data: `templates/previous/`).
pub const PREVIOUS_GENERATION: u32 = 1;
const PREVIOUS_BOOTSTRAP: &str = include_str!("../../templates/previous/bootstrap.sh.j2");
const BOOTSTRAP: &str = "bootstrap.sh.j2";

/// Render the user-data for `inputs` with `templates`.
pub fn render(templates: &Templates, inputs: &RenderInputs) -> Result<UserData, RenderError> {
    if inputs.operator_keys.is_empty() {
        return Err(RenderError::NoOperatorKey);
    }
    let sources = templates.sources()?;
    let from_override = sources.iter().any(|s| s.path.is_some());
    let env = environment::environment(&sources)?;
    let key = inputs.tailscale_auth_key.expose();
    let text = render_text(&env, &sources, inputs.stack, inputs, key)?;
    let redacted = render_text(&env, &sources, inputs.stack, inputs, REDACTED)?;
    // What the host phase owns, held fixed: the versions and the lock (so
    // the release's paths are those of a release with no lock, as they
    // were before locks: the basis of generation 1 is unchanged).
    let mut boot_only = inputs.stack.clone();
    boot_only.node.version = HOST_OWNED.into();
    boot_only.openclaw.version = HOST_OWNED.into();
    boot_only.openclaw.locked = None;
    // The operator keys too: the host phase keeps the admin's
    // authorized_keys (src/host/authorized_keys.rs), so a rotated or added
    // key is not a new server.
    let fixed_keys = [HOST_OWNED.to_string()];
    let keys_fixed = RenderInputs {
        operator_keys: &fixed_keys,
        ..*inputs
    };
    let basis = render_text(&env, &sources, &boot_only, &keys_fixed, REDACTED)?;
    // What this generation's fingerprint was before the keys were held
    // fixed: how servers labelled then are recognised (and relabelled).
    let keyed_basis = render_text(&env, &sources, &boot_only, inputs, REDACTED)?;
    // The same, with the previous generation's bootstrap (unless the
    // bootstrap is the user's own, the same in both).
    let previous_basis = match sources
        .iter()
        .position(|s| s.name == BOOTSTRAP && s.path.is_none())
    {
        Some(i) => {
            let mut previous = sources.clone();
            previous[i].text = PREVIOUS_BOOTSTRAP.to_string();
            let env = environment::environment(&previous)?;
            render_text(&env, &previous, &boot_only, inputs, REDACTED)?
        }
        None => basis.clone(),
    };

    check_cloud_config(&text, from_override)?;
    if text.len() > MAX_USER_DATA {
        return Err(RenderError::TooLarge {
            size: text.len(),
            limit: MAX_USER_DATA,
        });
    }
    Ok(UserData::new(
        text,
        redacted,
        &basis,
        &keyed_basis,
        &previous_basis,
    ))
}

/// The cloud-config text for `stack` with `auth_key` in it.
fn render_text(
    env: &minijinja::Environment<'static>,
    sources: &[templates::Source],
    stack: &Stack,
    inputs: &RenderInputs,
    auth_key: &str,
) -> Result<String, RenderError> {
    let fail = |e: minijinja::Error| environment::template_error(&e, sources);
    let base = FileContext {
        stack,
        operator_keys: inputs.operator_keys,
        service: ServicePaths::new(stack),
    };
    let mut files = std::collections::BTreeMap::new();
    for (name, _) in EMBEDDED.iter().filter(|(n, _)| *n != CLOUD_CONFIG) {
        let text = env
            .get_template(name)
            .and_then(|t| t.render(&base))
            .map_err(fail)?;
        files.insert(file_key(name), text);
    }
    env.get_template(CLOUD_CONFIG)
        .and_then(|t| {
            t.render(CloudConfigContext {
                base: &base,
                files: &files,
                tailscale_auth_key: auth_key,
            })
        })
        .map_err(fail)
}

/// The gateway's systemd user unit for `stack`, byte for byte what the
/// bootstrap installs from the user-data: the host phase delivers it too,
/// so that changing the release is an in-place switch of this file.
pub fn gateway_unit(templates: &Templates, stack: &Stack) -> Result<String, RenderError> {
    let sources = templates.sources()?;
    let env = environment::environment(&sources)?;
    let base = FileContext {
        stack,
        operator_keys: &[],
        service: ServicePaths::new(stack),
    };
    env.get_template(GATEWAY_UNIT_TEMPLATE)
        .and_then(|t| t.render(&base))
        .map_err(|e| environment::template_error(&e, &sources))
}

/// The template of the gateway's unit.
const GATEWAY_UNIT_TEMPLATE: &str = "clawprov-gateway.service.j2";

/// `bootstrap.sh.j2` -> `bootstrap_sh`: how the cloud-config template
/// refers to a rendered file (`files.bootstrap_sh`).
fn file_key(name: &'static str) -> &'static str {
    match name {
        "bootstrap.sh.j2" => "bootstrap_sh",
        "clawprov-gateway.service.j2" => "gateway_unit",
        "sshd-hardening.conf.j2" => "sshd_conf",
        "metadata-block.sh.j2" => "metadata_block_sh",
        "metadata-block.service.j2" => "metadata_block_unit",
        "auto-upgrades.conf.j2" => "auto_upgrades_conf",
        "sysctl-hardening.conf.j2" => "sysctl_conf",
        "journald.conf.j2" => "journald_conf",
        "unattended-upgrades.conf.j2" => "unattended_upgrades_conf",
        "userdata-shred.sh.j2" => "userdata_shred_sh",
        "userdata-shred.service.j2" => "userdata_shred_unit",
        other => other,
    }
}

/// The output must be what cloud-init will take as cloud-config: the
/// `#cloud-config` header and one YAML mapping. Errors never quote the text
/// (it holds the auth key), only the parser's position.
fn check_cloud_config(text: &str, from_override: bool) -> Result<(), RenderError> {
    let not = |detail: String| RenderError::NotCloudConfig {
        detail,
        from_override,
    };
    if text.lines().next() != Some("#cloud-config") {
        return Err(not("the first line must be exactly `#cloud-config`".into()));
    }
    match serde_yaml::from_str::<serde_yaml::Value>(text) {
        Ok(serde_yaml::Value::Mapping(_)) => Ok(()),
        Ok(_) => Err(not("the top level is not a mapping".into())),
        Err(e) => Err(not(match e.location() {
            Some(loc) => format!("YAML error at line {}, column {}", loc.line(), loc.column()),
            None => "YAML error".into(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Filters that make a value safe for the place it lands.
    const QUOTING_FILTERS: &[&str] = &["yaml_str", "yaml_block", "sh_quote", "word"];

    /// Every `{{ ... }}` in the embedded templates (outside `{# #}`
    /// comments) ends in a quoting filter. The environment enforces this at
    /// render time too; this catches it before a template is ever rendered.
    #[test]
    fn every_interpolation_in_the_templates_ends_in_a_quoting_filter() {
        let mut seen = 0;
        for (name, text) in EMBEDDED {
            let mut rest = strip_comments(text);
            while let Some(start) = rest.find("{{") {
                let after = &rest[start + 2..];
                let end = after
                    .find("}}")
                    .unwrap_or_else(|| panic!("{name}: unclosed {{{{"));
                let expr = after[..end].trim();
                let last = expr.rsplit('|').next().unwrap_or("").trim();
                let filter = last.split('(').next().unwrap_or("").trim();
                assert!(
                    expr.contains('|') && QUOTING_FILTERS.contains(&filter),
                    "{name}: `{{{{ {expr} }}}}` does not end in one of {QUOTING_FILTERS:?}"
                );
                seen += 1;
                rest = after[end + 2..].to_string();
            }
        }
        assert!(
            seen > 20,
            "only {seen} interpolations found: the scan is broken"
        );
    }

    fn strip_comments(text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{#") {
            out.push_str(&rest[..start]);
            match rest[start..].find("#}") {
                Some(end) => rest = &rest[start + end + 2..],
                None => return out,
            }
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn the_environment_refuses_unfiltered_output_and_undefined_names() {
        let env = environment::environment(&[]).expect("environment");
        let ok = env.render_str(
            "{{ x | sh_quote }} {{ x | yaml_str }}",
            minijinja::context! { x => "a'b" },
        );
        assert_eq!(ok.expect("filtered"), r#"'a'\''b' "a'b""#);
        assert!(env
            .render_str("{{ x }}", minijinja::context! { x => "a" })
            .is_err());
        assert!(env
            .render_str("{{ x ~ 'y' }}", minijinja::context! { x => "a" })
            .is_err());
        assert!(env
            .render_str("{{ y | sh_quote }}", minijinja::context! { x => "a" })
            .is_err());
        assert!(env
            .render_str("{{ x | sh_quote }}", minijinja::context! { x => vec!["a"] })
            .is_err());
        // Literal text is not an interpolation and passes untouched.
        assert_eq!(env.render_str("$HOME %h", ()).expect("literal"), "$HOME %h");
    }
}
