//! `rotate gateway-token`, `rotate ssh-key`, `rotate --due` and credential
//! ages, as a user runs them: the real binary against the Hetzner simulator
//! and the sshd fixture standing in for the node (tests/host_fixture: real
//! sshd, users, sudo and files; the gateway stand-in reads its token from
//! the env file at start, as OpenClaw does, and answers 401/200 on it).
//!
//! Each rotation is killed (SIGKILL, at the named point between two of its
//! steps: `CLAWPROV_TEST_KILL_AFTER`) after each step in turn, then run
//! again: the re-run finishes the job, and in between a credential in the
//! vault always works (the gateway takes one of its tokens; one of its SSH
//! keys logs in). After every rotation `plan` is a no-op. No canary (every
//! vault value, old and new) appears in anything clawprov printed.

mod host_fixture;
mod support;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};

use clawprov::secrets::{self, identity, Secret, SetAt, Unlock, Vault};
use host_fixture::project::{project, run_up, Project};
use host_fixture::HostFixture;

fn vault_path(fx: &HostFixture, p: &Project) -> std::path::PathBuf {
    p.stacks.join(format!("{}.secrets.age", fx.stack.name))
}

fn read_vault(fx: &HostFixture, p: &Project) -> Vault {
    let ids = identity::load(&p.identity).unwrap();
    secrets::read(&vault_path(fx, p), &Unlock::Identities(ids)).unwrap()
}

fn write_vault(fx: &HostFixture, p: &Project, vault: &Vault) {
    let r = [secrets::Recipient::parse(&p.recipient).unwrap()];
    secrets::write(&vault_path(fx, p), vault, &secrets::Lock::Recipients(&r)).unwrap();
}

/// `clawprov -s STACK --json --hcloud-endpoint SIM ARGS...`.
fn cmd(p: &Project, args: &[&str]) -> Command {
    let mut c = support::clawprov(p.home.path());
    c.current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(args)
        .stdin(Stdio::null());
    c
}

/// `rotate WHAT` aimed at the fixture's sshd, as `up` is in these tests.
fn rotate(fx: &HostFixture, p: &Project, what: &[&str]) -> Command {
    let mut c = cmd(p, &["rotate"]);
    c.args(what)
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "20"]);
    c
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Run `c`, which must succeed; its JSON.
fn ok_json(c: &mut Command, what: &str, seen: &mut Vec<String>) -> serde_json::Value {
    let o = c.output().unwrap();
    let (out, err) = text(&o);
    seen.push(out.clone());
    seen.push(err.clone());
    assert!(o.status.success(), "{what}: {out}\n{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{what}: {e}: {out}"))
}

/// Run `c` with the kill point set: it must die of SIGKILL there.
fn killed_at(c: &mut Command, point: &str, seen: &mut Vec<String>) {
    use std::os::unix::process::ExitStatusExt;
    let o = c.env("CLAWPROV_TEST_KILL_AFTER", point).output().unwrap();
    let (out, err) = text(&o);
    seen.push(out.clone());
    seen.push(err.clone());
    assert_eq!(
        o.status.signal(),
        Some(9),
        "rotate did not reach {point}: {:?}\n{out}\n{err}",
        o.status
    );
}

/// `plan` changes nothing: every step a no-op, nothing for the host.
fn plan_is_noop(p: &Project, context: &str, seen: &mut Vec<String>) {
    let plan = ok_json(&mut cmd(p, &["plan", "--offline"]), "plan", seen);
    let plan = &plan["plans"][0];
    let steps = plan["steps"].as_array().unwrap();
    assert!(
        steps.iter().all(|s| s["op"] == "no_op"),
        "{context}: plan is not a no-op: {plan}"
    );
    assert_eq!(
        plan["host"]["changes"],
        serde_json::json!([]),
        "{context}: {plan}"
    );
    assert!(plan["host"]["config"].is_null(), "{context}: {plan}");
    assert!(plan["host"]["env"].is_null(), "{context}: {plan}");
}

/// The gateway stand-in's answer to `token` (the probe's request).
fn gateway_status(fx: &HostFixture, token: &str) -> u16 {
    let o = Command::new("curl")
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .args(["-X", "POST", "-H", "@-"])
        .arg(format!("http://127.0.0.1:{}/tools/invoke", fx.gateway_port))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("Authorization: Bearer {token}\n").as_bytes())?;
            c.wait_with_output()
        })
        .expect("curl");
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Whether `key` logs in to the fixture as the admin.
async fn logs_in(fx: &HostFixture, key: &Secret) -> bool {
    let mut inputs = fx.inputs();
    inputs.known_hosts = fx.path("rotate-known-hosts");
    inputs.reach_deadline = std::time::Duration::from_secs(5);
    clawprov::host::login(&inputs, key, &clawprov::host::Silent)
        .await
        .is_ok()
}

/// What the fixture's node recorded: every command line, sudo's log and
/// the shims' log (scanned for canaries with clawprov's own output).
fn fixture_logs(fx: &HostFixture) -> [String; 3] {
    [
        fx.read("commands.log"),
        fx.read("sudo.log"),
        fx.read("shim.log"),
    ]
}

fn no_canary(seen: &[String], canaries: &[String]) {
    for c in canaries {
        for s in seen {
            assert!(!s.contains(c.as_str()), "a canary leaked: {s}");
        }
    }
}

/// Every value the vault has held (the canaries of a scan).
fn values(v: &Vault, into: &mut Vec<String>) {
    for k in v.keys() {
        let value = v.get(k).unwrap();
        if k.ends_with("ssh_private_key") {
            into.extend(support::key_canaries(value));
        } else {
            into.push(value.expose().to_string());
        }
    }
}

fn mutating_requests(p: &Project) -> Vec<String> {
    p.sim
        .request_log()
        .iter()
        .filter(|r| r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

async fn deployed() -> (HostFixture, Project) {
    let fx = HostFixture::start();
    let p = project(&fx).await;
    let (code, out, err) = run_up(&fx, p.home.path(), &p.sim.endpoint(), &p.stack);
    assert_eq!(code, 0, "up: {out}\n{err}");
    (fx, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_gateway_token_survives_a_kill_at_every_step() {
    let (fx, p) = deployed().await;
    let mut seen = vec![];
    let mut canaries = fx.canaries.clone();
    plan_is_noop(&p, "after up", &mut seen);

    // --plan changes nothing: no mutating request, the vault as it was.
    let before = std::fs::read(vault_path(&fx, &p)).unwrap();
    p.sim.sim.clear_request_log();
    let planned = ok_json(
        &mut rotate(&fx, &p, &["gateway-token", "--plan"]),
        "--plan",
        &mut seen,
    );
    assert_eq!(planned["rotate"], "rotate gateway-token", "{planned}");
    assert!(mutating_requests(&p).is_empty());
    assert_eq!(std::fs::read(vault_path(&fx, &p)).unwrap(), before);

    // A rotation: the new token works, the old one is refused, the vault
    // holds only the new one.
    let old = read_vault(&fx, &p).get("gateway_token").unwrap().clone();
    assert_eq!(gateway_status(&fx, old.expose()), 200);
    p.sim.sim.clear_request_log();
    let r = ok_json(
        &mut rotate(&fx, &p, &["gateway-token"]),
        "rotate",
        &mut seen,
    );
    eprintln!(
        "rotate gateway-token requests: hetzner {} ({} mutating)",
        p.sim.request_log().len(),
        mutating_requests(&p).len()
    );
    assert!(
        mutating_requests(&p).is_empty(),
        "{:?}",
        mutating_requests(&p)
    );
    let r = &r["rotated"];
    assert_eq!(r["resumed"], false, "{r}");
    assert_eq!(r["delivered"], true, "{r}");
    assert_eq!(r["service"], "restarted", "{r}");
    assert_eq!(
        r["probes"], 5,
        "four probes and the old token's refusal: {r}"
    );
    assert!(r["paired_devices"].as_str().unwrap().contains("Control UI"));
    let v = read_vault(&fx, &p);
    values(&v, &mut canaries);
    canaries.push(old.expose().to_string());
    let new = v.get("gateway_token").unwrap().clone();
    assert_ne!(new, old);
    assert!(v.get("pending_gateway_token").is_none());
    assert_eq!(gateway_status(&fx, new.expose()), 200);
    assert_eq!(gateway_status(&fx, old.expose()), 401);
    assert_eq!(
        v.set_at("gateway_token")
            .unwrap()
            .age_days(secrets::record::now()),
        0
    );
    plan_is_noop(&p, "after rotate gateway-token", &mut seen);

    // A gateway that does not come up with the new token: the old env file
    // goes back, the gateway runs with the old token again, the vault keeps
    // the old token and the new one as pending; once the gateway would
    // take it, the re-run finishes with that same pending token.
    let current = read_vault(&fx, &p).get("gateway_token").unwrap().clone();
    fx.state("only-token", current.expose());
    let o = rotate(&fx, &p, &["gateway-token"]).output().unwrap();
    let (out, err) = text(&o);
    seen.push(out.clone());
    seen.push(err.clone());
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("rolled back"), "{err}");
    let v = read_vault(&fx, &p);
    values(&v, &mut canaries);
    assert_eq!(v.get("gateway_token"), Some(&current));
    let pending = v
        .get("pending_gateway_token")
        .expect("kept as pending")
        .clone();
    assert_eq!(gateway_status(&fx, current.expose()), 200);
    assert_eq!(gateway_status(&fx, pending.expose()), 401);
    std::fs::remove_file(fx.path("state/only-token")).unwrap();
    let r = ok_json(
        &mut rotate(&fx, &p, &["gateway-token"]),
        "after the rollback",
        &mut seen,
    );
    assert_eq!(r["rotated"]["resumed"], true, "{r}");
    let v = read_vault(&fx, &p);
    assert_eq!(v.get("gateway_token"), Some(&pending));
    assert_eq!(gateway_status(&fx, pending.expose()), 200);
    assert_eq!(gateway_status(&fx, current.expose()), 401);

    // kill -9 after each step, then run again.
    for point in [
        "gateway-token:pending",
        "gateway-token:delivered",
        "gateway-token:swapped",
        "gateway-token:saved",
    ] {
        let was = read_vault(&fx, &p).get("gateway_token").unwrap().clone();
        killed_at(&mut rotate(&fx, &p, &["gateway-token"]), point, &mut seen);
        let v = read_vault(&fx, &p);
        values(&v, &mut canaries);
        // Some token in the vault works at this point.
        let works: Vec<&str> = ["gateway_token", "pending_gateway_token"]
            .into_iter()
            .filter(|k| {
                v.get(k)
                    .is_some_and(|t| gateway_status(&fx, t.expose()) == 200)
            })
            .collect();
        assert!(
            !works.is_empty(),
            "after a kill at {point}: no vault token works"
        );
        match point {
            // The new file is delivered, but the gateway still runs with
            // the old one: the re-run restarts it.
            "gateway-token:pending" | "gateway-token:delivered" => {
                assert_eq!(works, ["gateway_token"])
            }
            "gateway-token:swapped" => assert_eq!(works, ["pending_gateway_token"]),
            _ => assert!(v.get("pending_gateway_token").is_none()),
        }
        let r = ok_json(
            &mut rotate(&fx, &p, &["gateway-token"]),
            &format!("re-run after a kill at {point}"),
            &mut seen,
        );
        assert_eq!(
            r["rotated"]["resumed"],
            point != "gateway-token:saved",
            "{point}: {r}"
        );
        let v = read_vault(&fx, &p);
        values(&v, &mut canaries);
        let now = v.get("gateway_token").unwrap();
        assert!(v.get("pending_gateway_token").is_none(), "{point}");
        assert_eq!(gateway_status(&fx, now.expose()), 200, "{point}");
        assert_eq!(gateway_status(&fx, was.expose()), 401, "{point}");
        plan_is_noop(&p, &format!("after the re-run at {point}"), &mut seen);
    }
    // The env file on the node holds only the vault's token, and no copy
    // of the old file is left beside it.
    let env = fx.service_home().join(".config/openclaw");
    let names: Vec<String> = std::fs::read_dir(&env)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["gateway.env"], "{names:?}");
    seen.extend(fixture_logs(&fx));
    no_canary(&seen, &canaries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_ssh_key_never_locks_out_and_hetzner_follows() {
    let (fx, p) = deployed().await;
    let mut seen = vec![];
    let mut canaries = fx.canaries.clone();
    let authorized = |fx: &HostFixture| {
        clawprov::host::authorized_keys::keys_in(
            &std::fs::read_to_string(format!("/home/{}/.ssh/authorized_keys", fx.admin)).unwrap(),
        )
    };
    let hetzner_keys = |p: &Project| -> Vec<String> {
        p.sim.sim.with(|w| {
            w.ssh_keys
                .values()
                .map(|k| clawprov::host::authorized_keys::key_material(&k.public_key).unwrap())
                .collect()
        })
    };
    let public = |k: &Secret| {
        clawprov::host::authorized_keys::key_material(&secrets::public_key_of(k).unwrap()).unwrap()
    };
    let converged = |fx: &HostFixture, p: &Project, context: &str| -> Vault {
        let v = read_vault(fx, p);
        let key = v.get("ssh_private_key").unwrap();
        assert!(v.get("pending_ssh_private_key").is_none(), "{context}");
        assert!(v.record().retiring_ssh_key.is_none(), "{context}");
        assert_eq!(authorized(fx), [public(key)], "{context}");
        assert_eq!(hetzner_keys(p), [public(key)], "{context}");
        v
    };

    let old = read_vault(&fx, &p).get("ssh_private_key").unwrap().clone();
    p.sim.sim.clear_request_log();
    let planned = ok_json(
        &mut rotate(&fx, &p, &["ssh-key", "--plan"]),
        "--plan",
        &mut seen,
    );
    assert!(planned["plan"].as_array().unwrap().len() >= 5, "{planned}");
    assert!(mutating_requests(&p).is_empty());

    p.sim.sim.clear_request_log();
    let r = ok_json(
        &mut rotate(&fx, &p, &["ssh-key"]),
        "rotate ssh-key",
        &mut seen,
    );
    eprintln!(
        "rotate ssh-key requests: hetzner {} ({} mutating: {:?})",
        p.sim.request_log().len(),
        mutating_requests(&p).len(),
        mutating_requests(&p)
    );
    assert_eq!(
        mutating_requests(&p).len(),
        2,
        "delete the old SSH key, create the new: {:?}",
        mutating_requests(&p)
    );
    let v = converged(&fx, &p, "after rotate ssh-key");
    values(&v, &mut canaries);
    canaries.extend(support::key_canaries(&old));
    let new = v.get("ssh_private_key").unwrap().clone();
    assert_eq!(r["rotated"]["new_public_key"], public(&new), "{r}");
    assert_eq!(r["rotated"]["old_public_key"], public(&old), "{r}");
    assert!(logs_in(&fx, &new).await);
    assert!(!logs_in(&fx, &old).await, "the old key still logs in");
    plan_is_noop(&p, "after rotate ssh-key", &mut seen);

    for point in [
        "ssh-key:pending",
        "ssh-key:added",
        "ssh-key:proven",
        "ssh-key:promoted",
        "ssh-key:node",
        "ssh-key:hetzner-deleted",
        "ssh-key:hetzner",
    ] {
        let was = read_vault(&fx, &p).get("ssh_private_key").unwrap().clone();
        killed_at(&mut rotate(&fx, &p, &["ssh-key"]), point, &mut seen);
        let v = read_vault(&fx, &p);
        values(&v, &mut canaries);
        // Never a lock-out: a key the vault holds logs in.
        let mut works = vec![];
        for k in ["ssh_private_key", "pending_ssh_private_key"] {
            if let Some(key) = v.get(k) {
                if logs_in(&fx, key).await {
                    works.push(k);
                }
            }
        }
        assert!(
            works.contains(&"ssh_private_key"),
            "after a kill at {point}: {works:?}"
        );
        let r = ok_json(
            &mut rotate(&fx, &p, &["ssh-key"]),
            &format!("re-run after a kill at {point}"),
            &mut seen,
        );
        // Every point is before the last step (the retiring record cleared).
        assert_eq!(r["rotated"]["resumed"], true, "{point}: {r}");
        let v = converged(&fx, &p, &format!("re-run after a kill at {point}"));
        values(&v, &mut canaries);
        assert!(logs_in(&fx, v.get("ssh_private_key").unwrap()).await);
        assert!(
            !logs_in(&fx, &was).await,
            "{point}: the replaced key logs in"
        );
        plan_is_noop(&p, &format!("after the re-run at {point}"), &mut seen);
    }
    // `up` after it all: nothing to do on the node's keys.
    let (code, out, err) = run_up(&fx, p.home.path(), &p.sim.endpoint(), &p.stack);
    seen.push(out.clone());
    seen.push(err.clone());
    assert_eq!(code, 0, "up after the rotations: {out}\n{err}");
    converged(&fx, &p, "after up");
    seen.extend(fixture_logs(&fx));
    no_canary(&seen, &canaries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_age_credentials_fail_verify_until_rotate_due() {
    let (fx, p) = deployed().await;
    let mut seen = vec![];
    let mut canaries = fx.canaries.clone();
    let day = 86_400;
    let now = secrets::record::now();
    let mut v = read_vault(&fx, &p);
    v.date(
        "gateway_token",
        SetAt {
            at: now - 91 * day,
            first_seen: false,
        },
    );
    v.date(
        "ssh_private_key",
        SetAt {
            at: now - 400 * day,
            first_seen: false,
        },
    );
    v.date(
        "hcloud_token",
        SetAt {
            at: now - 1000 * day,
            first_seen: true,
        },
    );
    write_vault(&fx, &p, &v);
    // hcloud_token gets a maximum too: it needs the user.
    let stack = std::fs::read_to_string(&p.stack).unwrap();
    std::fs::write(
        &p.stack,
        format!("{stack}rotation:\n  hcloud_token: 365d\n"),
    )
    .unwrap();

    let verify = |seen: &mut Vec<String>| -> (bool, BTreeMap<String, (String, String)>) {
        let o = cmd(&p, &["verify", "--only", "secrets"]).output().unwrap();
        let (out, err) = text(&o);
        seen.push(out.clone());
        seen.push(err);
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        (o.status.success(), support::checks_by_id(&j))
    };
    let (passed, checks) = verify(&mut seen);
    assert!(!passed);
    let (status, detail) = &checks["secrets.age.gateway_token"];
    assert_eq!(status, "fail", "{detail}");
    assert!(
        detail.contains("91 days") && detail.contains("max 90"),
        "{detail}"
    );
    assert!(detail.contains("clawprov rotate gateway-token"), "{detail}");
    assert_eq!(checks["secrets.age.ssh_private_key"].0, "fail");
    let (status, detail) = &checks["secrets.age.hcloud_token"];
    assert_eq!(status, "fail", "{detail}");
    assert!(detail.contains("first opened"), "{detail}");
    assert!(detail.contains("rotate hcloud-token"), "{detail}");
    let (status, detail) = &checks["secrets.age.telegram_bot_token"];
    assert_eq!(status, "pass", "{detail}");
    assert!(detail.contains("no maximum age"), "{detail}");

    // status shows every credential's age.
    let s = ok_json(&mut cmd(&p, &["status"]), "status", &mut seen);
    let creds = s["stacks"][0]["credentials"].as_array().unwrap();
    let due: Vec<&str> = creds
        .iter()
        .filter(|c| c["due"] == true)
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    assert_eq!(due, ["gateway_token", "hcloud_token", "ssh_private_key"]);

    // --due --plan changes nothing and names both kinds.
    let before = std::fs::read(vault_path(&fx, &p)).unwrap();
    let planned = ok_json(
        &mut rotate(&fx, &p, &["--due", "--plan"]),
        "--due --plan",
        &mut seen,
    );
    let steps = planned["plan"].to_string();
    assert!(
        steps.contains("rotate gateway-token") && steps.contains("rotate ssh-key"),
        "{steps}"
    );
    assert!(steps.contains("needs you, hcloud_token"), "{steps}");
    assert_eq!(std::fs::read(vault_path(&fx, &p)).unwrap(), before);

    // --due: the two clawprov rotates itself, in order; the Hetzner token
    // listed for the user.
    let r = ok_json(&mut rotate(&fx, &p, &["--due"]), "rotate --due", &mut seen);
    let rotated: Vec<&str> = r["rotated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    assert_eq!(rotated, ["gateway_token", "ssh_private_key"], "{r}");
    assert_eq!(r["needs_you"][0]["key"], "hcloud_token", "{r}");
    let v = read_vault(&fx, &p);
    values(&v, &mut canaries);
    let (passed, checks) = verify(&mut seen);
    assert!(!passed, "the Hetzner token is still over age");
    assert_eq!(checks["secrets.age.gateway_token"].0, "pass");
    assert_eq!(checks["secrets.age.ssh_private_key"].0, "pass");
    // The user's part: `off` (or a new token) and verify passes.
    let stack = std::fs::read_to_string(&p.stack).unwrap();
    std::fs::write(
        &p.stack,
        stack.replace("hcloud_token: 365d", "hcloud_token: off"),
    )
    .unwrap();
    let (passed, _) = verify(&mut seen);
    assert!(passed);
    plan_is_noop(&p, "after rotate --due", &mut seen);

    // A bad maximum is bad input with its line.
    std::fs::write(
        &p.stack,
        stack.replace("hcloud_token: 365d", "hcloud_token: 12w"),
    )
    .unwrap();
    let o = cmd(&p, &["verify", "--only", "secrets"]).output().unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let line = stack.lines().count();
    assert!(
        err.contains("rotation.hcloud_token") && err.contains(&format!(":{line}")),
        "{err}"
    );
    no_canary(&seen, &canaries);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_model_key_is_planned_by_name_and_redelivered_by_up() {
    let (fx, p) = deployed().await;
    let mut seen = vec![];
    plan_is_noop(&p, "after up", &mut seen);
    let key = clawprov::host::gateway_secrets(&fx.stack)
        .into_iter()
        .find(|k| k != "gateway_token" && fx.vault.get(k).is_some())
        .expect("the stack's gateway takes a model key");
    let fresh = format!("CANARY-rotated-{key}-{:08x}", rand::random::<u32>());
    let o = support::output_with_stdin(
        cmd(&p, &["secrets", "set", &key]).stdin(Stdio::piped()),
        Some(&format!("{fresh}\n")),
    );
    assert!(o.status.success(), "{}", text(&o).1);
    let plan = ok_json(&mut cmd(&p, &["plan", "--offline"]), "plan", &mut seen);
    let env = &plan["plans"][0]["host"]["env"];
    assert_eq!(env["changed"], serde_json::json!([key]), "{env}");
    assert!(
        env["reason"]
            .as_str()
            .unwrap()
            .contains("restart the gateway"),
        "{env}"
    );
    assert!(!plan.to_string().contains(&fresh));
    // up delivers it and restarts the gateway; then nothing is left to do.
    let (code, out, err) = run_up(&fx, p.home.path(), &p.sim.endpoint(), &p.stack);
    seen.push(out.clone());
    seen.push(err.clone());
    assert_eq!(code, 0, "{out}\n{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let host = &r["stacks"][0]["host"]["report"];
    assert_eq!(host["service"], "restarted", "{host}");
    let env_file = fx.service_home().join(".config/openclaw/gateway.env");
    assert!(std::fs::read_to_string(env_file).unwrap().contains(&fresh));
    plan_is_noop(&p, "after up", &mut seen);
    let mut canaries = fx.canaries.clone();
    canaries.push(fresh);
    no_canary(&seen, &canaries);
}

/// A vault from before dates were recorded is dated once, at its first
/// open, and its ages say they count from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_without_dates_counts_from_its_first_open() {
    let fx = HostFixture::start();
    let p = project(&fx).await;
    // The vault as an earlier clawprov wrote it: the same entries, no
    // record (an empty record is not written).
    let mut v = read_vault(&fx, &p);
    *v.record_mut() = secrets::Record::default();
    write_vault(&fx, &p, &v);
    assert!(read_vault(&fx, &p).set_at("gateway_token").is_none());
    let mut seen = vec![];
    let s = ok_json(&mut cmd(&p, &["status"]), "status", &mut seen);
    let creds = s["stacks"][0]["credentials"].as_array().unwrap();
    assert!(creds
        .iter()
        .all(|c| c["counted_from_first_open"] == true && c["age_days"] == 0));
    // Recorded once: the next open reads the same date.
    let dated = read_vault(&fx, &p);
    let at = dated.set_at("gateway_token").unwrap();
    assert!(at.first_seen);
    ok_json(&mut cmd(&p, &["status"]), "status", &mut seen);
    assert_eq!(read_vault(&fx, &p).set_at("gateway_token"), Some(at));
    no_canary(&seen, &fx.canaries);
}
