//! The everyday commands `clawprov ssh`, `logs` and `openclaw`, as a user
//! runs them after `up`: the real binary against the Hetzner simulator
//! (the stack's server found by its labels), over SSH to the host fixture's
//! real sshd as the admin user, the host key checked against the pin `up`
//! recorded (tests/host_fixture: real users, sudo and files; shims for
//! journalctl, cloud-init and the OpenClaw CLI — the contract test runs the
//! real CLI).
//!
//! Canary: every secret in the vault is a unique marker; none may appear in
//! anything the commands print, nor in any command line the host recorded
//! (sshd's, sudo's, the shims').

mod host_fixture;
mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use clawprov::sim;
use host_fixture::HostFixture;

/// A deployed stack: the fixture after a full `up` against the simulator.
struct Deployed {
    fx: HostFixture,
    sim: sim::SimServer,
    home: tempfile::TempDir,
    stack: PathBuf,
    /// What `up` printed (human form).
    up_stdout: String,
}

impl Deployed {
    async fn start() -> Deployed {
        let fx = HostFixture::start();
        let p = host_fixture::project::project(&fx).await;
        let mut d = Deployed {
            fx,
            sim: p.sim,
            home: p.home,
            stack: p.stack,
            up_stdout: String::new(),
        };
        let up = d.run_with(
            &["up", "--yes", "--offline", "--verify", "none"],
            &["--reach-timeout", "20", "--host-timeout", "30"],
            None,
        );
        assert_eq!(
            up.status.code(),
            Some(0),
            "up failed: {}{}",
            String::from_utf8_lossy(&up.stdout),
            String::from_utf8_lossy(&up.stderr)
        );
        d.up_stdout = text(&up.stdout);
        d.fx.clear_logs();
        d
    }

    /// `clawprov -s STACK ARGS... --ssh-host ... NODE_ARGS... [-- TAIL...]`.
    fn run_with(&self, args: &[&str], extra: &[&str], stdin: Option<&str>) -> Output {
        let (head, tail) = match args.iter().position(|a| *a == "--") {
            Some(at) => (&args[..at], &args[at..]),
            None => (args, &[][..]),
        };
        let mut cmd = support::clawprov(self.home.path());
        cmd.current_dir(self.home.path())
            .arg("-s")
            .arg(&self.stack)
            .args(["--hcloud-endpoint", &self.sim.endpoint()])
            .args(head)
            .args(["--ssh-host", &format!("127.0.0.1:{}", self.fx.ssh_port)])
            .args(["--host-root", self.fx.path("fs").to_str().unwrap()])
            .args(extra)
            .args(tail);
        support::output_with_stdin(&mut cmd, stdin)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[], None)
    }

    /// No canary in `out` nor in any command line the host recorded.
    fn assert_no_secret(&self, what: &str, out: &Output) {
        let places = [
            ("stdout", String::from_utf8_lossy(&out.stdout).to_string()),
            ("stderr", String::from_utf8_lossy(&out.stderr).to_string()),
            ("remote command log", self.fx.read("commands.log")),
            ("sudo log", self.fx.read("sudo.log")),
            ("shim argv log", self.fx.read("shim.log")),
        ];
        for canary in &self.fx.canaries {
            for (place, text) in &places {
                assert!(
                    !text.contains(canary.as_str()),
                    "{what}: a secret leaked into the {place}"
                );
            }
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_runs_the_words_as_given_and_exits_with_their_status() {
    let d = Deployed::start().await;

    // Each word stays one word: not re-parsed by the remote shell.
    let out = d.run(&["ssh", "--", "printf", "[%s]", "a b", "$HOME", "it's"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "[a b][$HOME][it's]");
    let log = d.fx.read("commands.log");
    assert!(
        log.contains("'env' '--' 'printf' '[%s]' 'a b' '$HOME' 'it'\\''s'"),
        "{log}"
    );

    // stdout and stderr apart, as they come; the exit status is clawprov's.
    let out = d.run(&["ssh", "--", "sh", "-c", "echo out; echo err >&2; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "out\n");
    assert!(
        text(&out.stderr).starts_with("err\n"),
        "{}",
        text(&out.stderr)
    );

    // The admin user, and stdin forwarded.
    let out = d.run_with(
        &["ssh", "--", "sh", "-c", "id -un; cat"],
        &[],
        Some("hello\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), format!("{}\nhello\n", d.fx.admin));

    // Off a terminal, a secret the node prints is redacted.
    let token =
        d.fx.vault
            .get("gateway_token")
            .unwrap()
            .expose()
            .to_string();
    let env_file = d.fx.service_home().join(".config/openclaw/gateway.env");
    let out = d.run(&["ssh", "--", "sudo", "-n", "cat", env_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains(&token));
    assert!(
        text(&out.stdout).contains("OPENCLAW_GATEWAY_TOKEN='[redacted:gateway_token]'"),
        "{}",
        text(&out.stdout)
    );
    d.assert_no_secret("ssh", &out);

    // For BENCHMARKS.md (printed, never asserted): a whole `ssh -- true`,
    // from process start to exit (stack and vault load, the server looked
    // up in the simulator, SSH login with the pin checked, the command).
    let mut walls: Vec<f64> = (0..5)
        .map(|_| {
            let t = std::time::Instant::now();
            let out = d.run(&["ssh", "--", "true"]);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            t.elapsed().as_secs_f64()
        })
        .collect();
    walls.sort_by(f64::total_cmp);
    eprintln!(
        "bench: clawprov ssh -- true, 5 runs: median {:.3} s, max {:.3} s",
        walls[2], walls[4]
    );

    // Binary output passes unchanged (the scrubber works on bytes).
    let out = d.run(&["ssh", "--", "printf", "\\377\\000\\001\\n\\200"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, [0xff, 0, 1, b'\n', 0x80]);
    // For BENCHMARKS.md (printed, never asserted): 64 MB through the relay
    // and the scrubber (one line with no end: the slow path).
    let t = std::time::Instant::now();
    let out = d.run(&["ssh", "--", "head", "-c", "64000000", "/dev/zero"]);
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout.len(), 64_000_000);
    assert!(out.stdout.iter().all(|b| *b == 0));
    eprintln!(
        "bench: clawprov ssh -- head -c 64000000 /dev/zero: {wall:.2} s ({:.1} MB/s)",
        64.0 / wall
    );

    // No command and no terminal: refused before connecting.
    d.fx.clear_logs();
    let out = d.run(&["ssh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("needs a terminal"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(d.fx.read("commands.log"), "", "nothing ran on the node");
    // A word that cannot be one safe word: bad input.
    let out = d.run(&["ssh", "--", "echo", "a\nb"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_read_the_service_users_unit_as_root_and_redact_secrets() {
    let d = Deployed::start().await;
    // The gateway printing its token, as a careless one might.
    let token =
        d.fx.vault
            .get("gateway_token")
            .unwrap()
            .expose()
            .to_string();
    host_fixture::append(
        &d.fx.path("state/gateway.log"),
        &format!("gateway: started\ngateway: using token {token}\n"),
    );

    let out = d.run(&["logs", "-n", "20", "--since", "-1h"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("gateway: started"), "{shown}");
    assert!(
        shown.contains("gateway: using token [redacted:gateway_token]"),
        "{shown}"
    );
    // As root (sudo), with the service user's uid in the matches.
    let uid = host_fixture::uid_of(&d.fx.service);
    let shims = d.fx.read("shim.log");
    assert!(
        shims.contains(&format!(
            "journalctl _SYSTEMD_USER_UNIT=clawprov-gateway.service _UID={uid} + \
             USER_UNIT=clawprov-gateway.service _UID={uid} --no-pager -o short-iso -n 20 --since=-1h"
        )),
        "{shims}"
    );
    assert!(d.fx.read("sudo.log").contains("journalctl"));
    d.assert_no_secret("logs", &out);

    // -f: lines the gateway writes later arrive while it runs.
    let mut follow = support::clawprov(d.home.path());
    follow
        .current_dir(d.home.path())
        .arg("-s")
        .arg(&d.stack)
        .args(["--hcloud-endpoint", &d.sim.endpoint()])
        .args(["logs", "-f", "-n", "5"])
        .args(["--ssh-host", &format!("127.0.0.1:{}", d.fx.ssh_port)])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = follow.spawn().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        use std::io::Read as _;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(text(&buf[..n])).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains("gateway: started") && std::time::Instant::now() < deadline {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push_str(&chunk);
        }
    }
    host_fixture::append(
        &d.fx.path("state/gateway.log"),
        &format!("gateway: later line, token {token}\n"),
    );
    while !seen.contains("later line") && std::time::Instant::now() < deadline {
        if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push_str(&chunk);
        }
    }
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_running, "logs -f keeps following");
    assert!(
        seen.contains("gateway: later line, token [redacted:gateway_token]"),
        "a line written after start arrived, redacted: {seen}"
    );
    assert!(!seen.contains(&token));
    assert!(d.fx.read("shim.log").contains("--follow"));

    // --json: journalctl's JSON lines.
    d.fx.clear_logs();
    let out = d.run(&["--json", "logs"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        d.fx.read("shim.log").contains("-o json -n 200"),
        "{}",
        d.fx.read("shim.log")
    );

    // A bad --since is bad input, caught before connecting.
    d.fx.clear_logs();
    let out = d.run(&["logs", "--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--since \"last tuesday\""));
    assert_eq!(d.fx.read("commands.log"), "");

    // --bootstrap: cloud-init's status and output log; the bootstrap log
    // is gone (up shredded it). up shredded cloud-init's output log too
    // (it held the bootstrap's output): here cloud-init has written a new
    // one since, as after a reboot, with a secret in it.
    let out = d.run(&["logs", "--bootstrap"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(not there: `up` shreds it"));
    fs::write(
        d.fx.path("fs/var/log/cloud-init-output.log"),
        format!("Cloud-init v. 25.3 running 'modules:final'\nleaked {token}\n"),
    )
    .unwrap();
    let out = d.run(&["logs", "--bootstrap"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    assert!(shown.contains("status: done"), "{shown}");
    assert!(shown.contains("Cloud-init v. 25.3"), "{shown}");
    assert!(shown.contains("(gone: `up` shreds it"), "{shown}");
    let out = d.run(&["--json", "logs", "--bootstrap"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["bootstrap_log"]["text"], serde_json::Value::Null, "{v}");
    assert!(v["cloud_init_output_log"]["text"]
        .as_str()
        .unwrap()
        .contains("leaked [redacted:gateway_token]"));
    d.assert_no_secret("logs --bootstrap", &out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openclaw_runs_the_cli_as_the_service_user_with_the_gateways_env() {
    let d = Deployed::start().await;
    // up said how to open the gateway and pair a browser.
    for hint in [
        "clawprov secrets get gateway_token",
        "clawprov openclaw -- devices list",
        "clawprov openclaw -- devices approve REQUEST_ID",
    ] {
        assert!(d.up_stdout.contains(hint), "{hint}: {}", d.up_stdout);
    }

    let out = d.run(&["openclaw", "--", "devices", "list"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "{\"pending\":[],\"paired\":[]}\n");
    // As the service user, the env file sourced on the node.
    let shims = d.fx.read("shim.log");
    assert!(
        shims.contains(&format!("openclaw [{}] devices list", d.fx.service)),
        "{shims}"
    );
    let log = d.fx.read("commands.log");
    assert!(
        log.contains(&format!(
            "'{}/.config/openclaw/gateway.env'",
            d.fx.service_home().display()
        )),
        "{log}"
    );
    d.assert_no_secret("openclaw -- devices list", &out);

    // The CLI's failure is clawprov's, with its message.
    let out = d.run(&["openclaw", "--", "channels", "status"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(
        text(&out.stderr).contains("unsupported"),
        "{}",
        text(&out.stderr)
    );

    // Without the env file the CLI does not run at all (the shell stops).
    fs::remove_file(d.fx.service_home().join(".config/openclaw/gateway.env")).unwrap();
    d.fx.clear_logs();
    let out = d.run(&["openclaw", "--", "devices", "list"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!d.fx.read("shim.log").contains("openclaw ["));
}

/// On a terminal (a real PTY from util-linux `script`): the remote side
/// gets a PTY too, keystrokes reach an interactive login shell, and the
/// shell's exit status is clawprov's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_ssh_gets_a_pty_and_an_interactive_shell() {
    let script = support::require_tool("script", "util-linux");
    let d = Deployed::start().await;
    let in_pty = |args: &[&str], stdin: &str| {
        let mut argv = vec![
            env!("CARGO_BIN_EXE_clawprov").to_string(),
            "-s".into(),
            d.stack.display().to_string(),
            "--hcloud-endpoint".into(),
            d.sim.endpoint(),
        ];
        let (head, tail) = match args.iter().position(|a| *a == "--") {
            Some(at) => (&args[..at], &args[at..]),
            None => (args, &[][..]),
        };
        argv.extend(head.iter().map(|a| a.to_string()));
        argv.extend(["--ssh-host".into(), format!("127.0.0.1:{}", d.fx.ssh_port)]);
        argv.extend(tail.iter().map(|a| a.to_string()));
        let line = argv
            .iter()
            .map(|w| format!("'{}'", w.replace('\'', "'\\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let mut cmd = std::process::Command::new(&script);
        cmd.args(["-qec", &line, "/dev/null"])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", d.home.path())
            .env("XDG_CONFIG_HOME", d.home.path().join(".config"))
            .env("TERM", "xterm-256color")
            .current_dir(d.home.path());
        support::output_with_stdin(&mut cmd, Some(stdin))
    };

    let out = in_pty(&["ssh", "--", "sh", "-c", "tty; echo \"TERM=$TERM\""], "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let shown = text(&out.stdout);
    assert!(shown.contains("/dev/pts/"), "a PTY on the node: {shown}");
    assert!(shown.contains("TERM=xterm-256color"), "{shown}");

    let out = in_pty(&["ssh"], "echo marker-$((6*7)); exit 3\n");
    let shown = text(&out.stdout);
    assert!(
        shown.contains("marker-42"),
        "the shell ran what was typed: {shown}"
    );
    assert_eq!(out.status.code(), Some(3), "{shown}");
    d.assert_no_secret("ssh on a terminal", &out);
}

/// Bad usage is refused by the argument parser, before anything runs.
#[test]
fn usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["openclaw"][..],
        &["logs", "--bootstrap", "-f"][..],
        &["logs", "-n", "many"][..],
    ] {
        let out = support::clawprov(home.path()).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
