//! A project around a [`HostFixture`]: the Hetzner simulator taking the
//! vault's token, the fixture's stack as a stack file with its vault sealed
//! to a fresh identity, and `clawprov up` run as a user runs it, with the
//! host phase aimed at the fixture's sshd.

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clawprov::secrets::{self, identity, Lock, Recipient};
use clawprov::sim::{self, SimConfig};

use super::HostFixture;

/// The fixture's stack as a stack file (the fixture parses the same fields).
pub fn stack_file(fx: &HostFixture) -> String {
    let s = &fx.stack;
    format!(
        "name: {}\nhetzner:\n  backups: true\ntailscale:\n  tailnet: {}\n  hostname: {}\n\
         openclaw:\n  port: {}\nhost:\n  admin_user: {}\n  service_user: {}\n",
        s.name,
        s.tailscale.tailnet,
        s.tailscale.hostname,
        s.openclaw.port,
        s.host.admin_user,
        s.host.service_user
    )
}

pub fn run_up(
    fx: &HostFixture,
    home: &Path,
    endpoint: &str,
    stack: &Path,
) -> (i32, String, String) {
    let out = crate::support::clawprov(home)
        .current_dir(home)
        .arg("-s")
        .arg(stack)
        .args(["--json", "--hcloud-endpoint", endpoint, "up", "--yes"])
        // nodejs.org and GitHub are out of reach here; preflight.rs tests
        // the preflight against stand-ins and the real npm registry.
        .arg("--offline")
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "20", "--host-timeout", "30"])
        // verify's host checks read UFW, iptables, logind and cloud-init,
        // which this fixture shims: real_boot.rs runs them on a real guest.
        .args(["--verify", "api"])
        .output()
        .expect("clawprov up runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A project around the fixture: the Hetzner simulator taking the vault's
/// token, and the stack file with its vault sealed to a fresh identity.
pub struct Project {
    pub sim: sim::SimServer,
    pub home: tempfile::TempDir,
    pub stacks: PathBuf,
    pub stack: PathBuf,
    /// The age identity the vault is sealed to, and its recipient.
    pub identity: PathBuf,
    pub recipient: String,
}

pub async fn project(fx: &HostFixture) -> Project {
    let hcloud_token = fx.vault.get("hcloud_token").unwrap().expose().to_string();
    let sim = sim::serve(
        SimConfig {
            tokens: vec![hcloud_token],
            action_duration: Duration::from_millis(200),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let home = tempfile::tempdir().unwrap();
    let stacks = home.path().join("stacks");
    fs::create_dir_all(&stacks).unwrap();
    let stack = stacks.join(format!("{}.yaml", fx.stack.name));
    fs::write(&stack, stack_file(fx)).unwrap();
    let identity = home.path().join(".config/clawprov/identity.txt");
    let own = identity::create(&identity).unwrap();
    let recipients = [Recipient::parse(&own).unwrap()];
    secrets::write(
        &stacks.join(format!("{}.secrets.age", fx.stack.name)),
        &fx.vault,
        &Lock::Recipients(&recipients),
    )
    .unwrap();
    Project {
        sim,
        home,
        stacks,
        stack,
        identity,
        recipient: own,
    }
}
