//! What `clawprov rotate gateway-token` relies on, proven on the real
//! OpenClaw package (the pinned version, installed and started exactly as
//! tests/openclaw_contract.rs does it: `desired_files` for the env file and
//! openclaw.json, the rendered unit's `ExecStart` argv and environment).
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

mod render_fixture;
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clawprov::host::probe::{self, Probe};
use clawprov::host::{desired_files, Account, CONFIG_FILE, ENV_FILE, LOG_FILE};
use clawprov::secrets::{Secret, Vault};
use clawprov::stack::{Stack, DEFAULT_NODE_VERSION, DEFAULT_OPENCLAW_VERSION};

const UNIT_PATH: &str = "/usr/local/share/clawprov/clawprov-gateway.service";

// ---- Copied from tests/openclaw_contract.rs (test files share no private
// fns): node_dir, free_port, id, unit_lines, read_env_file, all_cmdlines,
// files_under, and the probe runner (Gateway::answer/run_probe there).

/// The cached node directory, built once per test binary.
fn node_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        support::require_tool("npm", "npm");
        support::require_tool("flock", "util-linux");
        let script = support::repo_dir().join("tests/contract/openclaw-setup.sh");
        let out = Command::new("bash")
            .arg(&script)
            .args([DEFAULT_NODE_VERSION, DEFAULT_OPENCLAW_VERSION])
            .stderr(Stdio::inherit())
            .output()
            .expect("run openclaw-setup.sh");
        assert!(
            out.status.success(),
            "openclaw-setup.sh failed: the real Node {DEFAULT_NODE_VERSION} and OpenClaw \
             {DEFAULT_OPENCLAW_VERSION} must come from the npm registry"
        );
        let dir = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .expect("setup prints the node directory")
            .to_string();
        PathBuf::from(dir)
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn id(flag: &str) -> u32 {
    let out = Command::new("id").arg(flag).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}

/// The rendered unit's `ExecStart` argv and `Environment=` pairs.
fn unit_lines(stack: &Stack) -> (Vec<String>, Vec<(String, String)>, String) {
    let doc = render_fixture::parse(render_fixture::render_embedded(stack).expose());
    let unit = render_fixture::file(&doc, UNIT_PATH).content;
    let mut exec = Vec::new();
    let mut env = Vec::new();
    let mut env_file = String::new();
    for line in unit.lines() {
        if let Some(rest) = line.strip_prefix("ExecStart=") {
            exec = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = line.strip_prefix("Environment=") {
            let (k, v) = rest.split_once('=').expect("Environment=K=V");
            env.push((k.to_string(), v.to_string()));
        } else if let Some(rest) = line.strip_prefix("EnvironmentFile=") {
            env_file = rest.to_string();
        }
    }
    assert!(
        !exec.is_empty(),
        "no ExecStart in the rendered unit:\n{unit}"
    );
    (exec, env, env_file)
}

/// Reads a systemd EnvironmentFile the way clawprov writes it: `K='V'` lines.
fn read_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("K=V");
            (k.to_string(), v.trim_matches('\'').to_string())
        })
        .collect()
}

/// Every process's argv right now, as `/proc/*/cmdline` has it.
fn all_cmdlines() -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(bytes) = fs::read(entry.path().join("cmdline")) {
            out.push((pid, String::from_utf8_lossy(&bytes).replace('\0', " ")));
        }
    }
    out
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// A probe's command, run here as the host phase runs it on the server
/// (the admin user's shell, the header on stdin).
fn run_probe(probe: &Probe) -> u16 {
    let line = probe.command.line().expect("probe line");
    let mut child = Command::new("sh")
        .args(["-c", &line])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    child.stdin.take().unwrap().write_all(&probe.stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    probe::status_of(&String::from_utf8_lossy(&out.stdout)).unwrap_or(0)
}

/// A probe's answer once the gateway has settled (5xx while it starts),
/// as `probe::check` waits for it.
fn answer(probe: &Probe) -> u16 {
    let deadline = Instant::now() + probe::SETTLE;
    loop {
        let got = run_probe(probe);
        if !probe::starting(got) || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

// ---- End of the copy.

fn canary(name: &str) -> String {
    format!("CANARY{name}{:016x}", rand::random::<u64>())
}

/// The gateway of `stacks/example.yaml` in a temporary home, started and
/// restarted as its unit would be.
struct Gateway {
    home: tempfile::TempDir,
    logs: tempfile::TempDir,
    stack: Stack,
    account: Account,
    port: u16,
    fqdn: String,
    /// The unit's ExecStart, the nvm path mapped onto the cache.
    exec: Vec<String>,
    /// The unit's `Environment=` lines plus what a systemd user manager
    /// sets; the env file is added at each start.
    unit_env: BTreeMap<String, String>,
    child: Option<Child>,
}

impl Gateway {
    /// Deliver every file `desired_files` renders for `vault`, each 0600.
    fn deploy(vault: &Vault) -> Gateway {
        let node_dir = node_dir();
        let mut stack = render_fixture::example();
        assert!(
            stack.openclaw.channels.declared().is_empty(),
            "the example stack has no channel (no plugin to install)"
        );
        let port = free_port();
        stack.openclaw.port = port;
        let service = stack.host.service_user.clone();
        let home = tempfile::Builder::new()
            .prefix("cpt-rotate-")
            .tempdir()
            .expect("home");
        fs::set_permissions(home.path(), fs::Permissions::from_mode(0o750)).unwrap();
        let logs = tempfile::tempdir().expect("logs");
        let account = Account {
            name: service.clone(),
            uid: id("-u"),
            gid: id("-g"),
            home: home.path().display().to_string(),
        };
        for file in desired_files(&stack, vault, &account).expect("host files") {
            for dir in &file.dirs {
                fs::create_dir_all(dir).unwrap();
                fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
            }
            fs::write(&file.path, file.expose_content()).unwrap();
            fs::set_permissions(&file.path, fs::Permissions::from_mode(0o600)).unwrap();
        }

        let (exec, env, env_file) = unit_lines(&stack);
        assert_eq!(
            env_file,
            format!("%h/{ENV_FILE}"),
            "the unit reads the env file the host phase delivers"
        );
        let server_node_dir = format!("/home/{service}/.nvm/versions/node/v{}", stack.node.version);
        let server_release = clawprov::host::Release::of(&stack).dir(&format!("/home/{service}"));
        let release = node_dir.parent().unwrap().join("release");
        let map = |s: &str| {
            s.replace(&server_node_dir, &node_dir.display().to_string())
                .replace(&server_release, &release.display().to_string())
        };
        let exec = exec.iter().map(|w| map(w)).collect();
        // systemd expands the `%h` specifier in Environment= lines.
        let home_str = home.path().display().to_string();
        let mut unit_env: BTreeMap<String, String> = env
            .into_iter()
            .map(|(k, v)| (k, map(&v).replace("%h", &home_str)))
            .collect();
        unit_env.insert("HOME".into(), home.path().display().to_string());
        unit_env.insert("USER".into(), service.clone());
        unit_env.insert("LOGNAME".into(), service.clone());

        // The server's layout (nvm's node, the release) for clawprov's own
        // `openclaw` commands (`plugins::with_gateway_env`).
        let nvm_node = home
            .path()
            .join(format!(".nvm/versions/node/v{}", stack.node.version));
        fs::create_dir_all(nvm_node.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(node_dir, &nvm_node).unwrap();
        let release_link = home.path().join(
            clawprov::host::Release::of(&stack)
                .dir("")
                .trim_start_matches('/'),
        );
        fs::create_dir_all(release_link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&release, &release_link).unwrap();

        Gateway {
            fqdn: format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet),
            home,
            logs,
            stack,
            account,
            port,
            exec,
            unit_env,
            child: None,
        }
    }

    /// `systemctl start`: the unit's argv, its environment and the env
    /// file as it is now; returns once it listens.
    fn start(&mut self) {
        assert!(self.child.is_none());
        let mut env = self.unit_env.clone();
        let text = fs::read_to_string(self.home.path().join(ENV_FILE)).unwrap();
        env.extend(read_env_file(&text));
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.logs.path().join("gateway.out"))
            .unwrap();
        let child = Command::new(&self.exec[0])
            .args(&self.exec[1..])
            .env_clear()
            .envs(&env)
            .current_dir(self.home.path())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start the gateway");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Ok(Some(status)) = self.child.as_mut().unwrap().try_wait() {
                panic!("the gateway exited ({status}):\n{}", self.output_tail());
            }
            assert!(
                Instant::now() < deadline,
                "the gateway did not listen on 127.0.0.1:{} within 120 s:\n{}",
                self.port,
                self.output_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `systemctl stop` with KillMode=mixed: SIGTERM to the main process,
    /// SIGKILL to what is left of its group.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", "--", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        let _ = child.wait();
        // The port is free again before the next start.
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "the old gateway still listens");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn output_tail(&self) -> String {
        let text = fs::read_to_string(self.logs.path().join("gateway.out")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// The four host-phase probes with `token`, each fault named.
    fn probe_faults(&self, token: &Secret) -> Vec<String> {
        probe::probes(self.port, &self.fqdn, token)
            .iter()
            .filter_map(|p| {
                let got = answer(p);
                (got != p.expect).then(|| probe::diagnose(p, got))
            })
            .collect()
    }

    /// PIDs of the gateway and every process it started.
    fn process_tree(&self) -> Vec<u32> {
        let mut tree = vec![self.child.as_ref().expect("running").id()];
        let mut grew = true;
        while grew {
            grew = false;
            for entry in fs::read_dir("/proc").unwrap().flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                    continue;
                };
                let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                let ppid = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                    .and_then(|p| p.parse::<u32>().ok());
                if ppid.is_some_and(|p| tree.contains(&p)) && !tree.contains(&pid) {
                    tree.push(pid);
                    grew = true;
                }
            }
        }
        tree
    }

    /// One WebSocket connect (tests/contract/openclaw_ws_rotation.mjs);
    /// `request` (credentials, the device's key) goes on stdin. A Control
    /// UI carries the build id of the package that serves it.
    fn ws(&self, mut request: serde_json::Value) -> serde_json::Value {
        if request["kind"] == "control-ui" {
            let package = fs::canonicalize(&self.exec[1]).expect("the openclaw entry point");
            let info = package.parent().unwrap().join("dist/build-info.json");
            let info: serde_json::Value = serde_json::from_slice(
                &fs::read(&info).unwrap_or_else(|e| panic!("{}: {e}", info.display())),
            )
            .unwrap();
            request["buildId"] = info["buildId"].clone();
        }
        let script = support::repo_dir().join("tests/contract/openclaw_ws_rotation.mjs");
        let mut child = Command::new(&self.exec[0])
            .arg(script)
            .arg(format!("ws://127.0.0.1:{}", self.port))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("ws client");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("ws client output: {e}: {:?}", out.stdout))
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
        let out = Command::new(&self.exec[0])
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
        let argv = cmd.argv();
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .env_clear()
            .current_dir(self.home.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the openclaw command");
        let mut samples = 0;
        let mut leaks = Vec::new();
        while child.try_wait().unwrap().is_none() {
            for (pid, cmdline) in all_cmdlines() {
                if canaries.iter().any(|c| cmdline.contains(c)) {
                    leaks.push(format!("pid {pid}: {cmdline}"));
                }
            }
            samples += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = child.wait_with_output().unwrap();
        assert!(leaks.is_empty(), "a secret in argv: {leaks:#?}");
        assert!(
            samples > 3,
            "the scan ran while the CLI did ({samples} samples)"
        );
        let mut log =
            fs::File::create(self.logs.path().join(format!("cli-{}.out", args.join("-")))).unwrap();
        log.write_all(&out.stdout).unwrap();
        log.write_all(&out.stderr).unwrap();
        out
    }

    /// Files under the home (but the env file), the logs and OpenClaw's
    /// /tmp/openclaw, and the gateway's argv, that hold one of `canaries`.
    fn leaks(&self, canaries: &[&str]) -> Vec<String> {
        let mut files = Vec::new();
        files_under(self.home.path(), &mut files);
        files_under(self.logs.path(), &mut files);
        files_under(Path::new("/tmp/openclaw"), &mut files);
        let env_file = self.home.path().join(ENV_FILE);
        assert!(
            files.len() > 3 && files.contains(&self.home.path().join(LOG_FILE)),
            "the scan sees OpenClaw's log: {files:?}"
        );
        let mut leaks = Vec::new();
        for file in files.iter().filter(|f| **f != env_file) {
            let text = String::from_utf8_lossy(&fs::read(file).unwrap_or_default()).to_string();
            if canaries.iter().any(|c| text.contains(c)) {
                leaks.push(format!("{} holds a canary", file.display()));
            }
        }
        for pid in self.process_tree() {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let text = String::from_utf8_lossy(&cmdline);
            if canaries.iter().any(|c| text.contains(c)) {
                leaks.push(format!("argv of pid {pid} holds a canary"));
            }
        }
        leaks
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

/// `devices list --json` as JSON (the CLI may print a banner first).
fn device_list(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "devices list: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout[stdout.find('{').expect("JSON")..])
        .unwrap_or_else(|e| panic!("devices list --json: {e}: {stdout}"))
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
    let mut vault_a = Vault::new();
    vault_a
        .set("gateway_token", Secret::new(token_a.as_str()))
        .unwrap();
    let stack = render_fixture::example();
    // The vault keys the stack's gateway config names (as the contract test).
    let gateway =
        clawprov::gateway::build(&stack, "/home/openclaw").expect("the stack's gateway config");
    let mut canaries = vec![token_a.clone(), token_b.clone()];
    let mut keys: Vec<String> = gateway
        .env
        .vault_keys()
        .into_iter()
        .map(String::from)
        .collect();
    keys.push("claude_setup_token".into());
    for key in keys.iter().filter(|k| *k != "gateway_token") {
        let value = canary(&key.replace('_', ""));
        vault_a.set(key, Secret::new(value.as_str())).unwrap();
        canaries.push(value);
    }
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
