//! The whole `clawprov up`, as a user runs it: the real binary against the
//! Hetzner simulator, then the host phase over SSH against a real OpenSSH
//! sshd on 127.0.0.1 standing in for the VPS (real users, sudo, files,
//! owners and shredding; shims only for tailscale, systemctl --user,
//! cloud-init and loginctl — tests/README.md).
//!
//! Canary: every secret is a unique marker. After a full `up`, the markers
//! appear nowhere but their 0600 files on the host: not in anything clawprov
//! printed, not in the simulator's stored user-data (except the Tailscale
//! key), not in any argv the host recorded, not in known_hosts or the stack.

mod host_fixture;
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use host_fixture::project::{project, run_up, Project};
use host_fixture::HostFixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_up_deploys_the_gateway_and_leaks_no_secret() {
    let fx = HostFixture::start();
    let ts_key = fx
        .vault
        .get("tailscale_auth_key")
        .expect("ts key")
        .expose()
        .to_string();
    let Project {
        sim,
        home,
        stacks,
        stack,
        ..
    } = project(&fx).await;

    let (code, stdout, stderr) = run_up(&fx, home.path(), &sim.endpoint(), &stack);
    assert_eq!(
        code,
        0,
        "up failed:\nstdout: {stdout}\nstderr: {stderr}\nsshd: {}",
        fx.read("sshd.log")
    );
    let result: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON value");
    let s = &result["stacks"][0];
    assert_eq!(s["ok"], true);
    assert_eq!(
        s["url"],
        format!("https://{}.tail1234.ts.net/", fx.stack.tailscale.hostname)
    );
    assert_eq!(s["host"]["ran"], true);
    assert_eq!(s["host"]["report"]["serve_configured"], true);
    // up ended with verify, from the API here.
    assert_eq!(s["verify"]["passed"], true, "{}", s["verify"]);
    let checks = s["verify"]["checks"].as_array().unwrap();
    // The Hetzner checks pass; the Tailscale API ones are skipped (this
    // vault has no API credentials; tailnet_e2e.rs runs them).
    assert_eq!(checks.len(), 10, "{checks:?}");
    assert!(checks.iter().all(|c| c["vantage"] == "api"
        && c["status"]
            == if c["id"].as_str().unwrap().starts_with("api.tailnet.") {
                "skip"
            } else {
                "pass"
            }));

    // The host really has the gateway's secrets, private to the service user.
    let env = fx.service_home().join(".config/openclaw/gateway.env");
    let mode = fs::metadata(&env).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let env_text = fs::read_to_string(&env).unwrap();
    assert!(env_text.contains(fx.vault.get("gateway_token").unwrap().expose()));
    // The bootstrap traces are gone.
    assert!(!fx.path("fs/var/log/clawprov-bootstrap.log").exists());
    assert!(!fx
        .path("fs/var/lib/cloud/instances/i-1/user-data.txt")
        .exists());

    // Canaries: user-data holds the Tailscale key and no other secret.
    let user_data: Vec<String> = sim.sim.with(|w| {
        w.servers
            .values()
            .filter_map(|s| s.user_data.clone())
            .collect()
    });
    assert_eq!(user_data.len(), 1);
    assert!(
        user_data[0].contains(&ts_key),
        "the auth key is in user-data"
    );
    let known_hosts = stacks.join(format!("{}.known_hosts", fx.stack.name));
    assert!(
        known_hosts.exists(),
        "the host key is pinned beside the stack"
    );
    let mut outside = vec![
        ("stdout", stdout.clone()),
        ("stderr", stderr.clone()),
        ("known_hosts", fs::read_to_string(&known_hosts).unwrap()),
        ("stack file", fs::read_to_string(&stack).unwrap()),
        ("sshd log", fx.read("sshd.log")),
        ("shim argv log", fx.read("shim.log")),
        ("remote command log", fx.read("commands.log")),
        ("sudo log", fx.read("sudo.log")),
        ("simulator request log", format!("{:?}", sim.request_log())),
    ];
    outside.push((
        "user-data minus the auth key",
        user_data[0].replace(&ts_key, ""),
    ));
    for canary in &fx.canaries {
        for (place, text) in &outside {
            assert!(
                !text.contains(canary.as_str()),
                "a secret leaked into the {place}"
            );
        }
    }

    // A second up changes nothing: no mutating request, nothing re-delivered.
    sim.sim.clear_request_log();
    let (code, stdout, stderr) = run_up(&fx, home.path(), &sim.endpoint(), &stack);
    assert_eq!(code, 0, "second up failed:\n{stdout}\n{stderr}");
    let mutations: Vec<_> = sim
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET")
        .collect();
    assert!(mutations.is_empty(), "{mutations:?}");
    let again: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        again["stacks"][0]["host"]["report"]["changed"], false,
        "{stdout}"
    );

    // The host key is pinned for this server; a replace (a user-data
    // change, here the reboot time) pins the new server's key deliberately.
    let first_id = again["stacks"][0]["result"]["server"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("server id in {stdout}"));
    let pins = fs::read_to_string(&known_hosts).unwrap();
    assert!(
        pins.contains(&format!(",clawprov-server-{first_id} ")),
        "{pins}"
    );
    let text = fs::read_to_string(&stack).unwrap();
    fs::write(
        &stack,
        text.replace(
            "  service_user:",
            "  reboot_time: \"05:00\"\n  service_user:",
        ),
    )
    .unwrap();
    let out = support::clawprov(home.path())
        .current_dir(home.path())
        .arg("-s")
        .arg(&stack)
        .args([
            "--json",
            "--hcloud-endpoint",
            &sim.endpoint(),
            "up",
            "--yes",
            "--replace",
            "--offline",
        ])
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "20", "--host-timeout", "30"])
        // verify's host checks read UFW, iptables, logind and cloud-init,
        // which this fixture shims: real_boot.rs runs them on a real guest.
        .args(["--verify", "api"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "replace: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let replaced: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let pin = &replaced["stacks"][0]["host"]["report"]["host_key"]["pin"];
    assert_eq!(pin["repinned"]["replaced_server"], first_id, "{stdout}");
    let pins = fs::read_to_string(&known_hosts).unwrap();
    assert!(
        !pins.contains(&format!("clawprov-server-{first_id} ")),
        "{pins}"
    );
}

/// `clawprov render` shows the host files exactly as the host phase
/// delivers them: with `--show-secrets --out`, each file's bytes equal the
/// delivered file's (sha256); redacted, no canary appears and openclaw.json
/// still parses as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn render_shows_the_host_files_byte_for_byte_as_delivered() {
    use sha2::{Digest, Sha256};
    let fx = HostFixture::start();
    let Project {
        sim, home, stack, ..
    } = project(&fx).await;
    let (code, stdout, stderr) = run_up(&fx, home.path(), &sim.endpoint(), &stack);
    assert_eq!(code, 0, "up failed:\n{stdout}\n{stderr}");

    let render = |args: &[&str]| {
        let out = support::clawprov(home.path())
            .current_dir(home.path())
            .arg("-s")
            .arg(&stack)
            .arg("--json")
            .arg("render")
            .args(args)
            .output()
            .expect("render runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v
    };
    let out_dir = home.path().join("rendered");
    let shown = render(&["--show-secrets", "--out", out_dir.to_str().unwrap()]);
    let host_files: Vec<&serde_json::Value> = shown["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "host file")
        .collect();
    assert_eq!(host_files.len(), 3, "{shown}");
    for f in &host_files {
        let remote = f["path"].as_str().unwrap();
        let written = out_dir.join(remote.trim_start_matches('/'));
        let delivered = fs::read(remote).unwrap_or_else(|e| panic!("{remote}: {e}"));
        let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
        assert_eq!(
            sha(&fs::read(&written).unwrap()),
            sha(&delivered),
            "{remote}"
        );
        assert_eq!(f["sha256"], sha(&delivered), "{remote}");
        let mode = fs::metadata(&written).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{remote}");
    }
    let user_data = fs::read_to_string(out_dir.join("user-data.yaml")).unwrap();
    assert!(user_data.starts_with("#cloud-config"));

    // Redacted: every file, the same shape, no canary.
    let redacted = render(&[]);
    let text = redacted.to_string();
    for canary in &fx.canaries {
        assert!(
            !text.contains(canary.as_str()),
            "a secret in redacted render"
        );
    }
    let files = redacted["files"].as_array().unwrap();
    let config = files
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .ends_with("/.openclaw/openclaw.json")
        })
        .expect("openclaw.json is rendered");
    let parsed: serde_json::Value =
        serde_json::from_str(config["content"].as_str().unwrap()).expect("still JSON");
    assert_eq!(parsed["gateway"]["bind"], "loopback");
    let env = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("/gateway.env"))
        .expect("the env file is rendered");
    assert!(
        env["content"]
            .as_str()
            .unwrap()
            .contains("OPENCLAW_GATEWAY_TOKEN='[redacted:gateway_token]'"),
        "{env}"
    );
    assert_eq!(env["owner"], format!("{0}:{0}", fx.service));
    assert_eq!(env["mode"], "0600");
}
