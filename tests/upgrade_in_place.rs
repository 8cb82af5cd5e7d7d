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

/// Pin `field` (`openclaw` or `node`) to `version` in the stack file; an
/// OpenClaw version clawprov vendors no lock for gets a stand-in lock
/// (`openclaw.lock`) beside the stack.
fn pin(stack: &Path, field: &str, version: &str) {
    let text = fs::read_to_string(stack).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let map = doc.as_mapping_mut().unwrap();
    let section = map
        .entry(field.into())
        .or_insert_with(|| serde_yaml::Value::Mapping(Default::default()));
    let section = section.as_mapping_mut().unwrap();
    section.insert("version".into(), version.into());
    if field == "openclaw" {
        if clawprov::lock::Lock::vendored(version).is_some() {
            section.remove("lock");
        } else {
            let lock = support::standin_lock(stack.parent().unwrap(), version);
            section.insert("lock".into(), lock.display().to_string().into());
        }
    }
    fs::write(stack, serde_yaml::to_string(&doc).unwrap()).unwrap();
}

/// The release (OpenClaw `o`, Node `n`) as `pin` locks it.
fn release(stack: &Path, o: &str, n: &str) -> clawprov::host::Release {
    let lock = clawprov::lock::Lock::vendored(o)
        .map(|l| l.hash().to_string())
        .unwrap_or_else(|| {
            let dir = support::standin_lock(stack.parent().unwrap(), o);
            clawprov::lock::Lock::read(&dir, o)
                .unwrap()
                .hash()
                .to_string()
        });
    clawprov::host::Release {
        openclaw: o.into(),
        node: n.into(),
        lock: Some(lock),
    }
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

/// The plan's server step.
fn server_step(planned: &serde_json::Value) -> serde_json::Value {
    planned["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["resource"] == "server")
        .cloned()
        .expect("a server step")
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
    for (field, version, pair) in [
        ("openclaw", "2026.9.7", ("2026.9.7", node_before)),
        ("node", "24.23.0", ("2026.9.7", "24.23.0")),
    ] {
        pin(&p.stack, field, version);
        let planned = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
        let server = server_step(&planned);
        assert_ne!(server["op"], "replace", "{planned}");
        let changes = planned["host"]["changes"].as_array().unwrap();
        // A new OpenClaw comes with its lock: the tree changes with it.
        let fields: Vec<&str> = changes
            .iter()
            .map(|c| c["field"].as_str().unwrap())
            .collect();
        if field == "openclaw" {
            assert_eq!(fields, ["openclaw.version", "openclaw.lock"], "{planned}");
            assert!(
                changes[1]["reason"].as_str().unwrap().contains("changed"),
                "{planned}"
            );
        } else {
            assert_eq!(fields, ["node.version"], "{planned}");
        }
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
        assert_eq!(report["release"]["running"]["openclaw"], pair.0);
        assert_eq!(report["release"]["running"]["node"], pair.1);
        assert!(report["release"]["previous"].is_object(), "{report}");
        let pruned = report["release"]["pruned"].as_array().unwrap().len();
        assert_eq!(pruned, usize::from(field == "node"), "{report}");
        assert_eq!(server_ids(&p), servers, "the server was not replaced");
        // The new release serves: the unit's ExecStart was switched and
        // loaded (daemon-reload) before the restart.
        let served = served_by(&fx);
        assert_eq!(served.len(), starts + 1, "{served:?}");
        assert_eq!(served.last().unwrap(), pair.0);
        let unit = fs::read_to_string(
            fx.service_home()
                .join(".config/systemd/user/clawprov-gateway.service"),
        )
        .unwrap();
        let home = fx.service_home().display().to_string();
        let want = release(&p.stack, pair.0, pair.1);
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
        let dir = release(&p.stack, o, n).dir(&home);
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
        let old = release(&p.stack, OLD, clawprov::stack::DEFAULT_NODE_VERSION);
        assert!(
            all.contains(&format!("the upgrade from {old} to OpenClaw {bad}"))
                && all.contains(&format!("rolled back to {old}")),
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
    let half = release(&p.stack, "2026.9.10", clawprov::stack::DEFAULT_NODE_VERSION).dir(&home);
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

/// A server set up by the clawprov before locks (bootstrap generation 1:
/// OpenClaw installed unlocked at first boot, `npm install -g --prefix`,
/// no `clawprov/bootstrap` or `clawprov/lock` label, the user-data
/// fingerprint that generation rendered) is kept and brought into line:
/// `plan` says so, `up` installs the locked tree as a new release and
/// switches to it, the labels then say generation 2 and the lock. One
/// whose fingerprint is not that generation's rendering of the stack is
/// still a replace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_set_up_before_locks_is_brought_into_line_not_replaced() {
    let fx = HostFixture::start();
    let p = project(&fx).await;
    up_ok(&fx, &p);
    let servers = server_ids(&p);
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "render"])
        .output()
        .expect("render");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rendered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let previous = rendered["previous_user_data_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(
        previous,
        rendered["user_data_fingerprint"].as_str().unwrap()
    );
    assert_eq!(rendered["bootstrap_generation"], 2);

    // The server as generation 1 left it: labels, the unlocked release,
    // the unit running it.
    let home = fx.service_home().display().to_string();
    let node = clawprov::stack::DEFAULT_NODE_VERSION;
    let locked = release(&p.stack, OLD, node);
    let unlocked = clawprov::host::Release {
        lock: None,
        ..locked.clone()
    };
    let as_generation_1 = |fingerprint: &str| {
        p.sim.sim.with(|w| {
            let labels = &mut w.servers.get_mut(&servers[0]).unwrap().labels;
            labels.remove("clawprov/bootstrap");
            labels.remove("clawprov/lock");
            labels.insert("clawprov/user-data".into(), fingerprint.into());
        })
    };
    as_generation_1(&previous);
    fx.install_unlocked_release(&unlocked);
    fs::remove_dir_all(locked.dir(&home)).unwrap();
    let unit_path = fx
        .service_home()
        .join(".config/systemd/user/clawprov-gateway.service");
    let unit = fs::read_to_string(&unit_path)
        .unwrap()
        .replace(&locked.openclaw_bin(&home), &unlocked.openclaw_bin(&home))
        .replace(&locked.bin_dir(&home), &unlocked.bin_dir(&home));
    fs::write(&unit_path, &unit).unwrap();
    fs::write(fx.path("state/loaded-unit"), &unit).unwrap();
    assert_eq!(
        clawprov::host::Release::from_unit(&unit, &home),
        Some(unlocked.clone())
    );

    let planned = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
    let server = server_step(&planned);
    assert_ne!(server["op"], "replace", "{planned}");
    let changes = planned["host"]["changes"].as_array().unwrap();
    let fields: Vec<&str> = changes
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["openclaw.lock", "bootstrap"], "{planned}");
    assert!(changes[0]["from"].is_null() && changes[0]["to"] == locked.lock.clone().unwrap());
    assert!(
        changes[0]["reason"].as_str().unwrap().contains("unlocked"),
        "{planned}"
    );

    let up = up_ok(&fx, &p);
    let report = &up["host"]["report"]["release"];
    assert_eq!(
        report["running"]["lock"],
        locked.lock.clone().unwrap(),
        "{report}"
    );
    assert!(report["previous"]["lock"].is_null(), "{report}");
    assert_eq!(server_ids(&p), servers, "the server was not replaced");
    let now = fs::read_to_string(&unit_path).unwrap();
    assert_eq!(
        clawprov::host::Release::from_unit(&now, &home),
        Some(locked.clone())
    );
    assert!(Path::new(&locked.dir(&home))
        .join("package-lock.json")
        .exists());
    let labels = p.sim.sim.with(|w| w.servers[&servers[0]].labels.clone());
    assert_eq!(
        labels.get("clawprov/bootstrap").map(String::as_str),
        Some("2")
    );
    assert_eq!(labels.get("clawprov/lock"), locked.lock.as_ref());
    assert_eq!(
        labels.get("clawprov/user-data").map(String::as_str),
        rendered["user_data_fingerprint"].as_str()
    );
    let again = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
    assert_eq!(again["host"]["changes"], serde_json::json!([]), "{again}");

    // Generation 1 with a fingerprint that is not its rendering of this
    // stack: the user-data differs, so it is a replace, as ever.
    as_generation_1("0123456789abcdef0123456789abcdef");
    let planned = plan(p.home.path(), &p.sim.endpoint(), &p.stack);
    let server = server_step(&planned);
    assert_eq!(server["op"], "replace", "{planned}");
    assert!(
        server["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("as the earlier clawprov"),
        "{server}"
    );
}
