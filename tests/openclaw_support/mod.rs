//! The real OpenClaw gateway for tests (tests/openclaw_contract.rs,
//! tests/openclaw_token_rotation.rs): the pinned Node and OpenClaw from the
//! npm registry (tests/contract/openclaw-setup.sh, cached), the files the
//! host phase delivers (`clawprov::host::desired_files`), and the rendered
//! unit run the way a systemd user manager runs it (its `ExecStart` argv,
//! its `Environment=` lines with the `%h` specifier expanded, its
//! EnvironmentFile, KillMode=mixed), with the server's nvm and release
//! paths mapped onto the cached tree.
//!
//! Each test file does `mod render_fixture; mod support; mod
//! openclaw_support;` and uses what it needs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clawprov::host::command::RemoteCommand;
use clawprov::host::probe::{self, Probe};
use clawprov::host::{desired_files, Account, ENV_FILE, LOG_FILE};
use clawprov::secrets::{Secret, Vault};
use clawprov::stack::{Stack, DEFAULT_NODE_VERSION, DEFAULT_OPENCLAW_VERSION};

use crate::render_fixture;
use crate::support;

pub const UNIT_PATH: &str = "/usr/local/share/clawprov/clawprov-gateway.service";

/// The cached node directory, built once per test binary.
pub fn node_dir() -> &'static Path {
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

/// The cached release tree (beside the node directory).
pub fn release_dir() -> PathBuf {
    node_dir().parent().unwrap().join("release")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub fn id(flag: &str) -> u32 {
    let out = Command::new("id").arg(flag).output().expect("id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("numeric id")
}

/// `name` with this process's uid and gid and `home`.
pub fn account(name: &str, home: &Path) -> Account {
    Account {
        name: name.to_string(),
        uid: id("-u"),
        gid: id("-g"),
        home: home.display().to_string(),
    }
}

/// A temporary home, 0750 as the bootstrap leaves the service user's.
pub fn temp_home(prefix: &str) -> tempfile::TempDir {
    let home = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("home");
    fs::set_permissions(home.path(), fs::Permissions::from_mode(0o750)).unwrap();
    home
}

/// The gateway's name on the tailnet.
pub fn fqdn(stack: &Stack) -> String {
    format!("{}.{}", stack.tailscale.hostname, stack.tailscale.tailnet)
}

pub fn canary(name: &str) -> String {
    format!("CANARY{name}{:016x}", rand::random::<u64>())
}

/// A vault for `stack`: `token` as `gateway_token`, and a canary in every
/// other key its gateway config names plus `claude_setup_token` (both
/// Anthropic credentials, as a vault may hold them). The canaries, `token`
/// first.
pub fn canary_vault(stack: &Stack, token: &str) -> (Vault, Vec<String>) {
    let mut vault = Vault::new();
    vault.set("gateway_token", Secret::new(token)).unwrap();
    let mut canaries = vec![token.to_string()];
    let home = format!("/home/{}", stack.host.service_user);
    let gateway = clawprov::gateway::build(stack, &home).expect("the stack's gateway config");
    let mut keys: Vec<String> = gateway
        .env
        .vault_keys()
        .into_iter()
        .map(String::from)
        .collect();
    keys.push("claude_setup_token".into());
    for key in keys.iter().filter(|k| *k != "gateway_token") {
        let value = canary(&key.replace('_', ""));
        vault.set(key, Secret::new(value.as_str())).unwrap();
        canaries.push(value);
    }
    (vault, canaries)
}

/// Write every file `desired_files` renders for `vault`, each 0600 in
/// 0700 directories, as the host phase delivers them.
pub fn deliver(stack: &Stack, vault: &Vault, account: &Account) {
    for file in desired_files(stack, vault, account).expect("host files") {
        for dir in &file.dirs {
            fs::create_dir_all(dir).unwrap();
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).unwrap();
        }
        fs::write(&file.path, file.expose_content()).unwrap();
        fs::set_permissions(&file.path, fs::Permissions::from_mode(0o600)).unwrap();
    }
}

/// The rendered unit's `ExecStart` argv, `Environment=` pairs and
/// `EnvironmentFile=`, as written (specifiers not expanded).
pub fn unit_lines(stack: &Stack) -> (Vec<String>, Vec<(String, String)>, String) {
    let doc = render_fixture::parse(render_fixture::render_embedded(stack).expose());
    let unit = render_fixture::file(&doc, UNIT_PATH).content;
    let mut exec = Vec::new();
    let mut env = Vec::new();
    let mut env_file = String::new();
    for line in unit.lines() {
        if let Some(rest) = line.strip_prefix("ExecStart=") {
            // Our unit's words hold no quotes or spaces (the `word` filter).
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

/// systemd's specifiers in `value` for a user unit whose user's home is
/// `home`: `%h` and `%%`. Any other specifier fails the test (the unit
/// would run with a value this test does not reproduce).
pub fn expand_specifiers(value: &str, home: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('h') => out.push_str(home),
            Some('%') => out.push('%'),
            other => {
                panic!("the unit uses a specifier the test does not expand: %{other:?} in {value}")
            }
        }
    }
    out
}

/// Reads a systemd EnvironmentFile the way clawprov writes it: `K='V'` lines.
pub fn read_env_file(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').expect("K=V");
            (k.to_string(), v.trim_matches('\'').to_string())
        })
        .collect()
}

/// The rendered unit as the service user's systemd runs it from `home`.
pub struct Unit {
    /// `ExecStart`, the nvm and release paths mapped onto the cache.
    pub exec: Vec<String>,
    /// The `Environment=` lines plus what a systemd user manager sets for
    /// every unit (HOME, USER, LOGNAME); the env file is read at each start.
    pub env: BTreeMap<String, String>,
    pub home: PathBuf,
}

impl Unit {
    /// `stack`'s unit for a service user whose home is `home`.
    pub fn of(stack: &Stack, home: &Path) -> Unit {
        let (exec, env, env_file) = unit_lines(stack);
        assert_eq!(
            env_file,
            format!("%h/{ENV_FILE}"),
            "the unit reads the env file the host phase delivers"
        );
        let service = &stack.host.service_user;
        let server_node_dir = format!("/home/{service}/.nvm/versions/node/v{}", stack.node.version);
        let server_release = clawprov::host::Release::of(stack).dir(&format!("/home/{service}"));
        let node_dir = node_dir().display().to_string();
        let release = release_dir().display().to_string();
        let home_str = home.display().to_string();
        // systemd expands specifiers in ExecStart= and Environment= lines.
        let map = |s: &str| {
            let s = s
                .replace(&server_node_dir, &node_dir)
                .replace(&server_release, &release);
            expand_specifiers(&s, &home_str)
        };
        let mut env: BTreeMap<String, String> =
            env.into_iter().map(|(k, v)| (k, map(&v))).collect();
        env.insert("HOME".into(), home_str.clone());
        env.insert("USER".into(), service.clone());
        env.insert("LOGNAME".into(), service.clone());
        Unit {
            exec: exec.iter().map(|w| map(w)).collect(),
            env,
            home: home.to_path_buf(),
        }
    }

    /// The unit's environment with its EnvironmentFile as it is now.
    pub fn env_now(&self) -> BTreeMap<String, String> {
        let mut env = self.env.clone();
        let text = fs::read_to_string(self.home.join(ENV_FILE)).unwrap();
        env.extend(read_env_file(&text));
        env
    }

    /// The pinned Node (`ExecStart`'s first word).
    pub fn node(&self) -> &Path {
        Path::new(&self.exec[0])
    }

    /// OpenClaw's entry point (`ExecStart`'s second word).
    pub fn openclaw(&self) -> &Path {
        Path::new(&self.exec[1])
    }

    /// `systemctl start`: the argv, the environment and the env file as it
    /// is now, in its own process group, its output appended to `log`.
    pub fn start(&self, log: &Path) -> Child {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        Command::new(&self.exec[0])
            .args(&self.exec[1..])
            .env_clear()
            .envs(self.env_now())
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start the gateway")
    }
}

/// The last 30 lines of `log`.
pub fn output_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Returns once `child` listens on 127.0.0.1:`port`; fails if it exits or
/// takes over 120 s (`log` its output).
pub fn wait_listening(port: u16, child: &mut Child, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the gateway exited ({status}):\n{}", output_tail(log));
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not listen on 127.0.0.1:{port} within 120 s:\n{}",
            output_tail(log)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `systemctl stop` with KillMode=mixed: SIGTERM to the main process (by
/// its PID), `grace` to exit, then SIGKILL to what is left of its group
/// (the gateway forks workers).
pub fn stop(child: &mut Child, grace: Duration) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", "--", &pid]).status();
    let deadline = Instant::now() + grace;
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
}

/// PIDs of `root` and every process it started.
pub fn process_tree(root: u32) -> Vec<u32> {
    let mut tree = vec![root];
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

/// Every process's argv right now, as `/proc/*/cmdline` has it.
pub fn all_cmdlines() -> Vec<(u32, String)> {
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

pub fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_dir() => files_under(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

/// Files under `home` (but the env file), `logs` and OpenClaw's
/// /tmp/openclaw, and the argv of the processes in `tree`, that hold one
/// of `canaries`.
pub fn leaks(home: &Path, logs: &Path, tree: &[u32], canaries: &[&str]) -> Vec<String> {
    let mut files = Vec::new();
    files_under(home, &mut files);
    files_under(logs, &mut files);
    files_under(Path::new("/tmp/openclaw"), &mut files);
    let env_file = home.join(ENV_FILE);
    assert!(
        files.len() > 3 && files.contains(&home.join(LOG_FILE)),
        "the scan sees OpenClaw's log: {files:?}"
    );
    let mut leaks = Vec::new();
    for file in files.iter().filter(|f| **f != env_file) {
        let text = String::from_utf8_lossy(&fs::read(file).unwrap_or_default()).to_string();
        if canaries.iter().any(|c| text.contains(c)) {
            leaks.push(format!("{} holds a canary", file.display()));
        }
    }
    for pid in tree {
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let text = String::from_utf8_lossy(&cmdline);
        if canaries.iter().any(|c| text.contains(c)) {
            leaks.push(format!("argv of pid {pid} holds a canary"));
        }
    }
    leaks
}

/// A probe's command, run here as the host phase runs it on the server
/// (the admin user's shell, the header on stdin).
pub fn run_probe(probe: &Probe) -> u16 {
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
pub fn answer(probe: &Probe) -> u16 {
    let deadline = Instant::now() + probe::SETTLE;
    loop {
        let got = run_probe(probe);
        if !probe::starting(got) || Instant::now() >= deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The four host-phase probes (`probe::probes`) with `token`, each fault
/// named.
pub fn probe_faults(port: u16, fqdn: &str, token: &Secret) -> Vec<String> {
    probe::probes(port, fqdn, token)
        .iter()
        .filter_map(|p| {
            let got = answer(p);
            (got != p.expect).then(|| probe::diagnose(p, got))
        })
        .collect()
}

/// Lay out the server's paths under `home` (nvm's node directory and the
/// release, linked to the cached tree) so that the host phase's exact
/// commands run here.
pub fn server_layout(stack: &Stack, home: &Path) {
    let nvm_node = home.join(format!(".nvm/versions/node/v{}", stack.node.version));
    if nvm_node.exists() {
        return;
    }
    fs::create_dir_all(nvm_node.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(node_dir(), &nvm_node).unwrap();
    let release = home.join(
        clawprov::host::Release::of(stack)
            .dir("")
            .trim_start_matches('/'),
    );
    fs::create_dir_all(release.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(release_dir(), &release).unwrap();
}

/// A host-phase command (`RemoteCommand::argv`) run here as sudo would
/// run it (clean environment, from `home`), with no canary in its argv
/// and every process's argv sampled from /proc every few milliseconds
/// while it runs: none may hold one of `canaries`.
pub fn run_watched(cmd: &RemoteCommand, home: &Path, canaries: &[&str]) -> Output {
    let argv = cmd.argv();
    for c in canaries {
        assert!(!argv.iter().any(|w| w.contains(c)), "{argv:?}");
    }
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .current_dir(home)
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
    out
}

/// `devices list --json` as JSON (the CLI may print a banner first).
pub fn device_list(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "devices list: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout[stdout.find('{').expect("JSON")..])
        .unwrap_or_else(|e| panic!("devices list --json: {e}: {stdout}"))
}

/// tests/contract/`script` run by `node` against `url`, `input` on its
/// stdin; its JSON answer.
pub fn ws_script(node: &Path, script: &str, url: &str, input: &[u8]) -> serde_json::Value {
    let path = support::repo_dir().join("tests/contract").join(script);
    let mut child = Command::new(node)
        .arg(path)
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ws client");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{script} output: {e}: {:?}", out.stdout))
}
