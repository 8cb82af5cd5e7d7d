//! Upgrades in place, as a user makes them: `clawprov up` (the real
//! binary, against the Hetzner simulator and the sshd fixture), then a new
//! `openclaw.version` or `node.version` in the stack file, `plan`, `up`.
//!
//! What must hold: the plan is an upgrade on the same server, not a
//! replace; the new release is installed beside the old one (nvm and npm
//! stand-ins lay it out as the real ones do) and the gateway unit switched
//! to it (the systemctl shim runs the unit's ExecStart as the user manager
//! loaded it, so the switch is observable); every file of the state
//! directory stays byte-identical, with its mode; a release that does not
//! come up (refuses to start, or fails the token probes) is rolled back and
//! the old one serves again; a release that cannot be installed leaves the
//! running gateway untouched; no secret appears in any argv.

mod host_fixture;
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use host_fixture::project::{project, run_up, Project};
use host_fixture::{files_under, HostFixture};
use sha2::{Digest, Sha256};

const OLD: &str = clawprov::stack::DEFAULT_OPENCLAW_VERSION;

/// Pin `field` (`openclaw` or `node`) to `version` in the stack file.
fn pin(stack: &Path, field: &str, version: &str) {
    let text = fs::read_to_string(stack).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let map = doc.as_mapping_mut().unwrap();
    let section = map
        .entry(field.into())
        .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
    section
        .as_mapping_mut()
        .unwrap()
        .insert("version".into(), version.into());
    fs::write(stack, serde_yaml::to_string(&doc).unwrap()).unwrap();
}

fn plan(home: &Path, endpoint: &str, stack: &Path) -> serde_json::Value {
    let out = support::clawprov(home)
        .current_dir(home)
        .arg("-s")
        .arg(stack)
        .args(["--json", "--hcloud-endpoint", endpoint, "plan", "--offline"])
        .output()
        .expect("clawprov plan runs");
    assert!(
        out.status.success(),
        "plan failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan --json");
    v["plans"][0].clone()
}

/// The gateway's state as the service user left it: path -> (sha256, mode).
fn state_of(fx: &HostFixture) -> BTreeMap<PathBuf, (String, u32)> {
    let dir = fx.service_home().join(".openclaw");
    files_under(&dir)
        .into_iter()
        .map(|f| {
            let meta = fs::symlink_metadata(&f).unwrap();
            let sum = if meta.is_file() {
                hex::encode(Sha256::digest(fs::read(&f).unwrap()))
            } else {
                String::new()
            };
            (f, (sum, meta.mode() & 0o7777))
        })
        .collect()
}

/// What a gateway accumulates: paired devices, agent memory, sessions, a
/// workspace with binary files, with the modes OpenClaw gives them.
fn accumulate_state(fx: &HostFixture) {
    let dir = fx.service_home().join(".openclaw");
    let files: [(&str, Vec<u8>, u32); 5] = [
        (
            "devices/paired.json",
            br#"{"devices":[{"id":"d1"}]}"#.to_vec(),
            0o600,
        ),
        (
            "agents/main/agent/memory.md",
            b"remember the milk\n".to_vec(),
            0o600,
        ),
        (
            "agents/main/sessions/s1.jsonl",
            b"{\"role\":\"user\"}\n".repeat(500),
            0o644,
        ),
        (
            "workspace/blob.bin",
            (0..=255u8).cycle().take(300_000).collect(),
            0o640,
        ),
        ("workspace/run.sh", b"#!/bin/sh\necho hi\n".to_vec(), 0o750),
    ];
    for (rel, bytes, mode) in files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let status = std::process::Command::new("chown")
        .arg("-R")
        .arg(format!("{0}:{0}", fx.service))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The release each start of the gateway ran, in order.
fn served_by(fx: &HostFixture) -> Vec<String> {
    fx.read("state/served-by")
        .lines()
        .map(str::to_string)
        .collect()
}

fn gateway_pid(fx: &HostFixture) -> String {
    fx.read("state/gateway.pid").trim().to_string()
}

fn up_ok(fx: &HostFixture, p: &Project) -> serde_json::Value {
    let (code, stdout, stderr) = run_up(fx, p.home.path(), &p.sim.endpoint(), &p.stack);
    assert_eq!(code, 0, "up failed:\nstdout: {stdout}\nstderr: {stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON value");
    assert_no_canary(fx, &[&stdout, &stderr]);
    v["stacks"][0].clone()
}

fn assert_no_canary(fx: &HostFixture, printed: &[&str]) {
    let logs = [
        fx.read("commands.log"),
        fx.read("sudo.log"),
        fx.read("shim.log"),
    ];
    for canary in &fx.canaries {
        for text in printed
            .iter()
            .copied()
            .chain(logs.iter().map(String::as_str))
        {
            assert!(!text.contains(canary.as_str()), "a secret leaked");
        }
    }
}

fn server_ids(p: &Project) -> Vec<i64> {
    p.sim.sim.with(|w| w.servers.keys().copied().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_keeps_the_server_and_every_byte_of_the_state() {
    let fx = HostFixture::start();
    let p = project(&fx).await;
    let first = up_ok(&fx, &p);
    assert_eq!(
        first["host"]["report"]["release"]["running"]["openclaw"],
        OLD
    );
    let servers = server_ids(&p);
    assert_eq!(servers.len(), 1);
    accumulate_state(&fx);
    let before = state_of(&fx);
    assert!(before.len() >= 6, "{before:?}");

    // OpenClaw, then Node: each an upgrade of the same server.
    let node_before = clawprov::stack::DEFAULT_NODE_VERSION;
    for (field, version, release) in [
        ("openclaw", "2026.9.7", ("2026.9.7", node_before)),
        ("node", "24.23.0", ("2026.9.7", "24.23.0")),
    ] {
        pin(&p.stack, field, version);
        let planned = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
        let server = planned["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["resource"] == "server")
            .unwrap();
        assert_ne!(server["op"], "replace", "{planned}");
        let changes = planned["host"]["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 1, "{planned}");
        assert_eq!(changes[0]["field"], format!("{field}.version"));
        assert_eq!(changes[0]["to"], version);
        assert!(
            changes[0]["reason"].as_str().unwrap().contains("roll back"),
            "{planned}"
        );
        assert_eq!(planned["host"]["server"], servers[0]);

        let starts = served_by(&fx).len();
        let up = up_ok(&fx, &p);
        let report = &up["host"]["report"];
        assert_eq!(report["release"]["running"]["openclaw"], release.0);
        assert_eq!(report["release"]["running"]["node"], release.1);
        assert!(report["release"]["previous"].is_object(), "{report}");
        let pruned = report["release"]["pruned"].as_array().unwrap().len();
        assert_eq!(pruned, usize::from(field == "node"), "{report}");
        assert_eq!(server_ids(&p), servers, "the server was not replaced");
        // The new release serves: the unit's ExecStart was switched and
        // loaded (daemon-reload) before the restart.
        let served = served_by(&fx);
        assert_eq!(served.len(), starts + 1, "{served:?}");
        assert_eq!(served.last().unwrap(), release.0);
        let unit = fs::read_to_string(
            fx.service_home()
                .join(".config/systemd/user/clawprov-gateway.service"),
        )
        .unwrap();
        let home = fx.service_home().display().to_string();
        let want = clawprov::host::Release {
            openclaw: release.0.into(),
            node: release.1.into(),
        };
        assert!(
            unit.contains(&format!(
                "ExecStart={} {} ",
                want.node_bin(&home),
                want.openclaw_bin(&home)
            )),
            "{unit}"
        );
        assert_eq!(clawprov::host::Release::from_unit(&unit, &home), Some(want));
        // Not one byte or mode of the state directory changed.
        assert_eq!(state_of(&fx), before);
        // The labels record it: the next plan has nothing for the host.
        let again = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
        assert_eq!(again["host"]["changes"], serde_json::json!([]), "{again}");
    }
    // The running release and the one before it stay installed (for going
    // back by hand); the first was removed after the second switch.
    let home = fx.service_home().display().to_string();
    for (o, n, kept) in [
        (OLD, node_before, false),
        ("2026.9.7", node_before, true),
        ("2026.9.7", "24.23.0", true),
    ] {
        let dir = clawprov::host::release_dir(&home, o, n);
        assert_eq!(Path::new(&dir).exists(), kept, "{dir}");
    }
    // Both Node versions stay (nvm's, not pruned).
    for n in [node_before, "24.23.0"] {
        assert!(Path::new(&clawprov::host::node_bin_dir(&home, n))
            .join("node")
            .exists());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_that_does_not_come_up_is_rolled_back() {
    let fx = HostFixture::start();
    let p = project(&fx).await;
    up_ok(&fx, &p);
    accumulate_state(&fx);
    let before = state_of(&fx);
    let servers = server_ids(&p);
    let unit_path = fx
        .service_home()
        .join(".config/systemd/user/clawprov-gateway.service");
    let old_unit = fs::read_to_string(&unit_path).unwrap();

    // 2026.9.8 starts but refuses the vault's token (its probes fail);
    // 2026.9.9 refuses to start at all.
    fs::write(fx.path("state/refusing"), "2026.9.8\n").unwrap();
    fs::write(fx.path("state/broken"), "2026.9.9\n").unwrap();
    // (A release that refuses to start never serves: only the old one's
    // restart after the rollback is seen.)
    for (bad, why, serves) in [
        ("2026.9.8", "401", true),
        ("2026.9.9", "stopped before it listened", false),
    ] {
        pin(&p.stack, "openclaw", bad);
        let starts = served_by(&fx).len();
        let (code, stdout, stderr) = run_up(&fx, p.home.path(), &p.sim.endpoint(), &p.stack);
        assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
        let all = format!("{stdout}{stderr}");
        assert!(
            all.contains(&format!(
                "the upgrade from OpenClaw {OLD} on Node {} to OpenClaw {bad}",
                clawprov::stack::DEFAULT_NODE_VERSION
            )) && all.contains(&format!("rolled back to OpenClaw {OLD}")),
            "{all}"
        );
        assert!(all.contains(why), "{all}");
        assert_no_canary(&fx, &[&stdout, &stderr]);
        // The old release serves again, from the old unit, on the same server.
        let served = served_by(&fx);
        let expected: &[&str] = if serves { &[bad, OLD] } else { &[OLD] };
        assert_eq!(&served[starts..], expected, "{served:?}");
        assert_eq!(fs::read_to_string(&unit_path).unwrap(), old_unit);
        assert_eq!(
            fx.read("state/loaded-unit"),
            old_unit,
            "reloaded after the rollback"
        );
        assert_eq!(server_ids(&p), servers);
        assert_eq!(state_of(&fx), before);
        // The labels still say the old release: the plan offers the upgrade again.
        let again = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
        assert_eq!(again["host"]["changes"][0]["from"], OLD, "{again}");
        assert_eq!(again["host"]["changes"][0]["to"], bad, "{again}");
    }

    // A version npm cannot find: nothing that runs is touched.
    fs::write(fx.path("state/unpublished"), "openclaw-2026.9.10\n").unwrap();
    pin(&p.stack, "openclaw", "2026.9.10");
    let pid = gateway_pid(&fx);
    let starts = served_by(&fx).len();
    let (code, stdout, stderr) = run_up(&fx, p.home.path(), &p.sim.endpoint(), &p.stack);
    assert_eq!(code, 1, "stdout: {stdout}\nstderr: {stderr}");
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("installing the release") && all.contains("ETARGET"),
        "{all}"
    );
    assert!(all.contains("the running gateway was not touched"), "{all}");
    assert_eq!(gateway_pid(&fx), pid, "the gateway was not restarted");
    assert_eq!(served_by(&fx).len(), starts);
    assert_eq!(fs::read_to_string(&unit_path).unwrap(), old_unit);
    let home = fx.service_home().display().to_string();
    let half =
        clawprov::host::release_dir(&home, "2026.9.10", clawprov::stack::DEFAULT_NODE_VERSION);
    assert!(
        !Path::new(&half).exists(),
        "an incomplete release is never in place"
    );

    // Once fixed, the same upgrade goes through.
    fs::remove_file(fx.path("state/unpublished")).unwrap();
    let up = up_ok(&fx, &p);
    assert_eq!(
        up["host"]["report"]["release"]["running"]["openclaw"],
        "2026.9.10"
    );
    assert_eq!(served_by(&fx).last().unwrap(), "2026.9.10");
    assert_eq!(state_of(&fx), before);
}
