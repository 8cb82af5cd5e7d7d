//! The real tailnet for tests: Tailscale's own `tailscale` and `tailscaled`
//! (built from the tailscale.com module by tests/tailnet/build.sh, cached)
//! and the tailnet helper (Tailscale's test control plane, DERP, Pebble for
//! ACME, DNS for DNS-01) in front of clawprov's Tailscale API simulator, all
//! inside a network and mount namespace the test creates.
//!
//! [`in_netns`] re-runs the calling test in `unshare --net --mount`: there,
//! loopback is the test's own, `/etc/hosts` and `/etc/resolv.conf` are
//! private copies (a tailscaled with a TUN and MagicDNS rewrites the
//! resolver, as it does on an operator's machine), and every process the
//! test starts is stopped by PID when its handle drops.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

const NETNS_MARK: &str = "CLAWPROV_TEST_IN_NETNS";

/// The directory build.sh prints: `bin/{tailscale,tailscaled,tailnet-helper}`,
/// `tailscaled.service`, `tailscaled.defaults`. Built once per process;
/// fails (never skips) when Go or the module proxy is missing.
pub fn build() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let script = super::support::repo_dir().join("tests/tailnet/build.sh");
            let out = Command::new("bash")
                .arg(&script)
                .stderr(Stdio::inherit())
                .output()
                .expect("run tests/tailnet/build.sh");
            assert!(
                out.status.success(),
                "tests/tailnet/build.sh failed ({}): the real tailnet needs Go 1.26 and the Go \
                 module proxy (scripts/test.sh setup installs patch; Go comes with the machine)",
                out.status
            );
            PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
        })
        .clone()
}

/// Runs the test `name` again inside a new network and mount namespace and
/// returns `false` here (the caller returns; the outcome is the child's),
/// or returns `true` inside it, with loopback up and private resolver
/// files. Needs root, as CI runs.
pub fn in_netns(name: &str) -> bool {
    if std::env::var_os(NETNS_MARK).is_some() {
        inside();
        return true;
    }
    // The build downloads modules: before the namespace, which reaches
    // nothing (inside, build() finds it cached).
    build();
    let uid = Command::new("id").arg("-u").output().expect("id");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "the real-tailnet tests create a network namespace and a TUN device: run as root (CI does)"
    );
    let status = Command::new("unshare")
        .args(["--net", "--mount", "--propagation", "private", "--"])
        .arg(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(NETNS_MARK, "1")
        .status()
        .expect("unshare (util-linux)");
    assert!(
        status.success(),
        "{name} in its network namespace: {status}"
    );
    false
}

fn inside() {
    run(Command::new("ip").args(["link", "set", "lo", "up"]));
    // The bind mounts hold the files' inodes: the directory can go at once.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (file, text) in [
        // Tailnet::start adds controlplane.tailscale.com.
        ("hosts", "127.0.0.1 localhost\n::1 localhost\n".to_string()),
        ("resolv.conf", "nameserver 127.0.0.53\n".to_string()),
    ] {
        let private = dir.join(file);
        fs::write(&private, text).unwrap();
        run(Command::new("mount")
            .arg("--bind")
            .arg(&private)
            .arg(Path::new("/etc").join(file)));
    }
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Where the helper listens, from its `ready.json`.
#[derive(Debug, Clone)]
pub struct Ready {
    pub control_url: String,
    pub acme_directory: String,
    /// Pebble's root (PEM): what trusts the nodes' Serve certificates.
    pub acme_root: PathBuf,
    /// The CA of the helper's own TLS certificate.
    pub ca: PathBuf,
    pub admin: String,
}

/// Where the helper listens. Its control plane is always on ports 80
/// (Noise) and 443 (TLS), as controlplane.tailscale.com's are.
#[derive(Debug, Clone)]
pub struct Listen {
    /// The address every listener binds; added to loopback unless it is
    /// 127.0.0.1. `/etc/hosts` sends controlplane.tailscale.com to it.
    pub ip: String,
    /// DERP's port (0: any; a VM's guestfwd needs it fixed).
    pub derp: u16,
    /// The ACME directory's port (0: any).
    pub acme: u16,
    /// The CA (certificate, key) signing the helper's TLS certificate:
    /// the VM image's test CA, which the guest trusts. None: a new one.
    pub ca: Option<(PathBuf, PathBuf)>,
}

impl Listen {
    /// Everything on the namespace's loopback, any ports, a new CA.
    pub fn loopback() -> Listen {
        Listen {
            ip: "127.0.0.1".into(),
            derp: 0,
            acme: 0,
            ca: None,
        }
    }
}

/// A process stopped (SIGTERM, then SIGKILL) by PID on drop.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGSTOP / SIGCONT: a process that stops answering without closing
    /// its sockets.
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.signal("CONT");
        self.signal("TERM");
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(cmd: &mut Command, log: PathBuf) -> Proc {
    let out = fs::File::create(&log).expect("log");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    Proc { child, log }
}

/// The helper in front of the simulator at `sim_base`
/// (`http://127.0.0.1:PORT`).
pub struct Tailnet {
    pub dir: PathBuf,
    pub bin: PathBuf,
    pub ready: Ready,
    pub helper: Proc,
}

impl Tailnet {
    pub fn start(dir: &Path, sim_base: &str, magic_dns: &str, listen: &Listen) -> Tailnet {
        assert!(
            std::env::var_os(NETNS_MARK).is_some(),
            "the tailnet runs only inside the test's namespace (tailnet_support::in_netns)"
        );
        let built = build();
        let bin = built.join("bin");
        fs::create_dir_all(dir).unwrap();
        let state = dir.join("helper");
        if listen.ip != "127.0.0.1" {
            run(Command::new("ip").args([
                "addr",
                "add",
                &format!("{}/32", listen.ip),
                "dev",
                "lo",
            ]));
        }
        // The default control URL reaches the helper, as the VM image's
        // /etc/hosts sends it there: nodes run with no --login-server.
        let mut hosts = fs::read_to_string("/etc/hosts").unwrap();
        hosts.push_str(&format!("{} controlplane.tailscale.com\n", listen.ip));
        fs::write("/etc/hosts", hosts).unwrap();
        let mut cmd = Command::new(bin.join("tailnet-helper"));
        cmd.args([
            "-state",
            state.to_str().unwrap(),
            "-sim",
            sim_base,
            "-magic-dns-domain",
            magic_dns,
            "-listen",
            &listen.ip,
            // controlplane.tailscale.com's ports: Noise over 80, TLS on
            // 443 (the name is in the helper's certificate).
            "-control",
            "80",
            "-control-tls",
            "443",
            "-derp",
            &listen.derp.to_string(),
            "-acme",
            &listen.acme.to_string(),
        ]);
        if let Some((cert, key)) = &listen.ca {
            cmd.arg("-ca-cert").arg(cert).arg("-ca-key").arg(key);
        }
        let helper = spawn(&mut cmd, dir.join("helper.log"));
        let ready_file = state.join("ready.json");
        let until = Instant::now() + Duration::from_secs(30);
        let v: Value = loop {
            if let Ok(text) = fs::read_to_string(&ready_file) {
                break serde_json::from_str(&text).expect("ready.json");
            }
            assert!(
                Instant::now() < until,
                "the tailnet helper did not start in 30 s:\n{}",
                helper.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let ready = Ready {
            control_url: s("control_url"),
            acme_directory: s("acme_directory"),
            acme_root: PathBuf::from(s("acme_root")),
            ca: PathBuf::from(s("ca")),
            admin: s("admin"),
        };
        Tailnet {
            dir: dir.to_path_buf(),
            bin,
            ready,
            helper,
        }
    }

    /// The control plane's node list (GET /nodes): `id`, `nodeId`, `name`,
    /// `addresses`, `tags`, `machine`, `nodeKey`, `online`.
    pub fn nodes(&self) -> Vec<Value> {
        let out = run(Command::new("curl")
            .args(["-sS", "--max-time", "10"])
            .arg(format!("{}/nodes", self.ready.admin)));
        serde_json::from_slice(&out.stdout).expect("nodes JSON")
    }

    /// Sets the helper's faults (`{"untagged": true}`: nodes register
    /// without their tags from now on).
    pub fn faults(&self, json: &str) {
        run(Command::new("curl")
            .args([
                "-sS",
                "--fail",
                "--max-time",
                "10",
                "-X",
                "POST",
                "-d",
                json,
            ])
            .arg(format!("{}/faults", self.ready.admin)));
    }

    /// A tailscaled named `name`: with a TUN device (`tailscale0`, the
    /// operator's machine) or in userspace networking (a second node in
    /// the same namespace). Its `tailscale` wrapper is `dir/name/bin`.
    pub fn daemon(&self, name: &str, tun: bool) -> Daemon {
        let home = self.dir.join(name);
        let bin = home.join("bin");
        fs::create_dir_all(&bin).unwrap();
        let socket = home.join("tailscaled.sock");
        let wrapper = bin.join("tailscale");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nexec '{}' --socket='{}' \"$@\"\n",
                self.bin.join("tailscale").display(),
                socket.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new(self.bin.join("tailscaled"));
        cmd.arg(format!("--statedir={}", home.join("state").display()))
            .arg(format!("--socket={}", socket.display()))
            .arg("--port=0")
            .arg(if tun {
                "--tun=tailscale0"
            } else {
                "--tun=userspace-networking"
            })
            // As Tailscale's integration tests run it: the namespace has
            // no default route (the link monitor would call the network
            // down), no log upload, no port mapping.
            .env("TS_ASSUME_NETWORK_UP_FOR_TEST", "1")
            .env("TS_NO_LOGS_NO_SUPPORT", "1")
            .env("TS_DISABLE_PORTMAPPER", "1")
            // Serve's certificate from the helper's ACME server, whose TLS
            // certificate the helper's CA signs.
            .env("TS_DEBUG_ACME_DIRECTORY_URL", &self.ready.acme_directory)
            .env("SSL_CERT_FILE", &self.ready.ca);
        let proc = spawn(&mut cmd, home.join("tailscaled.log"));
        let daemon = Daemon {
            name: name.to_string(),
            home,
            bin,
            proc,
        };
        let until = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(
                Instant::now() < until,
                "tailscaled {name} did not start:\n{}",
                daemon.proc.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        daemon
    }
}

impl Tailnet {
    /// A CA bundle for clients on the operator's side: the system's roots,
    /// the helper's CA and Pebble's root (Serve's certificates), for
    /// `SSL_CERT_FILE` (OpenSSL, which clawprov's HTTP client uses, and Go
    /// read it).
    pub fn roots(&self) -> PathBuf {
        let mut bundle =
            fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
        for extra in [&self.ready.ca, &self.ready.acme_root] {
            bundle.push_str(&fs::read_to_string(extra).expect("a CA file"));
            bundle.push('\n');
        }
        let path = self.dir.join("roots.pem");
        fs::write(&path, bundle).unwrap();
        path
    }

    /// The operator's machine: a tailscaled with a TUN named tailscale0
    /// and MagicDNS (it rewrites the namespace's /etc/resolv.conf), joined
    /// with `key` (a person's: untagged), as a laptop on the tailnet is.
    pub fn operator(&self, key: &str) -> Daemon {
        let d = self.daemon("operator", true);
        let up = d.up(key, "operator", &[]);
        assert!(
            up.status.success(),
            "the operator's tailscale up: {}\n{}",
            text(&up),
            d.proc.log_text()
        );
        d
    }
}

/// One tailscaled and its CLI.
pub struct Daemon {
    pub name: String,
    pub home: PathBuf,
    /// Holds `tailscale`, a wrapper naming this daemon's socket: put it
    /// first on PATH to run clawprov's shell lines against this node.
    pub bin: PathBuf,
    pub proc: Proc,
}

impl Daemon {
    /// `tailscale ARGS` against this daemon.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(self.bin.join("tailscale"))
            .args(args)
            .output()
            .expect("tailscale")
    }

    /// `sh -c LINE` with this daemon's `tailscale` first on PATH.
    pub fn sh(&self, line: &str, args: &[&str]) -> Output {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("sh")
            .arg("-c")
            .arg(line)
            .arg("sh")
            .args(args)
            .env("PATH", path)
            .output()
            .expect("sh")
    }

    /// `tailscale status --json --peers=false`, parsed.
    pub fn status(&self) -> Value {
        let out = self.cli(&["status", "--json", "--peers=false"]);
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "status --json of {}: {e}\n{}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Joins with `key` (written to a file, read by `--auth-key=file:`, as
    /// the bootstrap does) and the bootstrap's flags; the control URL is
    /// the default one (the namespace's /etc/hosts sends it to the helper).
    pub fn up(&self, key: &str, hostname: &str, extra: &[&str]) -> Output {
        let key_file = self.home.join("authkey");
        fs::write(&key_file, key).unwrap();
        let mut args = vec![
            "up".to_string(),
            format!("--auth-key=file:{}", key_file.display()),
            format!("--hostname={hostname}"),
            "--timeout=60s".to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.cli(&args);
        let _ = fs::remove_file(&key_file);
        out
    }
}

/// Output as text, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
