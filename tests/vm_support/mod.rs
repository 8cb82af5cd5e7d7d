//! A real VM for the real-boot tests (`tests/real_boot.rs`): the Debian
//! image of `tests/vm/build-image.sh` booted under qemu with systemd as PID
//! 1 and cloud-init reading a NoCloud seed that carries the user-data
//! unchanged, and the download stand-in of `tests/vm/standin-server.py`.
//!
//! The guest's NICs, in PCI order:
//! - `eth0`, "public": a tap device moved into a network namespace the test
//!   creates (10.77.0.2/24, fd77::2/64; the namespace's side is .1/::1), a
//!   real L3 path for probing the guest from outside;
//! - `eth1`, the uplink: qemu's user network with `restrict=on` (the guest
//!   reaches nothing but what is forwarded): 10.0.2.100:443 to the download
//!   stand-in on the host's loopback (every download host resolves to it,
//!   the image's /etc/hosts), and 10.0.2.102 ports 80, 443, [`HELPER_DERP`]
//!   and [`HELPER_ACME`] to the tailnet helper (tests/tailnet_support),
//!   which listens on that same address in the test's namespace, so the
//!   DERP map names one address both sides reach; controlplane.tailscale.com
//!   resolves to it.
//!
//! `tailscale0` is the real one: the guest's tailscaled makes it when the
//! bootstrap's `tailscale up` joins the test's tailnet, and SSH arrives
//! through it, relayed by DERP, from the operator's tailscaled in the
//! test's namespace.
//!
//! Results come back over a virtio-serial port from the image's reporter,
//! which runs a script as root (`Vm::run`). Every process (qemu, the
//! stand-in) is stopped by its PID when its owner drops, also on a panic.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;

/// The guest's addresses on its public NIC, and the namespace's.
pub const PUBLIC_V4: &str = "10.77.0.2";
pub const PUBLIC_V6: &str = "fd77::2";

/// The tailnet helper's address, in the test's namespace and (through
/// guestfwd) in the guest, and its fixed ports beside control's 80 and 443.
/// The image's tailscaled drop-in names the ACME port.
pub const HELPER_IP: &str = "10.0.2.102";
pub const HELPER_DERP: u16 = 8443;
pub const HELPER_ACME: u16 = 14000;

/// The image and the stand-ins' files, built (or found in the cache) once.
pub struct Assets {
    pub image: PathBuf,
    pub standins: PathBuf,
    /// tests/tailnet/build.sh's directory (the real Tailscale, the helper).
    pub tailnet: PathBuf,
}

fn script_output(cmd: &mut Command, what: &str) -> PathBuf {
    let out = cmd.stderr(Stdio::inherit()).output().expect(what);
    assert!(out.status.success(), "{what} failed ({})", out.status);
    let text = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(text.lines().last().expect("a directory on the last line"))
}

/// The OpenClaw version the upgrade scenario moves to in place (a stand-in
/// package, built beside the pinned one: no newer real release exists).
pub const OPENCLAW_NEXT: &str = "2026.9.7";

impl Assets {
    /// The lock of the stand-in release `version` (tests/vm/build-standins.sh).
    pub fn lock(&self, version: &str) -> PathBuf {
        self.standins.join("locks").join(version)
    }
}

impl Assets {
    /// Build (or reuse) the image and the stand-ins for these pins. Fails
    /// loudly, naming the package, when a tool is missing.
    pub fn ensure(node: &str, openclaw: &str, nvm: &str) -> Assets {
        for (tool, package) in [
            ("qemu-system-x86_64", "qemu-system-x86"),
            ("qemu-img", "qemu-utils"),
            ("mmdebstrap", "mmdebstrap"),
            ("cloud-localds", "cloud-image-utils"),
            ("genisoimage", "genisoimage"),
            ("socat", "socat"),
            ("apt-ftparchive", "apt-utils"),
            ("dpkg-deb", "dpkg"),
            ("gpg", "gnupg"),
            ("openssl", "openssl"),
            ("xz", "xz-utils"),
            ("npm", "npm"),
            ("ip", "iproute2"),
            ("ping", "iputils-ping"),
        ] {
            support::require_tool(tool, package);
        }
        let vm = support::repo_dir().join("tests/vm");
        let image = script_output(
            Command::new("bash").arg(vm.join("build-image.sh")),
            "tests/vm/build-image.sh",
        );
        let tailnet = script_output(
            Command::new("bash").arg(support::repo_dir().join("tests/tailnet/build.sh")),
            "tests/tailnet/build.sh (needs Go 1.26 and the Go module proxy)",
        );
        let standins = script_output(
            Command::new("bash")
                .arg(vm.join("build-standins.sh"))
                .arg(&image)
                .arg(&tailnet)
                .args([node, openclaw, nvm, "trixie", OPENCLAW_NEXT]),
            "tests/vm/build-standins.sh",
        );
        Assets {
            image,
            standins,
            tailnet,
        }
    }
}

/// The download stand-in, on 127.0.0.1 and a port the kernel chose.
pub struct Standin {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
    /// The `HOST/PATH` prefixes served tampered ([`Standin::tamper`]).
    tamper_file: PathBuf,
}

impl Standin {
    /// Serve the stand-ins; requests under any of `fail` (`HOST/PATH`
    /// prefixes) answer 404.
    pub fn start(assets: &Assets, dir: &Path, fail: &[&str]) -> Standin {
        let log = dir.join("standin-requests.log");
        fs::write(&log, "").unwrap();
        let mut cmd = Command::new("python3");
        cmd.arg(support::repo_dir().join("tests/vm/standin-server.py"))
            .arg("--root")
            .arg(assets.standins.join("root"))
            .arg("--cert")
            .arg(assets.standins.join("cert.pem"))
            .arg("--key")
            .arg(assets.standins.join("key.pem"))
            .arg("--log")
            .arg(&log);
        for prefix in fail {
            cmd.args(["--fail", prefix]);
        }
        let tamper_file = dir.join("standin-tamper.list");
        fs::write(&tamper_file, "").unwrap();
        cmd.arg("--tamper-file").arg(&tamper_file);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs the stand-in");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the stand-in prints its port");
        Standin {
            child,
            port,
            log,
            tamper_file,
        }
    }

    /// From now on, serve every download under `prefixes` (`HOST/PATH`)
    /// with its last byte flipped (none: serve everything as built).
    pub fn tamper(&self, prefixes: &[&str]) {
        fs::write(&self.tamper_file, prefixes.join("\n")).unwrap();
    }

    /// Every request the guest made, one `METHOD HOST/PATH STATUS BYTES` line each.
    pub fn requests(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Standin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the reporter answered.
#[derive(Debug)]
pub struct Reply {
    pub rc: i64,
    pub out: String,
    pub err: String,
    pub boot_id: String,
}

/// One booted guest.
pub struct Vm {
    dir: PathBuf,
    qemu: Child,
    /// The network namespace holding the public NIC's other end.
    pub netns: String,
    tap: String,
    reporter: Option<BufReader<UnixStream>>,
    next_id: u64,
    pub boot_id: String,
}

/// `ACCEL` overrides the accelerator (a runner with real KVM:
/// `ACCEL="-accel kvm -cpu host"`); the default is qemu's TCG, which works
/// everywhere (this machine's /dev/kvm is a paravirtual one that cannot
/// run a stock kernel: ../shared/reference/VM-BOOT.md).
fn accel() -> Vec<String> {
    match std::env::var("ACCEL") {
        Ok(a) if !a.trim().is_empty() => a.split_whitespace().map(String::from).collect(),
        _ => "-accel tcg,thread=multi,tb-size=512 -cpu max"
            .split(' ')
            .map(String::from)
            .collect(),
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The guest's network, from the seed (as Hetzner's own network config
/// comes from its metadata service).
const NETWORK_CONFIG: &str = r#"version: 2
ethernets:
  eth0:
    addresses: [10.77.0.2/24, "fd77::2/64"]
  eth1:
    addresses: [10.0.2.15/24]
    routes: [{to: default, via: 10.0.2.2}]
"#;

impl Vm {
    /// Boot `user_data` (byte for byte as given) on a throwaway overlay of
    /// the image; `dir` holds the run's files (seed, overlay, serial log).
    /// The tailnet helper must listen on [`HELPER_IP`] in this namespace.
    pub fn boot(
        assets: &Assets,
        standin: &Standin,
        dir: &Path,
        user_data: &str,
        hostname: &str,
    ) -> Vm {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("user-data"), user_data).unwrap();
        fs::write(
            dir.join("meta-data"),
            format!("instance-id: clawprov-test-{hostname}\nlocal-hostname: {hostname}\n"),
        )
        .unwrap();
        fs::write(dir.join("network-config"), NETWORK_CONFIG).unwrap();
        let status = Command::new("cloud-localds")
            .current_dir(dir)
            .args(["-N", "network-config", "seed.iso", "user-data", "meta-data"])
            .status()
            .expect("cloud-localds");
        assert!(status.success(), "cloud-localds failed");
        let status = Command::new("qemu-img")
            .current_dir(dir)
            .args(["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b"])
            .arg(assets.image.join("base.qcow2"))
            .arg("disk.qcow2")
            .status()
            .expect("qemu-img");
        assert!(status.success(), "qemu-img create failed");

        // The public NIC: a tap qemu opens here, then moved into a
        // namespace of its own (qemu's descriptor stays valid).
        let tag = format!("{}", std::process::id() % 100000);
        let tap = format!("cpvt{tag}");
        let netns = format!("cpv-out-{tag}");
        let _ = Command::new("ip")
            .args(["link", "del", &tap])
            .stderr(Stdio::null())
            .status();
        ip(&["tuntap", "add", "dev", &tap, "mode", "tap"]);

        let socket = dir.join("reporter.sock");
        let serial = dir.join("serial.log");
        let mut cmd = Command::new("qemu-system-x86_64");
        cmd.args(accel())
            .args(["-smp", "2", "-m", "2048", "-nodefaults", "-no-user-config"])
            .args(["-display", "none", "-monitor", "none"])
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .arg("-kernel")
            .arg(assets.image.join("vmlinuz"))
            .arg("-initrd")
            .arg(assets.image.join("initrd.img"))
            .args(["-append", "root=/dev/vda rw console=ttyS0 net.ifnames=0"])
            .arg("-drive")
            .arg(format!(
                "file={},if=virtio,format=qcow2",
                dir.join("disk.qcow2").display()
            ))
            .arg("-drive")
            .arg(format!(
                "file={},if=virtio,format=raw,readonly=on",
                dir.join("seed.iso").display()
            ))
            .args([
                "-netdev",
                &format!("tap,id=pub,ifname={tap},script=no,downscript=no"),
            ])
            .args([
                "-device",
                "virtio-net-pci,netdev=pub,mac=52:54:00:c1:a0:01,addr=0x3",
            ])
            .arg("-netdev")
            .arg(format!(
                "user,id=up,net=10.0.2.0/24,restrict=on,\
                 guestfwd=tcp:10.0.2.100:443-cmd:socat - TCP:127.0.0.1:{}{}",
                standin.port,
                [80, 443, HELPER_DERP, HELPER_ACME]
                    .iter()
                    .map(|p| format!(
                        ",guestfwd=tcp:{HELPER_IP}:{p}-cmd:socat - TCP:{HELPER_IP}:{p}"
                    ))
                    .collect::<String>()
            ))
            .args([
                "-device",
                "virtio-net-pci,netdev=up,mac=52:54:00:c1:a0:02,addr=0x4",
            ])
            .args(["-device", "virtio-serial-pci"])
            .arg("-chardev")
            .arg(format!(
                "socket,id=rep,path={},server=on,wait=off",
                socket.display()
            ))
            .args([
                "-device",
                "virtserialport,chardev=rep,name=org.clawprov.reporter",
            ])
            .stdin(Stdio::null())
            .stdout(fs::File::create(dir.join("qemu.out")).unwrap())
            .stderr(fs::File::create(dir.join("qemu.err")).unwrap());
        let qemu = cmd.spawn().expect("qemu-system-x86_64 starts");
        let mut vm = Vm {
            dir: dir.to_path_buf(),
            qemu,
            netns: netns.clone(),
            tap: tap.clone(),
            reporter: None,
            next_id: 0,
            boot_id: String::new(),
        };
        // Wait for qemu's reporter socket: qemu has opened the tap by then.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            if let Ok(Some(status)) = vm.qemu.try_wait() {
                panic!(
                    "qemu exited at once ({status}): {}",
                    fs::read_to_string(dir.join("qemu.err")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "qemu made no reporter socket");
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &netns])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &netns]);
        ip(&["link", "set", &tap, "netns", &netns]);
        for args in [
            vec!["addr", "add", "10.77.0.1/24", "dev", &tap],
            vec!["-6", "addr", "add", "fd77::1/64", "dev", &tap, "nodad"],
            vec!["link", "set", &tap, "up"],
            vec!["link", "set", "lo", "up"],
        ] {
            let mut full = vec!["netns", "exec", &netns, "ip"];
            full.extend(args);
            ip(&full);
        }
        let stream = UnixStream::connect(&socket).expect("reporter socket");
        vm.reporter = Some(BufReader::new(stream));
        vm
    }

    /// The run's directory (serial log, seed, overlay).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Send one request; the reply with its id, or None after `wait`.
    fn request(
        &mut self,
        script: &str,
        stdin: &str,
        timeout: u64,
        wait: Duration,
    ) -> Option<Reply> {
        self.next_id += 1;
        let id = self.next_id;
        let req =
            serde_json::json!({"id": id, "script": script, "stdin": stdin, "timeout": timeout});
        let reader = self.reporter.as_mut().unwrap();
        let stream = reader.get_mut();
        stream.write_all(format!("{req}\n").as_bytes()).ok()?;
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(10))))
                .unwrap();
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(_) => return None,
            }
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if v["id"].as_u64() != Some(id) {
                continue; // a late answer to an earlier, abandoned request
            }
            return Some(Reply {
                rc: v["rc"].as_i64().unwrap_or(-1),
                out: v["out"].as_str().unwrap_or("").to_string(),
                err: v["err"].as_str().unwrap_or("").to_string(),
                boot_id: v["boot_id"].as_str().unwrap_or("").to_string(),
            });
        }
    }

    /// Wait until the reporter answers (the guest is up), at most `limit`.
    /// Returns the boot id.
    pub fn wait_up(&mut self, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.qemu.try_wait() {
                panic!("qemu exited ({status}){}", self.diagnostics());
            }
            if let Some(r) = self.request("true", "", 10, Duration::from_secs(3)) {
                self.boot_id = r.boot_id.clone();
                return r.boot_id;
            }
        }
        panic!(
            "the guest's reporter did not answer within {limit:?}{}",
            self.diagnostics()
        );
    }

    /// Run `script` with bash as root in the guest, `stdin` on its input.
    pub fn run_with_stdin(&mut self, script: &str, stdin: &str) -> Reply {
        match self.request(script, stdin, 300, Duration::from_secs(320)) {
            Some(r) => r,
            None => panic!(
                "the reporter did not answer `{script}`{}",
                self.diagnostics()
            ),
        }
    }

    pub fn run(&mut self, script: &str) -> Reply {
        self.run_with_stdin(script, "")
    }

    /// `run`, asserting exit 0; its stdout.
    pub fn check(&mut self, what: &str, script: &str) -> String {
        let r = self.run(script);
        assert_eq!(
            r.rc, 0,
            "{what}: `{script}` exited {}\nstdout: {}\nstderr: {}",
            r.rc, r.out, r.err
        );
        r.out
    }

    /// Reboot the guest and wait until it is back (a new boot id).
    pub fn reboot(&mut self, limit: Duration) -> String {
        let before = self.boot_id.clone();
        let _ = self.request("systemctl reboot", "", 10, Duration::from_secs(5));
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(r) = self.request("true", "", 10, Duration::from_secs(3)) {
                if r.boot_id != before {
                    self.boot_id = r.boot_id.clone();
                    return r.boot_id;
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        panic!(
            "the guest did not come back within {limit:?}{}",
            self.diagnostics()
        );
    }

    /// A command in the public NIC's namespace ("outside" the server).
    pub fn outside(&self, args: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &self.netns])
            .args(args)
            .output()
            .expect("ip netns exec")
    }

    /// The serial console's last lines and, if the reporter answers, the
    /// bootstrap log's and the journal's: printed when a scenario fails.
    pub fn diagnostics(&mut self) -> String {
        let serial = fs::read_to_string(self.dir.join("serial.log")).unwrap_or_default();
        let tail: Vec<&str> = serial.lines().rev().take(40).collect();
        let mut text = format!(
            "\n--- serial console (last 40 lines of {}) ---\n{}",
            self.dir.join("serial.log").display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        if self.reporter.is_some() {
            let script = "tail -n 30 /var/log/clawprov-bootstrap.log 2>&1; echo '--- cloud-init'; \
                          cloud-init status --long 2>&1 | tail -n 15; echo '--- journal'; \
                          journalctl -b --no-pager -n 40 2>&1";
            match self.request(script, "", 30, Duration::from_secs(30)) {
                Some(r) => text.push_str(&format!("\n--- reporter ---\n{}{}", r.out, r.err)),
                None => text.push_str("\n--- reporter: no answer ---"),
            }
        }
        text
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        let _ = self.qemu.kill();
        let _ = self.qemu.wait();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.tap])
            .stderr(Stdio::null())
            .status();
    }
}
