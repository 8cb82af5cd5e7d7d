//! The tailnet side of `up` and `destroy` end to end: the real binary
//! against the Hetzner and Tailscale simulators (`auth: oauth`, the OAuth
//! client in the vault), the host phase against the real sshd fixture, and
//! the fixture's `tailscale up` stand-in joining through the simulator's
//! control plane exactly as the bootstrap would (the key read from the
//! user-data the server was created with). So the key's whole life is
//! seen: minted, in user-data only, spent by the join, revoked; and the
//! device's: stale one removed first, new one found by the API, key expiry
//! off, deleted by destroy, the hostname exact on every redeploy.

mod host_fixture;
mod support;

use std::fs;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clawprov::secrets::{self, identity, Lock, Recipient, Secret};
use clawprov::sim::{self, OAuthClient, SimConfig};
use host_fixture::HostFixture;

const CLIENT_ID: &str = "kCanaryClient7CNTRL";

struct Project {
    sim: sim::SimServer,
    home: tempfile::TempDir,
    stack: std::path::PathBuf,
    client_secret: String,
}

async fn project(fx: &mut HostFixture) -> Project {
    project_with(fx, "oauth").await
}

/// The stack with `tailscale.auth: AUTH`; for `auth_key`, the vault's
/// `tailscale_auth_key` is a key a person made (a user's, invisible to the
/// OAuth client): tagged, pre-authorized and reusable, valid for a day.
async fn project_with(fx: &mut HostFixture, auth: &str) -> Project {
    let client_secret = format!(
        "tskey-client-{CLIENT_ID}-CANARYoauth{:08x}",
        rand::random::<u32>()
    );
    fx.vault
        .set("tailscale_oauth_client_id", Secret::new(CLIENT_ID))
        .unwrap();
    fx.vault
        .set(
            "tailscale_oauth_client_secret",
            Secret::new(client_secret.as_str()),
        )
        .unwrap();
    fx.canaries.push(client_secret.clone());
    let mut config = SimConfig {
        tokens: vec![fx.vault.get("hcloud_token").unwrap().expose().to_string()],
        action_duration: Duration::from_millis(200),
        ..SimConfig::default()
    };
    config.tailscale.oauth_clients = vec![OAuthClient {
        id: CLIENT_ID.into(),
        secret: client_secret.clone(),
        scopes: vec!["auth_keys".into(), "devices:core".into()],
        tags: vec!["tag:openclaw".into()],
    }];
    let sim = sim::serve(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("simulator");
    if auth == "auth_key" {
        let users = sim
            .sim
            .with(|w| {
                w.tailscale.mint_key(
                    &sim::tailscale::Actor::ApiToken,
                    &sim::tailscale::KeyRequest {
                        reusable: true,
                        preauthorized: true,
                        tags: vec!["tag:openclaw".into()],
                        expiry_seconds: 86_400,
                        description: "made in the admin console".into(),
                        ..Default::default()
                    },
                )
            })
            .expect("a user's key");
        fx.vault
            .set("tailscale_auth_key", Secret::new(users.key.as_str()))
            .unwrap();
        fx.canaries.push(users.key);
    }
    let home = tempfile::tempdir().unwrap();
    let stacks = home.path().join("stacks");
    fs::create_dir_all(&stacks).unwrap();
    let stack = stacks.join(format!("{}.yaml", fx.stack.name));
    let s = &fx.stack;
    fs::write(
        &stack,
        format!(
            "name: {}\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: {}\n  tags: [tag:openclaw]\n  auth: {auth}\n\
             openclaw:\n  port: {}\nhost:\n  admin_user: {}\n  service_user: {}\n",
            s.name, s.tailscale.hostname, s.openclaw.port, s.host.admin_user, s.host.service_user
        ),
    )
    .unwrap();
    let own = identity::create(&home.path().join(".config/clawprov/identity.txt")).unwrap();
    secrets::write(
        &stacks.join(format!("{}.secrets.age", fx.stack.name)),
        &fx.vault,
        &Lock::Recipients(&[Recipient::parse(&own).unwrap()]),
    )
    .unwrap();
    Project {
        sim,
        home,
        stack,
        client_secret,
    }
}

fn command(fx: &HostFixture, p: &Project, args: &[&str]) -> std::process::Command {
    let mut cmd = support::clawprov(p.home.path());
    cmd.current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args(args);
    if args[0] == "up" {
        cmd.args(["--yes", "--offline"])
            .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
            .args(["--host-root", fx.path("fs").to_str().unwrap()])
            .args(["--reach-timeout", "30", "--host-timeout", "30"])
            .args(["--verify", "api"]);
    }
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// The key the new server's user-data carried.
    user_data_key: Option<String>,
    user_data: Option<String>,
}

/// `up`, with the fixture joining the tailnet once the server exists
/// (as its cloud-init would), if one is created.
fn up_and_join(fx: &HostFixture, p: &Project) -> Run {
    up_and_join_with(fx, p, command(fx, p, &["up"]))
}

fn up_and_join_with(fx: &HostFixture, p: &Project, mut cmd: std::process::Command) -> Run {
    let known: Vec<i64> = p.sim.sim.with(|w| w.servers.keys().copied().collect());
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("up starts");
    let start = Instant::now();
    let mut user_data = None;
    while start.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        let fresh = p.sim.sim.with(|w| {
            w.servers
                .iter()
                .find(|(id, _)| !known.contains(id))
                .and_then(|(id, s)| s.user_data.clone().map(|u| (*id, u)))
        });
        if let Some((id, text)) = fresh {
            let key = support::auth_key_in(&text).expect("a key in user-data");
            let out = fx.tailscale_up(
                &format!("http://{}", p.sim.addr),
                &format!("server-{id}"),
                &key,
            );
            assert!(
                out.status.success(),
                "the node could not join: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            user_data = Some(text);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        user_data_key: user_data.as_deref().and_then(support::auth_key_in),
        user_data,
    }
}

fn devices_named(p: &Project, hostname: &str) -> Vec<sim::tailscale::devices::Device> {
    p.sim
        .sim
        .with(|w| w.tailscale.devices())
        .into_iter()
        .filter(|d| d.hostname == hostname)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth_up_mints_one_key_keeps_one_device_and_destroy_removes_it() {
    let mut fx = HostFixture::start();
    let p = project(&mut fx).await;
    let hostname = fx.stack.tailscale.hostname.clone();
    let fqdn = format!("{hostname}.tail1234.ts.net");

    // A device left by an earlier server of this stack, still online and
    // holding the exact name.
    let stale = p
        .sim
        .sim
        .with(|w| w.tailscale.seed_device(&hostname, &["tag:openclaw"], true));
    assert_eq!(stale.name, fqdn);

    let run = up_and_join(&fx, &p);
    assert_eq!(run.code, 0, "up failed:\n{}\n{}", run.stdout, run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let s = &out["stacks"][0];
    let tailnet = &s["tailnet"];
    // BENCHMARKS.md quotes these.
    eprintln!(
        "up (new server, one stale device) requests: {}",
        s["requests"]
    );

    // The stale device went first, before the server was created.
    assert_eq!(tailnet["deleted"], serde_json::json!([stale.id]));
    let log = p.sim.request_log();
    let pos = |method: &str, path: &str| {
        log.iter()
            .position(|r| r.method == method && r.path.starts_with(path))
            .unwrap_or_else(|| panic!("no {method} {path} in {log:?}"))
    };
    assert!(pos("DELETE", &format!("/api/v2/device/{}", stale.id)) < pos("POST", "/v1/servers"));
    assert!(pos("POST", "/api/v2/tailnet/-/keys") < pos("POST", "/v1/servers"));

    // Exactly one device: the exact hostname, the declared tags, key expiry off.
    let devices = devices_named(&p, &hostname);
    assert_eq!(devices.len(), 1, "{devices:?}");
    let node = &devices[0];
    assert_ne!(node.id, stale.id);
    assert_eq!(node.name, fqdn, "no -1 suffix");
    assert_eq!(node.tags, ["tag:openclaw"]);
    assert!(node.key_expiry_disabled);
    assert_eq!(
        tailnet["device"]["id"],
        node.id.as_str(),
        "up found the new node, not the stale one"
    );
    assert_eq!(
        tailnet["device"]["addresses"][0],
        node.addresses[0].as_str()
    );
    assert_ne!(node.addresses[0], stale.addresses[0]);

    // The key in user-data was minted for this server and is worthless now.
    let key = run.user_data_key.clone().expect("user-data had a key");
    let key_id = clawprov::tailscale::keys::key_id_of(&key)
        .unwrap()
        .to_string();
    assert_eq!(tailnet["key"]["id"], key_id.as_str());
    assert_eq!(tailnet["key"]["consumed"], true, "{tailnet}");
    let minted = p.sim.sim.with(|w| w.tailscale.key(&key_id)).unwrap();
    assert!(!minted.reusable && !minted.ephemeral && minted.preauthorized);
    assert_eq!(minted.tags, ["tag:openclaw"]);
    assert!(minted.revoked.is_some(), "revoked after the join");
    // Another machine that read the user-data (the metadata service) tries it.
    let again = reqwest::Client::new()
        .post(format!("http://{}/sim/tailscale/join", p.sim.addr))
        .json(&serde_json::json!({"auth_key": key, "hostname": "thief",
            "advertise_tags": ["tag:openclaw"], "machine": "thief"}))
        .send()
        .await
        .unwrap();
    let status = again.status();
    let body = again.text().await.unwrap_or_default();
    assert_eq!(
        status, 401,
        "a second join with the user-data key must fail: {body}"
    );
    assert_eq!(devices_named(&p, &hostname).len(), 1);

    // No secret but that (now invalid) key in user-data; none anywhere else.
    let user_data = run.user_data.clone().unwrap();
    let mut places = vec![
        ("stdout", run.stdout.clone()),
        ("stderr", run.stderr.clone()),
        ("user-data", user_data.clone()),
        ("shim log", fx.read("shim.log")),
        ("remote commands", fx.read("commands.log")),
        ("request log", format!("{log:?}")),
    ];
    for c in &fx.canaries {
        for (place, text) in &places {
            assert!(!text.contains(c.as_str()), "a canary leaked into {place}");
        }
    }

    // up's verify ran the Tailscale API checks, and they passed.
    let checks = s["verify"]["checks"].as_array().unwrap();
    for id in ["api.tailnet.device", "api.tailnet.keys"] {
        let c = checks
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(c["status"], "pass", "{c}");
    }
    // Each fails on its own mutation: the node offline, then a valid key
    // minted for the stack left over.
    let verify = |p: &Project| {
        let out = command(&fx, p, &["verify", "--only", "api"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let status = |id: &str| {
            v["stacks"][0]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .map(|c| c["status"].as_str().unwrap().to_string())
                .unwrap()
        };
        (
            out.status.code(),
            status("api.tailnet.device"),
            status("api.tailnet.keys"),
        )
    };
    assert_eq!(verify(&p), (Some(0), "pass".into(), "pass".into()));
    p.sim
        .sim
        .with(|w| w.tailscale.set_online(&node.id, false))
        .unwrap();
    assert_eq!(verify(&p), (Some(1), "fail".into(), "pass".into()));
    p.sim
        .sim
        .with(|w| w.tailscale.set_online(&node.id, true))
        .unwrap();
    let client = clawprov::tailscale::Tailscale::new(
        Some(p.sim.tailscale_endpoint()),
        clawprov::tailscale::Credentials::OAuth {
            client_id: Secret::new(CLIENT_ID),
            client_secret: Secret::new(p.client_secret.as_str()),
        },
    )
    .unwrap();
    let left = client
        .create_key(&clawprov::tailscale::KeySpec::single_use(
            &["tag:openclaw".to_string()],
            Duration::from_secs(600),
            clawprov::tailscale::keys::description(&["clawprov", &fx.stack.name, "killed"]),
        ))
        .await
        .unwrap();
    assert_eq!(verify(&p), (Some(1), "pass".into(), "fail".into()));
    assert!(client.revoke_key(&left.id).await.unwrap());
    assert_eq!(verify(&p), (Some(0), "pass".into(), "pass".into()));

    // status shows the device.
    let out = command(&fx, &p, &["status"]).output().unwrap();
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = &st["stacks"][0]["devices"];
    assert_eq!(shown.as_array().map(Vec::len), Some(1), "{st}");
    assert_eq!(shown[0]["id"], node.id.as_str());
    assert_eq!(shown[0]["online"], true);
    assert_eq!(shown[0]["key_expiry_disabled"], true);
    assert_eq!(shown[0]["tags"], serde_json::json!(["tag:openclaw"]));
    assert!(shown[0]["last_seen"].is_string());

    // A second up: nothing to change on either API.
    p.sim.sim.clear_request_log();
    let second = up_and_join(&fx, &p);
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    assert!(second.user_data.is_none(), "no new server");
    let mutations: Vec<_> = p
        .sim
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with("/api/v2/oauth"))
        .collect();
    assert!(mutations.is_empty(), "{mutations:?}");
    places.push(("second stdout", second.stdout.clone()));

    // destroy removes the device with the server.
    p.sim.sim.clear_request_log();
    let out = command(&fx, &p, &["destroy", "--yes"]).output().unwrap();
    let log = p.sim.request_log();
    eprintln!(
        "destroy requests: hetzner {}, tailscale {}",
        log.iter().filter(|r| r.path.starts_with("/v1")).count(),
        log.iter().filter(|r| r.path.starts_with("/api/v2")).count()
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(devices_named(&p, &hostname).is_empty());
    let destroyed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        destroyed.contains(&format!("tailnet device #{}", node.id)),
        "{destroyed}"
    );

    // A redeploy after destroy gets the exact hostname again.
    let third = up_and_join(&fx, &p);
    assert_eq!(third.code, 0, "{}\n{}", third.stdout, third.stderr);
    let devices = devices_named(&p, &hostname);
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].name, fqdn);
    // A replace (a user-data change) deletes the old server's device
    // before the new server exists: the exact name again, one device.
    let text = fs::read_to_string(&p.stack).unwrap();
    fs::write(
        &p.stack,
        text.replace(
            "  service_user:",
            "  reboot_time: \"05:00\"\n  service_user:",
        ),
    )
    .unwrap();
    let before = devices_named(&p, &hostname)[0].clone();
    p.sim.sim.clear_request_log();
    let mut cmd = command(&fx, &p, &["up"]);
    cmd.arg("--replace");
    let replaced = up_and_join_with(&fx, &p, cmd);
    assert_eq!(replaced.code, 0, "{}\n{}", replaced.stdout, replaced.stderr);
    let devices = devices_named(&p, &hostname);
    assert_eq!(devices.len(), 1, "{devices:?}");
    assert_ne!(devices[0].id, before.id);
    assert_eq!(devices[0].name, fqdn);
    let log = p.sim.request_log();
    let at = |m: &str, path: &str| {
        log.iter()
            .position(|r| r.method == m && r.path.starts_with(path))
            .unwrap()
    };
    assert!(at("DELETE", &format!("/api/v2/device/{}", before.id)) < at("POST", "/v1/servers"));

    // Without --ssh-host the host phase goes to the address the API gives
    // for this server's device, not to the MagicDNS name (which may still
    // point at an older node). Nothing listens there from this machine, so
    // it fails, naming where it went.
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args([
            "up",
            "--yes",
            "--offline",
            "--reach-timeout",
            "2",
            "--verify",
            "none",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{text}");
    let address = &devices[0].addresses[0];
    assert!(
        text.contains(&format!("{address}:22")),
        "the node's tailnet address: {text}"
    );
    assert!(
        !text.contains(&format!("{fqdn}:22")),
        "not the MagicDNS name: {text}"
    );

    for c in &fx.canaries {
        for (place, text) in places.iter().chain(
            [
                ("third stdout", third.stdout.clone()),
                ("third stderr", third.stderr.clone()),
                ("destroy", destroyed.clone()),
            ]
            .iter(),
        ) {
            assert!(!text.contains(c.as_str()), "a canary leaked into {place}");
        }
    }
    assert!(!p.client_secret.is_empty());
}

fn rotate(fx: &HostFixture, p: &Project, extra: &[&str]) -> std::process::Command {
    let mut cmd = command(fx, p, &["rotate", "tailscale-key"]);
    cmd.args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "30"])
        .args(extra);
    cmd
}

/// `rotate tailscale-key`, which must succeed with tailscaled Running:
/// its JSON result (`rotated`).
fn rotated(fx: &HostFixture, p: &Project, context: &str) -> serde_json::Value {
    let out = rotate(fx, p, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{context}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        r["rotated"]["backend_state"], "Running",
        "{context}: {stdout}"
    );
    r["rotated"].clone()
}

/// Every key this stack minted is spent or revoked, one device is left,
/// and the key file is gone from the host.
fn converged(fx: &HostFixture, p: &Project, hostname: &str) {
    let keys = p.sim.sim.with(|w| w.tailscale.keys());
    let now = p.sim.sim.clock().now();
    let live: Vec<_> = keys
        .iter()
        .filter(|k| {
            k.description
                .starts_with(&format!("clawprov {}", fx.stack.name))
        })
        .filter(|k| k.is_valid(now))
        .map(|k| k.id.clone())
        .collect();
    assert!(live.is_empty(), "keys still valid: {live:?}");
    assert_eq!(devices_named(p, hostname).len(), 1);
    assert!(!fx.path("fs/run/clawprov-rotate.key").exists());
    assert!(!fx.path("fs/run/clawprov-rotate.log").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_tailscale_key_reauthenticates_in_place_and_a_killed_run_converges() {
    let mut fx = HostFixture::start();
    let p = project(&mut fx).await;
    let hostname = fx.stack.tailscale.hostname.clone();
    let run = up_and_join(&fx, &p);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let before = devices_named(&p, &hostname)[0].clone();
    // Someone changed a setting on the node: from now on a plain
    // `tailscale up` with the bootstrap's flags refuses ("requires
    // mentioning all non-default flags", cmd/tailscale/cli/up.go).
    let set = std::process::Command::new(fx.path("shims/tailscale"))
        .args(["set", "--accept-dns=false"])
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");

    // --plan changes nothing.
    p.sim.sim.clear_request_log();
    let out = rotate(&fx, &p, &["--plan"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(p
        .sim
        .request_log()
        .iter()
        .all(|r| r.method == "GET" || r.path.starts_with("/api/v2/oauth")));

    // A rotation: the node re-authenticates with a new key, stays the same
    // device, stays reachable; the new key is spent and revoked.
    p.sim.sim.clear_request_log();
    let out = rotate(&fx, &p, &[]).output().unwrap();
    let log = p.sim.request_log();
    eprintln!(
        "rotate requests: hetzner {}, tailscale {} ({} mutating)",
        log.iter().filter(|r| r.path.starts_with("/v1")).count(),
        log.iter().filter(|r| r.path.starts_with("/api/v2")).count(),
        log.iter()
            .filter(|r| r.path.starts_with("/api/v2") && r.method != "GET")
            .count()
    );
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &r["rotated"];
    assert_eq!(r["backend_state"], "Running");
    assert_eq!(r["device_after"], before.id.as_str());
    assert_eq!(r["device_changed"], false);
    // `up --reset` brought the node back to clawprov's settings, and the
    // run says which one it changed.
    assert_eq!(
        r["settings_reset"],
        serde_json::json!(["accept-dns: false -> true"]),
        "{stdout}"
    );
    assert!(!fx.path("state/settings/accept-dns").exists());
    assert_eq!(r["settings_unknown"], false, "{stdout}");
    let new_key = r["new_key"].as_str().unwrap().to_string();
    let k = p.sim.sim.with(|w| w.tailscale.key(&new_key)).unwrap();
    assert_eq!(k.uses, 1, "the node used the new key");
    assert!(k.revoked.is_some());
    assert_eq!(
        fx.read("state/joins").lines().count(),
        2,
        "joined, then re-authenticated"
    );
    converged(&fx, &p, &hostname);
    for c in &fx.canaries {
        for text in [
            &stdout,
            &stderr,
            &fx.read("commands.log"),
            &fx.read("shim.log"),
        ] {
            assert!(!text.contains(c.as_str()), "a canary leaked");
        }
    }

    // kill -9 at each step (after the mint, with the key on the host, after
    // the re-auth, after the revoke): the next run finishes the job.
    let joins = |fx: &HostFixture| fx.read("state/joins").lines().count();
    for point in [
        "after mint",
        "key on the host",
        "after re-auth",
        "after the revoke",
    ] {
        let base_joins = joins(&fx);
        p.sim.sim.clear_request_log();
        let mut child = rotate(&fx, &p, &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            let hit = match point {
                "after mint" => p
                    .sim
                    .request_log()
                    .iter()
                    .any(|r| r.method == "POST" && r.path.ends_with("/keys")),
                "key on the host" => fx.path("fs/run/clawprov-rotate.key").exists(),
                "after re-auth" => joins(&fx) > base_joins,
                _ => p
                    .sim
                    .request_log()
                    .iter()
                    .any(|r| r.method == "DELETE" && r.path.contains("/keys/")),
            };
            if hit {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "rotate ended before {point}"
            );
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "never reached {point}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let r = rotated(&fx, &p, &format!("re-run after a kill {point}"));
        if point == "after mint" {
            assert_eq!(
                r["leftover_keys_revoked"].as_array().unwrap().len(),
                1,
                "the killed run's unused key is revoked: {r}"
            );
        }
        converged(&fx, &p, &hostname);
    }

    // Settings the node does not show (no `get`, no `debug prefs`): the run
    // says what `--reset` changed is unknown, never that nothing changed.
    fx.state("no_get", "1");
    let r = rotated(&fx, &p, "rotate with unreadable settings");
    assert_eq!(r["settings_unknown"], true, "{r}");
    assert_eq!(r["settings_reset"], serde_json::json!([]), "{r}");
    std::fs::remove_file(fx.path("state/no_get")).unwrap();
    converged(&fx, &p, &hostname);

    // `tailscale up` fails on the node: the run waits out its deadline and
    // reports what `up` said (kept in a root-only log on the node, then
    // removed), not only that the key went unused.
    fx.state(
        "up_refuses",
        "backend error: CANARY-free refusal from control",
    );
    let out = rotate(&fx, &p, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "a refused re-auth must fail");
    assert!(
        stderr.contains("did not use the new key")
            && stderr.contains("backend error: CANARY-free refusal from control"),
        "{stderr}"
    );
    assert!(!fx.path("fs/run/clawprov-rotate.log").exists());
    std::fs::remove_file(fx.path("state/up_refuses")).unwrap();

    // The detach refused (sudo asks for a password before `setsid`): the run
    // fails naming it, and the key it wrote to the node is not left there
    // (the security issue's item 8).
    fx.sudo_refuses("/usr/bin/setsid *");
    let out = rotate(&fx, &p, &[]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "a refused detach must fail");
    assert!(stderr.contains("password is required"), "{stderr}");
    assert!(
        !fx.path("fs/run/clawprov-rotate.key").exists(),
        "the new key is left on the node after a failed detach"
    );
}

/// `up`, with server `id`'s node joining with `key` two seconds into it
/// (as a server still booting does), which must succeed: its JSON.
fn up_while_the_node_joins(fx: &HostFixture, p: &Project, id: i64, key: &str) -> serde_json::Value {
    let rerun = command(fx, p, &["up"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let joined = fx.tailscale_up(
        &format!("http://{}", p.sim.addr),
        &format!("server-{id}"),
        key,
    );
    assert!(
        joined.status.success(),
        "{}",
        String::from_utf8_lossy(&joined.stderr)
    );
    let out = rerun.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_up_killed_before_the_node_joined_is_finished_by_the_next_run() {
    let mut fx = HostFixture::start();
    let p = project(&mut fx).await;
    let hostname = fx.stack.tailscale.hostname.clone();
    // kill -9 once the server exists with its key, before the node joins.
    let mut child = command(&fx, &p, &["up"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let (id, user_data) = loop {
        let made = p.sim.sim.with(|w| {
            w.servers
                .iter()
                .find_map(|(id, s)| s.user_data.clone().map(|u| (*id, u)))
        });
        if let Some(m) = made {
            break m;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no server");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    let key = support::auth_key_in(&user_data).unwrap();
    let key_id = clawprov::tailscale::keys::key_id_of(&key)
        .unwrap()
        .to_string();

    // The next run sees the server and its still-valid key, and waits for
    // the node (which finishes booting and joins meanwhile).
    let v = up_while_the_node_joins(&fx, &p, id, &key);
    // BENCHMARKS.md quotes these.
    eprintln!(
        "up after a killed up (server standing, its key listed) requests: {}",
        v["stacks"][0]["requests"]
    );
    let t = &v["stacks"][0]["tailnet"];
    assert_eq!(
        t["leftover_keys_revoked"],
        serde_json::json!([key_id]),
        "{t}"
    );
    let devices = devices_named(&p, &hostname);
    assert_eq!(devices.len(), 1);
    assert!(devices[0].key_expiry_disabled);
    let k = p.sim.sim.with(|w| w.tailscale.key(&key_id)).unwrap();
    assert!(k.revoked.is_some() && k.uses == 1, "{k:?}");
    // And it was one server all along.
    assert_eq!(p.sim.sim.with(|w| w.servers.len()), 1);
}

/// The API may forget a used single-use key (404) instead of showing it
/// `invalid` (unconfirmed which): `up` and `rotate tailscale-key` take a
/// key that is gone as spent, and converge all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_and_rotate_take_a_forgotten_spent_key_as_spent() {
    let mut fx = HostFixture::start();
    let p = project(&mut fx).await;
    p.sim
        .sim
        .with(|w| w.tailscale.config.spent_keys = sim::tailscale::SpentKeys::NotFound);
    let hostname = fx.stack.tailscale.hostname.clone();
    let run = up_and_join(&fx, &p);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let key = &out["stacks"][0]["tailnet"]["key"];
    assert_eq!(key["consumed"], true, "{key}");
    assert_eq!(
        key["revoked"], false,
        "gone already, nothing to revoke: {key}"
    );
    converged(&fx, &p, &hostname);

    let r = rotated(&fx, &p, "rotate after a forgotten spent key");
    let new_key = r["new_key"].as_str().unwrap().to_string();
    let k = p.sim.sim.with(|w| w.tailscale.key(&new_key)).unwrap();
    assert_eq!(k.uses, 1, "the node used the new key");
    converged(&fx, &p, &hostname);
}

/// `auth: auth_key` with a key a person made: the OAuth client cannot see
/// it (404), so `plan` says it cannot check or revoke it, and `rotate
/// tailscale-key` never reports it revoked but says, naming the key, that
/// the user must revoke it in the admin console; the key stays valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_never_claims_a_users_key_revoked_and_says_what_to_do() {
    let mut fx = HostFixture::start();
    let p = project_with(&mut fx, "auth_key").await;
    let users = fx
        .vault
        .get("tailscale_auth_key")
        .unwrap()
        .expose()
        .to_string();
    let id = clawprov::tailscale::keys::key_id_of(&users)
        .unwrap()
        .to_string();
    let hostname = fx.stack.tailscale.hostname.clone();

    // plan's word on it.
    let out = command(&fx, &p, &["plan", "--offline"]).output().unwrap();
    let plan =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{plan}");
    for part in [
        format!("does not show key {id} (the vault's tailscale_auth_key) to this OAuth client"),
        "a key a person made".to_string(),
        format!("revoke it yourself in the Tailscale admin console (Settings -> Keys, key {id})"),
    ] {
        assert!(plan.contains(&part), "{part:?} in {plan}");
    }

    let run = up_and_join(&fx, &p);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.user_data_key.as_deref(), Some(users.as_str()));

    let check = |stdout: &str, stderr: &str| {
        let now = p.sim.sim.clock().now();
        let k = p.sim.sim.with(|w| w.tailscale.key(&id)).unwrap();
        assert!(
            k.is_valid(now) && k.revoked.is_none(),
            "the user's key is untouched: {k:?}"
        );
        for c in &fx.canaries {
            assert!(
                !stdout.contains(c.as_str()) && !stderr.contains(c.as_str()),
                "a canary leaked"
            );
        }
    };
    let out = rotate(&fx, &p, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &r["rotated"];
    assert_eq!(r["backend_state"], "Running");
    assert!(r["old_key_revoked"].is_null(), "never claimed revoked: {r}");
    let left = &r["old_key_not_revoked"];
    assert_eq!(left["id"], id.as_str(), "{r}");
    assert!(
        left["reason"]
            .as_str()
            .unwrap()
            .contains("to this OAuth client"),
        "{left}"
    );
    assert_eq!(
        left["action"],
        format!("if it is still valid, revoke it yourself in the Tailscale admin console: Settings -> Keys, key {id}").as_str()
    );
    check(&stdout, &stderr);
    converged(&fx, &p, &hostname);

    // Again, in human form: the same (a 404 is not "already revoked").
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args(["rotate", "tailscale-key"])
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "30"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("old key  {id} NOT revoked"))
            && stdout.contains(&format!("Settings -> Keys, key {id}")),
        "{stdout}"
    );
    assert!(!stdout.contains(&format!("{id} revoked")), "{stdout}");
    check(&stdout, &stderr);
}

/// `up --skip-host` on an `auth: oauth` stack stops before the join wait:
/// nothing would ever join the simulator, and a real server joins by
/// itself. The minted key is left valid (the server's bootstrap needs it)
/// and said so; the next `up` waits for the node and revokes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_skip_host_does_not_wait_for_the_join_and_the_next_up_finishes() {
    let mut fx = HostFixture::start();
    let p = project(&mut fx).await;
    let started = Instant::now();
    let out = command(&fx, &p, &["up", "--skip-host"]).output().unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        took < Duration::from_secs(120),
        "up --skip-host waited for a join: {took:?}"
    );
    let (id, user_data) = p
        .sim
        .sim
        .with(|w| {
            w.servers
                .iter()
                .find_map(|(id, s)| s.user_data.clone().map(|u| (*id, u)))
        })
        .expect("a server");
    let key = support::auth_key_in(&user_data).unwrap();
    let key_id = clawprov::tailscale::keys::key_id_of(&key)
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let said = v["stacks"][0]["tailnet"]["join_not_awaited"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        said.contains(&key_id) && said.contains("stays valid"),
        "{stdout}"
    );
    let now = p.sim.sim.clock().now();
    let k = p.sim.sim.with(|w| w.tailscale.key(&key_id)).unwrap();
    assert!(k.is_valid(now), "the server's key must stay usable: {k:?}");
    // The next up waits for the node (which finishes booting and joins
    // meanwhile), then revokes the key.
    let v = up_while_the_node_joins(&fx, &p, id, &key);
    assert_eq!(
        v["stacks"][0]["tailnet"]["leftover_keys_revoked"],
        serde_json::json!([key_id]),
        "{v}"
    );
    assert_eq!(p.sim.sim.with(|w| w.servers.len()), 1);
}
