//! Where things are on the server: the real paths by default, another root
//! for tests (which cannot write the CI machine's /var/lib/cloud).

use serde::Serialize;

/// Server paths the host phase reads, checks or shreds. The defaults are
/// the ones the rendered bootstrap (templates/bootstrap.sh.j2) and
/// cloud-init use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostPaths {
    /// The bootstrap's root-only log.
    pub bootstrap_log: String,
    /// Written by the bootstrap as its very last step.
    pub bootstrap_marker: String,
    /// cloud-init's current instance directory (a symlink to instances/<id>).
    pub cloud_instance_dir: String,
    /// cloud-init's output log; shredded only if it holds bootstrap output.
    pub cloud_init_output_log: String,
    /// cloud-init's merged cloud-config of this boot (on tmpfs).
    pub combined_cloud_config: String,
    /// Where `rotate tailscale-key` puts the new key for `tailscale up`
    /// (root-only, on tmpfs, removed right after).
    pub rotate_key: String,
    /// The detached re-auth's output (root-only, on tmpfs), read back and
    /// removed by the caller.
    pub rotate_log: String,
}

impl Default for HostPaths {
    fn default() -> Self {
        HostPaths::under("")
    }
}

impl HostPaths {
    /// The same layout under `root` (`""` for the real one).
    pub fn under(root: &str) -> Self {
        let root = root.trim_end_matches('/');
        HostPaths {
            bootstrap_log: format!("{root}/var/log/clawprov-bootstrap.log"),
            bootstrap_marker: format!("{root}/var/lib/clawprov/bootstrap-complete"),
            cloud_instance_dir: format!("{root}/var/lib/cloud/instance"),
            cloud_init_output_log: format!("{root}/var/log/cloud-init-output.log"),
            combined_cloud_config: format!("{root}/run/cloud-init/combined-cloud-config.json"),
            rotate_key: format!("{root}/run/clawprov-rotate.key"),
            rotate_log: format!("{root}/run/clawprov-rotate.log"),
        }
    }
}

/// Where nvm puts the pinned Node's `bin/` under a user's home (the
/// bootstrap installs Node, npm and `openclaw` there; the unit runs them
/// from there): `HOME/.nvm/versions/node/vVERSION/bin`.
pub fn node_bin_dir(home: &str, node_version: &str) -> String {
    format!("{home}/.nvm/versions/node/v{node_version}/bin")
}

/// Where one OpenClaw release is installed under a user's home:
/// `HOME/.local/lib/clawprov/openclaw-W-node-V-lock-H`, an npm project
/// holding the release's lock (`package.json`, `package-lock.json`) and
/// the tree `npm ci` installed from it (`node_modules/`). One directory per
/// (OpenClaw, Node, lock), because an upgrade installs the new release
/// beside the running one and switches only when it is complete (and
/// OpenClaw's native modules are built for one Node ABI). Outside the state
/// directory (`~/.openclaw`): a backup never carries code.
///
/// `lock` none: the layout of servers set up by clawprov before releases
/// were locked, `openclaw-W-node-V`, an npm prefix (`npm install -g
/// --prefix`) with `bin/openclaw`; still recognised, never installed.
pub fn release_dir(
    home: &str,
    openclaw_version: &str,
    node_version: &str,
    lock: Option<&str>,
) -> String {
    let base =
        format!("{home}/.local/lib/clawprov/openclaw-{openclaw_version}-node-{node_version}");
    match lock {
        Some(hash) => format!("{base}-lock-{hash}"),
        None => base,
    }
}

/// The gateway's user unit, as the bootstrap installs it.
pub const GATEWAY_UNIT: &str = "clawprov-gateway.service";

/// Where the unit file is, relative to the service user's home.
pub const UNIT_FILE: &str = ".config/systemd/user/clawprov-gateway.service";
