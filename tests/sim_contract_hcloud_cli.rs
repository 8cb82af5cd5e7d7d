//! Contract: Debian's `hcloud` CLI (hcloud-go underneath) against the
//! simulator: create, list with selectors over 120+ items, describe,
//! protect and delete ssh keys, firewalls and servers, and the documented
//! errors (protected, resource_in_use, uniqueness, unauthorized, read-only).

mod sim_common;
mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use sim_common::{contract_config, fake_ed25519, RunningSim, READONLY_TOKEN};

/// Over two pages of 50 (hcloud-go asks for 50 per page).
const N: u32 = 121;

/// Runs `f(i)` for every `i` on 8 threads: the CLI waits ~1 s per server
/// create, and concurrent clients are a fair test of the simulator too.
fn in_parallel(range: std::ops::Range<u32>, f: impl Fn(u32) + Sync) {
    let next = std::sync::atomic::AtomicU32::new(range.start);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= range.end {
                    break;
                }
                f(i);
            });
        }
    });
}

/// Polls `cond` for up to 10 s (a deleted server disappears when its action ends).
fn wait_until(cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached in 10 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

struct Cli<'a> {
    endpoint: &'a str,
    token: String,
    home: &'a Path,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> Output {
        let bin = support::require_tool("hcloud", "hcloud-cli");
        Command::new(bin)
            .args(["--poll-interval", "20ms"])
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home)
            .env("HCLOUD_ENDPOINT", self.endpoint)
            .env("HCLOUD_TOKEN", &self.token)
            .output()
            .expect("hcloud runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "hcloud {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a command that must fail with error `code`.
    fn fails_with(&self, args: &[&str], code: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "hcloud {args:?} should fail with {code}"
        );
        assert!(
            stderr.contains(&format!("({code})")),
            "hcloud {args:?}: expected ({code}), got: {stderr}"
        );
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full = args.to_vec();
        full.extend(["-o", "json"]);
        serde_json::from_str(&self.ok(&full)).expect("hcloud printed JSON")
    }

    fn count(&self, resource: &str, selector: &str) -> usize {
        match self.json(&[resource, "list", "-l", selector]) {
            Value::Null => 0,
            Value::Array(a) => a.len(),
            other => panic!("unexpected list output {other}"),
        }
    }
}

#[test]
fn hcloud_cli_full_cycle() {
    support::require_tool("hcloud", "hcloud-cli");
    let home = tempfile::tempdir().expect("tempdir");
    let running = RunningSim::start(contract_config());
    let token = running.sim.world().config.tokens[0].clone();
    let cli = Cli {
        endpoint: &running.endpoint,
        token,
        home: home.path(),
    };

    // ssh keys
    in_parallel(0..N, |i| {
        let parity = if i % 2 == 0 {
            "parity=even"
        } else {
            "parity=odd"
        };
        cli.ok(&[
            "ssh-key",
            "create",
            "--name",
            &format!("cli-key-{i}"),
            "--public-key",
            &fake_ed25519(i),
            "--label",
            "suite=cli",
            "--label",
            parity,
        ]);
    });
    assert_eq!(cli.count("ssh-key", "suite=cli"), N as usize);
    assert_eq!(cli.count("ssh-key", "suite=cli,parity==odd"), 60);
    assert_eq!(cli.count("ssh-key", "parity in (even),suite"), 61);
    assert_eq!(cli.count("ssh-key", "suite!=cli"), 0);
    assert_eq!(cli.count("ssh-key", "!suite"), 0);
    let key = cli.json(&["ssh-key", "describe", "cli-key-3"]);
    assert_eq!(key["public_key"], fake_ed25519(3));
    assert_eq!(key["labels"]["parity"], "odd");
    cli.fails_with(
        &[
            "ssh-key",
            "create",
            "--name",
            "cli-key-3",
            "--public-key",
            &fake_ed25519(9000),
        ],
        "uniqueness_error",
    );
    cli.fails_with(&["ssh-key", "list", "-l", "suite in (cli"], "invalid_input");

    // The fingerprint is the one OpenSSH computes.
    let keyfile = home.path().join("real.pub");
    let keygen = support::require_tool("ssh-keygen", "openssh-client");
    let status = Command::new(&keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(home.path().join("real"))
        .status()
        .expect("ssh-keygen");
    assert!(status.success());
    cli.ok(&[
        "ssh-key",
        "create",
        "--name",
        "real",
        "--public-key-from-file",
        keyfile.to_str().unwrap_or_default(),
    ]);
    let md5 = Command::new(&keygen)
        .args(["-l", "-E", "md5", "-f"])
        .arg(&keyfile)
        .output()
        .expect("ssh-keygen -l");
    let md5 = String::from_utf8_lossy(&md5.stdout);
    let real = cli.json(&["ssh-key", "describe", "real"]);
    let fp = real["fingerprint"].as_str().unwrap_or_default();
    assert!(
        md5.contains(&format!("MD5:{fp} ")),
        "fingerprint {fp} vs ssh-keygen {md5}"
    );

    // firewalls
    let rules = home.path().join("rules.json");
    std::fs::write(
        &rules,
        r#"[{"direction":"in","protocol":"tcp","port":"22","source_ips":["100.64.0.0/10"]}]"#,
    )
    .expect("rules file");
    cli.ok(&[
        "firewall",
        "create",
        "--name",
        "cli-fw-0",
        "--label",
        "suite=cli",
        "--rules-file",
        rules.to_str().unwrap_or_default(),
    ]);
    in_parallel(1..N, |i| {
        cli.ok(&[
            "firewall",
            "create",
            "--name",
            &format!("cli-fw-{i}"),
            "--label",
            "suite=cli",
        ]);
    });
    assert_eq!(cli.count("firewall", "suite=cli"), N as usize);
    let fw = cli.json(&["firewall", "describe", "cli-fw-0"]);
    assert_eq!(fw["rules"][0]["port"], "22");
    assert_eq!(fw["rules"][0]["source_ips"][0], "100.64.0.0/10");
    cli.fails_with(
        &["firewall", "create", "--name", "cli-fw-0"],
        "uniqueness_error",
    );

    // servers
    in_parallel(0..N, |i| {
        let name = format!("cli-srv-{i}");
        let mut args = vec![
            "server",
            "create",
            "--name",
            &name,
            "--type",
            "cx22",
            "--image",
            "ubuntu-24.04",
            "--location",
            "nbg1",
            "--ssh-key",
            "cli-key-0",
            "--label",
            "suite=cli",
        ];
        if i == 0 {
            args.extend(["--firewall", "cli-fw-0", "--label", "role=gateway"]);
        }
        cli.ok(&args);
    });
    assert_eq!(cli.count("server", "suite=cli"), N as usize);
    assert_eq!(cli.count("server", "suite=cli,role=gateway"), 1);
    assert_eq!(
        cli.count("server", "suite=cli,role notin (gateway)"),
        N as usize - 1
    );
    let srv = cli.json(&["server", "describe", "cli-srv-0"]);
    assert_eq!(srv["status"], "running");
    assert_eq!(srv["server_type"]["name"], "cx22");
    assert_eq!(srv["datacenter"]["location"]["name"], "nbg1");
    assert_eq!(srv["public_net"]["firewalls"][0]["id"], fw["id"]);
    cli.fails_with(
        &[
            "server",
            "create",
            "--name",
            "arm-on-x86-place",
            "--type",
            "cax11",
            "--image",
            "ubuntu-24.04",
            "--location",
            "ash",
        ],
        "invalid_input",
    );

    // errors around protection and in-use firewalls
    cli.fails_with(&["firewall", "delete", "cli-fw-0"], "resource_in_use");
    cli.fails_with(
        &[
            "firewall",
            "apply-to-resource",
            "--type",
            "server",
            "--server",
            "cli-srv-0",
            "cli-fw-0",
        ],
        "firewall_already_applied",
    );
    cli.ok(&[
        "server",
        "enable-protection",
        "cli-srv-0",
        "delete",
        "rebuild",
    ]);
    assert_eq!(
        cli.json(&["server", "describe", "cli-srv-0"])["protection"]["delete"],
        true
    );
    cli.fails_with(&["server", "delete", "cli-srv-0"], "protected");
    cli.ok(&[
        "server",
        "disable-protection",
        "cli-srv-0",
        "delete",
        "rebuild",
    ]);

    // other tokens
    let bad = Cli {
        endpoint: &running.endpoint,
        token: "y".repeat(64),
        home: home.path(),
    };
    bad.fails_with(&["server", "list"], "unauthorized");
    let ro = Cli {
        endpoint: &running.endpoint,
        token: READONLY_TOKEN.to_string(),
        home: home.path(),
    };
    assert_eq!(ro.count("server", "suite=cli"), N as usize);
    ro.fails_with(
        &[
            "ssh-key",
            "create",
            "--name",
            "ro",
            "--public-key",
            &fake_ed25519(7000),
        ],
        "token_readonly",
    );

    // delete: servers first (which detaches cli-fw-0), then firewalls, then keys.
    // This CLI deletes one resource per call, so a handful of each stands in
    // for the rest (every process costs ~0.2 s on a shared machine).
    for i in 0..3 {
        cli.ok(&["server", "delete", &format!("cli-srv-{i}")]);
    }
    wait_until(|| cli.count("server", "suite=cli") == N as usize - 3);
    // The CLI resolves names by listing, so a gone server is its own message.
    let gone = cli.run(&["server", "describe", "cli-srv-0"]);
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("server not found"));
    let applied = &cli.json(&["firewall", "describe", "cli-fw-0"])["applied_to"];
    assert!(
        applied.is_null() || applied.as_array().is_some_and(Vec::is_empty),
        "still applied: {applied}"
    );
    for i in 0..3 {
        cli.ok(&["firewall", "delete", &format!("cli-fw-{i}")]);
        cli.ok(&["ssh-key", "delete", &format!("cli-key-{i}")]);
    }
    assert_eq!(cli.count("firewall", "suite=cli"), N as usize - 3);
    assert_eq!(cli.count("ssh-key", "suite=cli"), N as usize - 3);
    assert!(
        running
            .sim
            .request_log()
            .iter()
            .any(|r| r.path.contains("page=3")),
        "CLI never paged"
    );
}
