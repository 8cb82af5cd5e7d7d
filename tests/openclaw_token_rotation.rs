//! What `clawprov rotate gateway-token` relies on, proven on the real
//! OpenClaw package (the pinned version, installed and started exactly as
//! tests/openclaw_contract.rs does it, by tests/openclaw_support:
//! `desired_files` for the env file and openclaw.json, the rendered unit's
//! `ExecStart` argv and environment).
//!
//! The rotation: a vault whose `gateway_token` is token B instead of A;
//! only the env file (`clawprov::host::ENV_FILE`) is rendered again (every
//! other delivered file is byte-identical), written in place 0600, and the
//! gateway restarted with the unit's argv and environment (the unit reads
//! the env file). Then, on loopback:
//!
//! - the four host-phase probes (`probe::probes`) pass with B, and
//!   `probe::retired` (A through Serve's headers) gets 401; A over
//!   WebSocket is refused, B taken;
//! - a CLI device (client `cli`, mode `cli`) paired with A before the
//!   rotation reconnects with its device token alone;
//! - a Control UI device (client `openclaw-control-ui`, mode `webchat`,
//!   browser Origin) paired with A is refused with its device token (its
//!   token was stamped with A's shared-auth generation), and is let in
//!   again with B;
//! - `devices list` (clawprov's own command, the token from the env file,
//!   none on argv) still lists both devices as paired;
//! - neither token appears in any log or file but the env file, nor in any
//!   process's argv.
//!
//! It pins OpenClaw's docs/gateway/configuration/hot-reload.md (lines
//! 266-269 in 2026.9.6):
//!
//! > Existing clients using the old shared credential must reconnect with
//! > the new credential; independently paired device-token clients remain
//! > connected. Browser device tokens derived from the old shared
//! > credential are revoked too.
//!
//! If a later OpenClaw changes any of it, this test fails and the rotation's
//! advice to the user (re-enter the token in the Control UI; CLI devices
//! keep working) must change with it.
//!
//! Under CI a missing npm or an unreachable registry fails the test.

mod openclaw_support;
mod render_fixture;
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clawprov::host::probe;
use clawprov::host::{desired_files, Account, CONFIG_FILE, ENV_FILE};
use clawprov::secrets::{Secret, Vault};
use clawprov::stack::Stack;
use openclaw_support::{
    account, answer, canary, canary_vault, deliver, device_list, fqdn, free_port, leaks,
    output_tail, probe_faults, process_tree, run_watched, server_layout, temp_home, wait_listening,
    ws_script, Unit,
};

/// The gateway of `stacks/example.yaml` in a temporary home, started and
/// restarted as its unit would be.
struct Gateway {
    home: tempfile::TempDir,
    logs: tempfile::TempDir,
    stack: Stack,
    account: Account,
    port: u16,
    fqdn: String,
    /// The rendered unit, as the service user's systemd runs it.
    unit: Unit,
    child: Option<Child>,
}

impl Gateway {
    /// Deliver every file `desired_files` renders for `vault`, each 0600.
    fn deploy(vault: &Vault) -> Gateway {
        let mut stack = render_fixture::example();
        assert!(
            stack.openclaw.channels.declared().is_empty(),
            "the example stack has no channel (no plugin to install)"
        );
        let port = free_port();
        stack.openclaw.port = port;
        let home = temp_home("cpt-rotate-");
        let logs = tempfile::tempdir().expect("logs");
        let account = account(&stack.host.service_user, home.path());
        deliver(&stack, vault, &account);
        // The server's layout (nvm's node, the release) for clawprov's own
        // `openclaw` commands (`plugins::with_gateway_env`).
        server_layout(&stack, home.path());
        Gateway {
            fqdn: fqdn(&stack),
            unit: Unit::of(&stack, home.path()),
            home,
            logs,
            stack,
            account,
            port,
            child: None,
        }
    }

    fn log(&self) -> PathBuf {
        self.logs.path().join("gateway.out")
    }

    /// `systemctl start`: the unit's argv, its environment and the env
    /// file as it is now; returns once it listens.
    fn start(&mut self) {
        assert!(self.child.is_none());
        let log = self.log();
        let child = self.child.insert(self.unit.start(&log));
        wait_listening(self.port, child, &log);
    }

    /// `systemctl stop` with KillMode=mixed, and the port free again
    /// before the next start.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        openclaw_support::stop(&mut child, Duration::from_secs(30));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "the old gateway still listens");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn output_tail(&self) -> String {
        output_tail(&self.log())
    }

    /// The four host-phase probes with `token`, each fault named.
    fn probe_faults(&self, token: &Secret) -> Vec<String> {
        probe_faults(self.port, &self.fqdn, token)
    }

    /// One WebSocket connect (tests/contract/openclaw_ws_rotation.mjs);
    /// `request` (credentials, the device's key) goes on stdin. A Control
    /// UI carries the build id of the package that serves it.
    fn ws(&self, mut request: serde_json::Value) -> serde_json::Value {
        if request["kind"] == "control-ui" {
            let package = fs::canonicalize(self.unit.openclaw()).expect("the openclaw entry point");
            let info = package.parent().unwrap().join("dist/build-info.json");
            let info: serde_json::Value = serde_json::from_slice(
                &fs::read(&info).unwrap_or_else(|e| panic!("{}: {e}", info.display())),
            )
            .unwrap();
            request["buildId"] = info["buildId"].clone();
        }
        ws_script(
            self.unit.node(),
            "openclaw_ws_rotation.mjs",
            &format!("ws://127.0.0.1:{}", self.port),
            request.to_string().as_bytes(),
        )
    }

    /// Each paired device's operator-token issuer, as the gateway stores it
    /// (the `device_pairing_paired` table of its SQLite state, read with
    /// the cached Node's `node:sqlite`; the tokens themselves are not read).
    fn token_issuers(&self) -> BTreeMap<String, serde_json::Value> {
        const READ: &str = r#"
            const { DatabaseSync } = require("node:sqlite");
            const db = new DatabaseSync(process.argv[1], { readOnly: true });
            const rows = db.prepare("SELECT device_id, tokens_json FROM device_pairing_paired").all();
            console.log(JSON.stringify(Object.fromEntries(rows.map((r) =>
              [r.device_id, JSON.parse(r.tokens_json)?.operator?.issuer ?? null]))));
        "#;
        let db = self.home.path().join(".openclaw/state/openclaw.sqlite");
        let out = Command::new(self.unit.node())
            .args(["-e", READ])
            .arg(&db)
            .stdin(Stdio::null())
            .output()
            .expect("node");
        assert!(
            out.status.success(),
            "reading {}: {}",
            db.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("issuers as JSON")
    }

    /// `clawprov openclaw -- ARGS` as clawprov builds it
    /// (`plugins::with_gateway_env`: the env file sourced by the server's
    /// shell), run as sudo would run it; argv of every process sampled
    /// meanwhile for `canaries`.
    fn openclaw(&self, args: &[&str], canaries: &[&str]) -> std::process::Output {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let cmd = clawprov::host::plugins::with_gateway_env(&self.stack, &self.account, &args);
        let out = run_watched(&cmd, self.home.path(), canaries);
        let mut log =
            fs::File::create(self.logs.path().join(format!("cli-{}.out", args.join("-")))).unwrap();
        log.write_all(&out.stdout).unwrap();
        log.write_all(&out.stderr).unwrap();
        out
    }

    /// Files under the home (but the env file), the logs and OpenClaw's
    /// /tmp/openclaw, and the gateway's argv, that hold one of `canaries`.
    fn leaks(&self, canaries: &[&str]) -> Vec<String> {
        let gateway = self.child.as_ref().expect("running").id();
        leaks(
            self.home.path(),
            self.logs.path(),
            &process_tree(gateway),
            canaries,
        )
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The shared-auth generation OpenClaw stamps on browser device tokens
/// (dist/ws-shared-generation-*.mjs): base64url(sha256("token\0" + token)).
fn shared_generation(token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("token\0{token}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

fn paired_ids(list: &serde_json::Value) -> Vec<String> {
    list["paired"]
        .as_array()
        .unwrap_or_else(|| panic!("a paired list: {list}"))
        .iter()
        .filter_map(|d| d["deviceId"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn rotating_the_gateway_token_keeps_cli_devices_and_revokes_control_ui_tokens() {
    let started = Instant::now();
    // The vault before and after the rotation: the same secrets but
    // gateway_token, every value a canary.
    let token_a = canary("gatewaytokenA");
    let token_b = canary("gatewaytokenB");
    // The vault keys the stack's gateway config names (as the contract test).
    let (vault_a, mut canaries) = canary_vault(&render_fixture::example(), &token_a);
    canaries.push(token_b.clone());
    let canaries: Vec<&str> = canaries.iter().map(String::as_str).collect();
    let mut vault_b = vault_a.clone();
    vault_b
        .set("gateway_token", Secret::new(token_b.as_str()))
        .unwrap();
    let a = Secret::new(token_a.as_str());
    let b = Secret::new(token_b.as_str());

    // 1. Deployed and started as `up` leaves it, with A.
    let mut gw = Gateway::deploy(&vault_a);
    gw.start();

    // 2. A is the gateway's token.
    let faults = gw.probe_faults(&a);
    assert!(
        faults.is_empty(),
        "with A: {faults:#?}\n{}",
        gw.output_tail()
    );

    // 3. Two devices pair on loopback with A (first-time pairing of a
    // loopback client with the shared token is approved automatically)
    // and get their device tokens.
    let cli = gw.ws(serde_json::json!({ "kind": "cli", "token": token_a }));
    assert_eq!(cli["outcome"], "ok", "the CLI device pairs with A: {cli}");
    let cli_token = cli["deviceToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the CLI device got a device token: {cli}"))
        .to_string();
    let ui = gw.ws(serde_json::json!({ "kind": "control-ui", "token": token_a }));
    assert_eq!(
        ui["outcome"], "ok",
        "the Control UI device pairs with A: {ui}"
    );
    let ui_token = ui["deviceToken"]
        .as_str()
        .unwrap_or_else(|| panic!("the Control UI device got a device token: {ui}"))
        .to_string();
    // Both device tokens work before the rotation.
    for (kind, dev, token) in [("cli", &cli, &cli_token), ("control-ui", &ui, &ui_token)] {
        let again = gw.ws(serde_json::json!({
            "kind": kind,
            "deviceToken": token,
            "privateKey": dev["privateKey"],
        }));
        assert_eq!(again["outcome"], "ok", "before the rotation: {again}");
        assert_eq!(again["method"], "device-token", "{again}");
    }

    // Why they will differ: the Control UI's token is stamped with A's
    // shared-auth generation, the CLI's carries no issuer.
    let issuers = gw.token_issuers();
    let cli_id = cli["deviceId"].as_str().unwrap();
    let ui_id = ui["deviceId"].as_str().unwrap();
    assert_eq!(issuers[cli_id], serde_json::Value::Null, "{issuers:?}");
    assert_eq!(
        issuers[ui_id],
        serde_json::json!({ "kind": "shared-gateway-auth", "generation": shared_generation(&token_a) }),
        "{issuers:?}"
    );

    // 4. The rotation: only the env file is rendered again, with B, written
    // in place (0600), and the gateway restarted.
    let before = desired_files(&gw.stack, &vault_a, &gw.account).unwrap();
    let after = desired_files(&gw.stack, &vault_b, &gw.account).unwrap();
    let env_path = gw.home.path().join(ENV_FILE).display().to_string();
    assert_eq!(before.len(), after.len());
    for (x, y) in before.iter().zip(&after) {
        assert_eq!(x.path, y.path);
        assert_eq!(
            x.expose_content() == y.expose_content(),
            x.path != env_path,
            "only the env file changes with the token: {}",
            x.path
        );
    }
    let env_file = after
        .iter()
        .find(|f| f.path == env_path)
        .expect("desired_files renders the env file");
    let config = gw.home.path().join(CONFIG_FILE);
    let config_before = fs::read(&config).unwrap();
    let tmp = format!("{env_path}.new");
    fs::write(&tmp, env_file.expose_content()).unwrap();
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).unwrap();
    fs::rename(&tmp, &env_path).unwrap();
    let restart = Instant::now();
    gw.stop();
    gw.start();

    // 5. B is the gateway's token; A is refused over HTTP (through Serve's
    // headers) and over WebSocket.
    let faults = gw.probe_faults(&b);
    assert!(
        faults.is_empty(),
        "with B: {faults:#?}\n{}",
        gw.output_tail()
    );
    let restarted_in = restart.elapsed();
    let retired = probe::retired(gw.port, &gw.fqdn, &a);
    let got = answer(&retired);
    assert_eq!(got, 401, "{}", probe::diagnose(&retired, got));
    let old = gw.ws(serde_json::json!({ "kind": "cli", "token": token_a }));
    assert_eq!(old["outcome"], "refused", "A over WebSocket: {old}");
    assert_eq!(
        old["code"], "AUTH_TOKEN_MISMATCH",
        "A over WebSocket: {old}"
    );
    let new = gw.ws(serde_json::json!({ "kind": "cli", "token": token_b }));
    assert_eq!(new["outcome"], "ok", "B over WebSocket: {new}");

    // 6. The CLI device reconnects with its device token alone; the
    // Control UI device's token, derived from A, is refused.
    let cli_after = gw.ws(serde_json::json!({
        "kind": "cli", "deviceToken": cli_token, "privateKey": cli["privateKey"],
    }));
    assert_eq!(
        cli_after["outcome"], "ok",
        "the CLI device after the rotation: {cli_after}"
    );
    assert_eq!(cli_after["method"], "device-token", "{cli_after}");
    let ui_after = gw.ws(serde_json::json!({
        "kind": "control-ui", "deviceToken": ui_token, "privateKey": ui["privateKey"],
    }));
    eprintln!("the Control UI device's token after the rotation: {ui_after}");
    assert_eq!(
        ui_after["outcome"], "refused",
        "the Control UI device after the rotation: {ui_after}"
    );
    assert_eq!(ui_after["code"], "AUTH_DEVICE_TOKEN_MISMATCH", "{ui_after}");
    assert!(
        ui_after["message"]
            .as_str()
            .is_some_and(|m| m.contains("device token mismatch")),
        "{ui_after}"
    );
    // The wire says only "device token mismatch" (the store's reason,
    // `issuer-generation-stale`, is not sent nor logged): the token is
    // the one accepted before the restart, still stamped with A's
    // generation, and the gateway now requires B's.
    assert_eq!(
        gw.token_issuers()[ui_id]["generation"],
        shared_generation(&token_a).as_str()
    );
    assert_ne!(shared_generation(&token_a), shared_generation(&token_b));
    // Both devices are still paired, the refused one too, by clawprov's
    // `openclaw` command (the new token from the env file).
    let list = device_list(&gw.openclaw(&["devices", "list", "--json"], &canaries));
    eprintln!("devices list after the rotation: {list}");
    let paired = paired_ids(&list);
    for id in [cli_id, ui_id] {
        assert!(
            paired.iter().any(|p| p == id),
            "{id} is still paired: {list}"
        );
    }

    // The user's way back: the Control UI with B, same device, is given a
    // new device token stamped with B's generation.
    let ui_b = gw.ws(serde_json::json!({
        "kind": "control-ui", "token": token_b, "privateKey": ui["privateKey"],
    }));
    assert_eq!(
        ui_b["outcome"], "ok",
        "the Control UI device with B: {ui_b}"
    );
    assert!(ui_b["deviceToken"].is_string(), "{ui_b}");
    assert_eq!(
        gw.token_issuers()[ui_id]["generation"],
        shared_generation(&token_b).as_str()
    );

    // The gateway did not take the token into its config.
    assert_eq!(
        fs::read(&config).unwrap(),
        config_before,
        "the gateway rewrote openclaw.json"
    );
    // 7. Neither token (nor any other vault value) in a log, a file but
    // the env file, or the gateway's argv.
    let leaks = gw.leaks(&canaries);
    assert!(leaks.is_empty(), "{leaks:#?}");
    eprintln!(
        "rotation contract: restart to settled in {:.1} s, whole test {:.1} s",
        restarted_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
