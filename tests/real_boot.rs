//! Real boot: the user-data that `clawprov up` sent to the Hetzner
//! simulator boots a real Debian VM (qemu, systemd as PID 1, cloud-init
//! from a NoCloud seed), and `up`'s host phase runs against that guest over
//! SSH: real `cloud-init status --wait`, real `systemctl --user` under
//! linger, real UFW, sshd, file modes and shredding. The tailnet is real
//! too (tests/tailnet_support): the guest installs Tailscale's own
//! tailscale and tailscaled (v1.102.5, built from its Go module, packaged
//! as Tailscale packages them, in the test apt repository) and joins
//! Tailscale's test control plane, which asks the Tailscale API simulator
//! about every key; the operator's side is a real tailscaled with a TUN in
//! the test's network namespace, so `up` finds the node by its MagicDNS
//! name and reaches its SSH over the tailnet (DERP-relayed), and Serve's
//! certificate comes from an ACME server (Pebble) through DNS-01. Only the
//! downloads are stand-ins (tests/vm/, tests/README.md): the OpenClaw
//! package (the contract test proves the real one); nvm and Node are the
//! real releases.
//!
//! Two VMs, one after the other (two cores; TCG boots take ~2 min):
//! - `full_up_second_up_outside_reboot`: the scenarios *full up*, *second
//!   up*, *outside* and *reboot* on one guest, in that order, since each
//!   needs the one before; a failure names its scenario;
//! - `broken_download`: Node's tarball answers 404.
//!
//! Canary: every secret is a unique marker, looked for in every file of the
//! guest, its journal, its serial console, and everything `up` printed.

mod support;
mod tailnet_support;
mod vm_support;

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clawprov::sim::{self, SimConfig};
use tailnet_support::{Daemon, Listen, Tailnet};
use vm_support::{Assets, Standin, Vm, HELPER_ACME, HELPER_DERP, HELPER_IP, PUBLIC_V4, PUBLIC_V6};

/// One VM at a time: two TCG guests on two cores would each take twice as long.
static ONE_VM: Mutex<()> = Mutex::new(());

const HOSTNAME: &str = "gw-vmboot";
const SERVICE: &str = "openclaw";
const ADMIN: &str = "clawadmin";

/// The stack: the shipped defaults (pins, users, port) but for its names,
/// the stand-in release's lock (`openclaw.lock`, as a stack names a lock
/// clawprov does not vendor) and, when given, a Tailscale pin (the test
/// repository holds 1.102.5 and the newer 1.102.6).
fn stack_yaml(name: &str, tailscale_version: Option<&str>, lock: &Path) -> String {
    let pin = tailscale_version.map_or(String::new(), |v| format!("  version: {v}\n"));
    format!(
        "name: {name}\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: {HOSTNAME}\n  tags: [tag:openclaw]\n  auth: oauth\n{pin}\
         openclaw:\n  lock: {}\n",
        lock.display()
    )
}

/// A project: the stack file, its vault sealed to a fresh identity, the
/// canaries, the Hetzner simulator taking the vault's token, and the
/// tailnet in front of its Tailscale simulator with the operator's machine
/// on it.
struct Project {
    home: tempfile::TempDir,
    stack: PathBuf,
    canaries: Vec<String>,
    gateway_token: String,
    // Dropped first: the operator's tailscaled, then the helper.
    operator: Daemon,
    tailnet: Tailnet,
    sim: sim::SimServer,
    _rt: tokio::runtime::Runtime,
}

fn project(name: &str, tailscale_version: Option<&str>, assets: &Assets) -> Project {
    let home = tempfile::tempdir().unwrap();
    let lock = assets.lock(clawprov::stack::DEFAULT_OPENCLAW_VERSION);
    let (stack, canaries, tag) = support::canary_stack(
        home.path(),
        name,
        &stack_yaml(name, tailscale_version, &lock),
        &[
            "gateway_token",
            "claude_setup_token",
            "telegram_bot_token",
            "tailscale_auth_key",
            "tailscale_oauth_client_id",
            "tailscale_oauth_client_secret",
            "hcloud_token",
        ],
    );
    // The Tailscale simulator knows the vault's OAuth client; the guest's
    // real tailscaled joins through the test control plane in front of it.
    let mut config = SimConfig {
        tokens: vec![format!("CANARYhcloudtoken{tag}")],
        action_duration: Duration::from_millis(200),
        ..SimConfig::default()
    };
    config.tailscale.oauth_clients = vec![sim::OAuthClient {
        id: format!("CANARYtailscaleoauthclientid{tag}"),
        secret: format!("CANARYtailscaleoauthclientsecret{tag}"),
        scopes: vec!["auth_keys".into(), "devices:core".into()],
        tags: vec!["tag:openclaw".into()],
    }];
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt
        .block_on(sim::serve(config, SocketAddr::from(([127, 0, 0, 1], 0))))
        .expect("simulator");
    let tailnet = Tailnet::start(
        &home.path().join("tailnet"),
        &format!("http://{}", sim.addr),
        sim::DEFAULT_MAGIC_DNS_SUFFIX,
        &Listen {
            ip: HELPER_IP.into(),
            derp: HELPER_DERP,
            acme: HELPER_ACME,
            ca: Some((assets.image.join("ca.crt"), assets.image.join("ca.key"))),
        },
    );
    // Every client from here on (clawprov, the operator's tailscaled)
    // trusts the helper's CA and Pebble's root, as a real machine trusts
    // Let's Encrypt.
    std::env::set_var("SSL_CERT_FILE", tailnet.roots());
    // The operator's laptop: a person's key, untagged.
    let key = sim
        .sim
        .with(|w| {
            w.tailscale.mint_key(
                &sim::tailscale::Actor::ApiToken,
                &sim::tailscale::KeyRequest {
                    preauthorized: true,
                    expiry_seconds: 3600,
                    ..Default::default()
                },
            )
        })
        .expect("the operator's key");
    let operator = tailnet.operator(&key.key);
    Project {
        home,
        stack,
        canaries,
        gateway_token: format!("CANARYgatewaytoken{tag}"),
        operator,
        tailnet,
        sim,
        _rt: rt,
    }
}

impl Project {
    /// The last lines of the tailnet's logs (the helper: control plane,
    /// DERP, ACME; the operator's tailscaled), for a failure's message.
    fn tailnet_logs(&self) -> String {
        let tail = |text: String| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(25)..].join("\n")
        };
        format!(
            "\n--- tailnet helper ({}) ---\n{}\n--- operator's tailscaled ({}) ---\n{}",
            self.tailnet.helper.log.display(),
            tail(self.tailnet.helper.log_text()),
            self.operator.proc.log.display(),
            tail(self.operator.proc.log_text())
        )
    }

    /// The stack's devices in the Tailscale simulator.
    fn devices(&self) -> Vec<sim::tailscale::devices::Device> {
        self.sim
            .sim
            .with(|w| w.tailscale.devices())
            .into_iter()
            .filter(|d| d.hostname == HOSTNAME)
            .collect()
    }
}

/// `clawprov up` as a user runs it, in the background: stdout and stderr
/// go to files; killed by its PID if the test ends first.
struct Up {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Up {
    fn start(p: &Project, dir: &Path, n: usize) -> Up {
        let out = dir.join(format!("up{n}.stdout"));
        let err = dir.join(format!("up{n}.stderr"));
        let mut cmd = support::clawprov(p.home.path());
        // To watch a scenario catch a broken template: copy templates/,
        // break the copy, and point this at it (tests/README.md).
        if let Some(dir) = std::env::var_os("CLAWPROV_REAL_BOOT_TEMPLATES") {
            cmd.arg("--templates").arg(dir);
        }
        let child = cmd
            .current_dir(p.home.path())
            .arg("-s")
            .arg(&p.stack)
            .args([
                "--json",
                "--hcloud-endpoint",
                &p.sim.endpoint(),
                "--tailscale-endpoint",
                &p.sim.tailscale_endpoint(),
                "up",
                "--yes",
            ])
            // The preflight asks nodejs.org and the npm registry, out of
            // reach here (preflight.rs tests it against stand-ins).
            .arg("--offline")
            // The tailnet vantage too (Serve's HTTPS from the operator's
            // machine); "outside" probes the simulator's documentation
            // addresses, which lead nowhere from here: the outside scenario
            // probes the guest's public NIC from its namespace instead.
            .args(["--verify", "api,tailnet,host"])
            // A TCG guest: ~1 min to sshd, ~2 min to the end of cloud-init.
            .args(["--reach-timeout", "600", "--host-timeout", "600"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .expect("clawprov up starts");
        Up { child, out, err }
    }

    /// Wait for it to exit (at most `limit`): (code, stdout, stderr).
    fn finish(mut self, limit: Duration) -> (i32, String, String) {
        let deadline = Instant::now() + limit;
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break -1;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        (
            code,
            fs::read_to_string(&self.out).unwrap_or_default(),
            fs::read_to_string(&self.err).unwrap_or_default(),
        )
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The user-data `up` sent with its server, once the simulator has it.
fn user_data_sent(p: &Project, up: &mut Up) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sent: Vec<String> = p.sim.sim.with(|w| {
            w.servers
                .values()
                .filter_map(|s| s.user_data.clone())
                .collect()
        });
        if let Some(ud) = sent.into_iter().next() {
            return ud;
        }
        if let Some(status) = up.child.try_wait().unwrap() {
            panic!(
                "up exited ({status}) before creating the server:\n{}",
                fs::read_to_string(&up.err).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "up created no server in 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Mutating requests to either API (an OAuth token request changes nothing).
fn mutations(p: &Project) -> Vec<String> {
    p.sim
        .request_log()
        .into_iter()
        .filter(|r| r.method != "GET" && !r.path.starts_with("/api/v2/oauth/token"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn assets() -> Assets {
    // The shipped pins (the stand-ins are built for them).
    let yaml =
        format!("name: pins\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: {HOSTNAME}\n");
    let stack = clawprov::stack::parse(yaml.as_bytes(), Path::new("s.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    Assets::ensure(
        &stack.node.version,
        &stack.openclaw.version,
        &stack.node.nvm_version,
    )
}

/// The run's directory: kept under the target dir so a failure's serial
/// log and outputs can be read afterwards.
fn run_dir(name: &str) -> PathBuf {
    let dir = support::repo_dir()
        .join("target/real-boot")
        .join(format!("{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Assert, or fail with the scenario's name and the guest's diagnostics.
macro_rules! ensure {
    ($vm:expr, $scenario:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            let why = format!($($msg)+);
            panic!("scenario {}: {}{}", $scenario, why, $vm.diagnostics());
        }
    };
}

fn gateway_state(vm: &mut Vm) -> String {
    let r = vm.run(&format!(
        "uid=$(id -u {SERVICE}); runuser -u {SERVICE} -- env XDG_RUNTIME_DIR=/run/user/$uid \
         systemctl --user show -p ActiveState -p UnitFileState -p MainPID clawprov-gateway.service"
    ));
    r.out
}

/// Inside the guest, as a careful operator would check by hand: UFW,
/// sshd, listeners, the metadata block, the gateway under linger, modes,
/// the shredded traces, and no canary anywhere but the env file.
fn host_holds(vm: &mut Vm, scenario: &str, canaries: &[String]) {
    let ufw = vm.check("ufw", "ufw status verbose");
    ensure!(
        vm,
        scenario,
        ufw.contains("Status: active"),
        "UFW is not active:\n{ufw}"
    );
    // UFW prints "disabled (routed)" while the kernel forwards nothing
    // (the sysctl hardening), whatever the routed policy: so the policy is
    // read from its file, and forwarding from the kernel.
    ensure!(
        vm,
        scenario,
        ufw.contains("Default: deny (incoming), allow (outgoing), disabled (routed)"),
        "UFW's defaults are not deny in / routing disabled:\n{ufw}"
    );
    let routed = vm.check(
        "routed policy",
        "grep '^DEFAULT_FORWARD_POLICY=' /etc/default/ufw; grep '^IPV6=' /etc/default/ufw; \
         sysctl -n net.ipv4.ip_forward net.ipv6.conf.all.forwarding",
    );
    ensure!(
        vm,
        scenario,
        routed == "DEFAULT_FORWARD_POLICY=\"DROP\"\nIPV6=yes\n0\n0\n",
        "routed policy, IPv6 and forwarding:\n{routed}"
    );
    let allows: Vec<&str> = ufw.lines().filter(|l| l.contains("ALLOW")).collect();
    ensure!(
        vm,
        scenario,
        allows.len() == 2
            && allows.iter().all(|l| {
                l.starts_with("Anywhere on tailscale0")
                    || l.starts_with("Anywhere (v6) on tailscale0")
            })
            && allows.iter().any(|l| l.contains("(v6)")),
        "UFW allows more (or less) than tailscale0 for IPv4 and IPv6: {allows:?}"
    );

    let sshd = vm.check("sshd -T", "sshd -T");
    for want in [
        "passwordauthentication no",
        "kbdinteractiveauthentication no",
        "permitrootlogin no",
        "pubkeyauthentication yes",
        &format!("allowusers {ADMIN}"),
    ] {
        ensure!(
            vm,
            scenario,
            sshd.lines().any(|l| l == want),
            "`sshd -T` lacks `{want}`"
        );
    }

    let listeners = vm.check("listeners", "ss -ltnHp");
    for line in listeners.lines() {
        let local = line.split_whitespace().nth(3).unwrap_or("");
        let loopback = local.starts_with("127.") || local.starts_with("[::1]");
        // tailscaled's peer API, on the node's own tailnet addresses only
        // (the tailnet's 100.64.0.0/10 and fd7a:115c:a1e0::/48).
        let peer_api = line.contains("\"tailscaled\"")
            && (local.starts_with("100.") || local.starts_with("[fd7a:115c:a1e0:"));
        ensure!(
            vm,
            scenario,
            loopback || peer_api || line.contains("\"sshd\""),
            "a listener that is neither loopback, sshd nor tailscaled's peer API: {line}"
        );
    }
    ensure!(
        vm,
        scenario,
        listeners
            .lines()
            .any(|l| l.split_whitespace().nth(3) == Some("127.0.0.1:18789")),
        "the gateway does not listen on 127.0.0.1:18789:\n{listeners}"
    );

    let rules = vm.check(
        "metadata rules",
        "iptables -S OUTPUT | sed -n 2p; ip6tables -S OUTPUT | sed -n 2p",
    );
    ensure!(
        vm,
        scenario,
        rules.contains("-A OUTPUT -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j REJECT")
            && rules
                .contains("-A OUTPUT -d fe80::a9fe:a9fe/128 -m owner ! --uid-owner 0 -j REJECT"),
        "the metadata REJECT rules are not first in OUTPUT:\n{rules}"
    );
    let r = vm.run(&format!(
        "runuser -u {SERVICE} -- curl -sS -m 5 http://169.254.169.254/hetzner/v1/userdata"
    ));
    ensure!(
        vm,
        scenario,
        // curl's 7: the connection failed at once (REJECT), not 28 (a timeout).
        r.rc == 7,
        "the service user reached (or timed out on) the metadata service: exit {} {}",
        r.rc,
        r.err
    );

    let state = gateway_state(vm);
    ensure!(
        vm,
        scenario,
        state.contains("ActiveState=active") && state.contains("UnitFileState=enabled"),
        "the gateway's user unit is not active and enabled:\n{state}"
    );
    let linger = vm.check("linger", &format!("loginctl show-user {SERVICE} -p Linger"));
    ensure!(
        vm,
        scenario,
        linger.trim() == "Linger=yes",
        "linger: {linger}"
    );

    let modes = vm.check(
        "modes",
        &format!(
            "cd /home/{SERVICE} && stat -c '%a %U:%G %n' . .openclaw .openclaw/openclaw.json \
             .config/openclaw .config/openclaw/gateway.env"
        ),
    );
    let want = format!(
        "750 {SERVICE}:{SERVICE} .\n700 {SERVICE}:{SERVICE} .openclaw\n\
         600 {SERVICE}:{SERVICE} .openclaw/openclaw.json\n700 {SERVICE}:{SERVICE} .config/openclaw\n\
         600 {SERVICE}:{SERVICE} .config/openclaw/gateway.env\n"
    );
    ensure!(
        vm,
        scenario,
        modes == want,
        "modes and owners:\n{modes}\nwanted:\n{want}"
    );

    let traces = vm.run(
        "ls -d /var/log/clawprov-bootstrap.log /run/clawprov/ts-authkey \
         /var/lib/cloud/instances/*/user-data.txt* /var/lib/cloud/instance/user-data.txt* 2>/dev/null",
    );
    ensure!(
        vm,
        scenario,
        traces.out.trim().is_empty(),
        "bootstrap traces left: {}",
        traces.out
    );

    // Every file on the guest's disk and runtime dirs, and the journal.
    // The canaries arrive on stdin, never in an argv.
    let scan = vm.run_with_stdin(
        "pats=$(cat); \
         grep -rlF -f <(printf '%s\\n' \"$pats\") /etc /home /root /var /tmp /run /usr/local /opt /srv 2>/dev/null | sort; \
         echo '--- journal'; journalctl -b -o export --no-pager | grep -cF -f <(printf '%s\\n' \"$pats\")",
        &canaries.join("\n"),
    );
    let (files, journal) = scan
        .out
        .split_once("--- journal")
        .unwrap_or((&scan.out, ""));
    let leaked: Vec<&str> = files
        .lines()
        .filter(|f| *f != format!("/home/{SERVICE}/.config/openclaw/gateway.env"))
        // cloud-init's pickled datasource holds the user-data (and so the
        // Tailscale key, spent by now) and must stay for later boots; it
        // is root-only, like the metadata service it came from.
        .filter(|f| !f.starts_with("/var/lib/cloud/instances/") || !f.ends_with("/obj.pkl"))
        .collect();
    ensure!(
        vm,
        scenario,
        leaked.is_empty(),
        "secret canaries in {leaked:?}"
    );
    ensure!(
        vm,
        scenario,
        journal.trim() == "0",
        "secret canaries in {} journal entries",
        journal.trim()
    );
    let pkl = vm.check(
        "obj.pkl",
        "stat -c '%a %U' /var/lib/cloud/instances/*/obj.pkl",
    );
    ensure!(
        vm,
        scenario,
        matches!(pkl.trim(), "400 root" | "600 root"),
        "obj.pkl is not root-only: {pkl}"
    );
}

/// The service user stayed in its home while its code ran, and npm ran no
/// lifecycle script (the supply-chain issue: `npm ci --ignore-scripts`).
/// The OpenClaw stand-in's postinstall
/// (`vm/standins/openclaw/hostile-postinstall.mjs`) is what a malicious
/// package of the tree could do if npm ran it: plant links to
/// /etc/systemd/system at home paths root creates later, look for the
/// root-only log's descriptor, leave a process behind that plants an
/// enabled root unit. It must never have run (no report in the home);
/// and after the boot nothing outside the home (on the root and runtime
/// file systems) is the service user's, no unit of its appeared under
/// /etc/systemd, and /etc/systemd/system is still root's 0755.
fn service_user_contained(vm: &mut Vm, scenario: &str) {
    let report = vm.run(&format!(
        "cat /home/{SERVICE}/.clawprov-test-hostile.json 2>/dev/null; \
         pgrep -u {SERVICE} -af hostile-postinstall"
    ));
    ensure!(
        vm,
        scenario,
        report.out.trim().is_empty(),
        "the stand-in's postinstall ran (npm ran a lifecycle script):\n{}",
        report.out
    );
    let owned = vm.check(
        "owned by the service user",
        &format!(
            "uid=$(id -u {SERVICE}); \
             find / /run /tmp /var/tmp /dev/shm -xdev \\( -path /home/{SERVICE} -o -path /run/user/$uid \\) -prune \
             -o \\( -user {SERVICE} -o -group {SERVICE} \\) -print 2>/dev/null | sort -u"
        ),
    );
    ensure!(
        vm,
        scenario,
        owned.trim().is_empty(),
        "the service user owns paths outside its home:\n{owned}"
    );
    let units = vm.check(
        "units",
        "stat -c '%a %U:%G' /etc/systemd/system; \
         find /etc/systemd /run/systemd/system -name 'clawprov-test-evil*' -o -name clawprov-gateway.service 2>/dev/null",
    );
    ensure!(
        vm,
        scenario,
        units == "755 root:root\n",
        "/etc/systemd after the boot (mode, owner, units the service user planted):\n{units}"
    );
}

/// From the public NIC's namespace: TCP 22, 443 and the gateway port time
/// out on IPv4 and IPv6 (a refusal would mean the packet reached a host
/// that answers), while ICMP echo gets through (the path is real).
fn outside_is_closed(vm: &mut Vm, scenario: &str) {
    for (flag, addr) in [("-4", PUBLIC_V4), ("-6", PUBLIC_V6)] {
        let ping = vm.outside(&["ping", flag, "-c", "1", "-W", "10", addr]);
        ensure!(
            vm,
            scenario,
            ping.status.success(),
            "no ICMP echo from {addr}: the outside path is broken, so the port probes prove nothing"
        );
        for port in ["22", "443", "18789"] {
            let probe = vm.outside(&[
                "python3",
                "-c",
                "import socket,sys\n\
                 s=socket.socket(socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET)\n\
                 s.settimeout(4)\n\
                 try:\n  s.connect((sys.argv[1],int(sys.argv[2]))); print('open')\n\
                 except socket.timeout: print('timeout')\n\
                 except ConnectionRefusedError: print('refused')\n",
                addr,
                port,
            ]);
            let seen = String::from_utf8_lossy(&probe.stdout).trim().to_string();
            ensure!(
                vm,
                scenario,
                seen == "timeout",
                "TCP {addr} port {port} from outside: {seen} (wanted a timeout; {})",
                if seen == "refused" {
                    "a reset means the firewall did not drop it"
                } else {
                    "the port is reachable"
                }
            );
        }
    }
}

/// `clawprov verify --only host` against the guest: status and detail by id.
fn verify_host(p: &Project) -> (i32, BTreeMap<String, (String, String)>) {
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args([
            "--json",
            "--hcloud-endpoint",
            &p.sim.endpoint(),
            "verify",
            "--only",
            "host",
        ])
        .output()
        .expect("verify runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    no_canary_in(&stdout, "verify's output", &p.canaries);
    no_canary_in(
        &String::from_utf8_lossy(&out.stderr),
        "verify's stderr",
        &p.canaries,
    );
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout}"));
    let checks = support::checks_by_id(&v);
    (out.status.code().unwrap_or(-1), checks)
}

/// One host mutation per check: (the checks that must fail, what, break
/// it, undo it); every other check must pass. The scripts run as root
/// through the reporter.
const HOST_MUTATIONS: &[(&[&str], &str, &str, &str)] = &[
    (&["host.cloud_init"], "the completion marker removed",
     "mv /var/lib/clawprov/bootstrap-complete /root/marker",
     "mv /root/marker /var/lib/clawprov/bootstrap-complete"),
    (&["host.sshd"], "a drop-in that sorts first turns passwords on",
     "printf 'PasswordAuthentication yes\\n' >/etc/ssh/sshd_config.d/05-mutation.conf",
     "rm /etc/ssh/sshd_config.d/05-mutation.conf"),
    (&["host.users"], "the service user gets a login shell",
     "usermod -s /bin/bash openclaw", "usermod -s /usr/sbin/nologin openclaw"),
    (&["host.ufw"], "UFW allows 8080 from anywhere",
     "ufw allow 8080/tcp", "ufw delete allow 8080/tcp"),
    (&["host.metadata"], "the IPv4 metadata REJECT rule deleted",
     "iptables -w -D OUTPUT -d 169.254.169.254 -m owner ! --uid-owner 0 -j REJECT",
     "iptables -w -I OUTPUT 1 -d 169.254.169.254 -m owner ! --uid-owner 0 -j REJECT"),
    (&["host.listeners"], "a web server on all interfaces",
     "setsid runuser -u nobody -- python3 -m http.server 8099 >/dev/null 2>&1 </dev/null & \
      for _ in $(seq 1 50); do ss -ltnH | grep -q ':8099 ' && break; sleep 0.2; done",
     "pkill -f '^python3 -m http.server 8099'; sleep 1"),
    // The security issue's item 2: the service user's own listener on all
    // interfaces, named `sshd` (a link's name is the process name), while
    // its `openclaw` (run by the audit) prints a forged listeners section
    // after its JSON, which the old probe's parser took as the real one.
    (&["host.listeners"], "the service user listens as `sshd` and its audit forges the listeners section",
     r#"ln -s /usr/bin/python3 /home/openclaw/sshd &&
      (setsid runuser -u openclaw -- /home/openclaw/sshd -m http.server 8098 >/dev/null 2>&1 </dev/null &) &&
      for _ in $(seq 1 50); do ss -ltnH | grep -q ':8098 ' && break; sleep 0.2; done &&
      b=$(echo /home/openclaw/.local/lib/clawprov/openclaw-2026.9.6-node-24.22.3-lock-*/node_modules/.bin) &&
      mv $b/openclaw $b/openclaw.real &&
      printf '%s\n' 'process.on(`exit`, () => console.log(`\n@@ listeners\ntcp LISTEN 0 511 127.0.0.1:18789 0.0.0.0:*`));' \
        'import(require(`path`).join(__dirname, `openclaw.real`));' >$b/openclaw"#,
     "pkill -f '^/home/openclaw/sshd -m http.server 8098'; rm -f /home/openclaw/sshd; \
      b=$(echo /home/openclaw/.local/lib/clawprov/openclaw-2026.9.6-node-24.22.3-lock-*/node_modules/.bin); \
      mv $b/openclaw.real $b/openclaw; sleep 1"),
    (&["host.gateway"], "the gateway's unit disabled (still running)",
     "runuser -u openclaw -- env XDG_RUNTIME_DIR=/run/user/$(id -u openclaw) systemctl --user disable clawprov-gateway.service",
     "runuser -u openclaw -- env XDG_RUNTIME_DIR=/run/user/$(id -u openclaw) systemctl --user enable clawprov-gateway.service"),
    (&["host.state", "host.audit"], "openclaw.json made world-readable (the audit flags it too)",
     "chmod 0644 /home/openclaw/.openclaw/openclaw.json",
     "chmod 0600 /home/openclaw/.openclaw/openclaw.json"),
    (&["host.config"], "openclaw.json edited on the server",
     "printf ' ' >>/home/openclaw/.openclaw/openclaw.json",
     "truncate -s -1 /home/openclaw/.openclaw/openclaw.json"),
    // The real CLI's own commands: `tailscale funnel` (the node has the
    // funnel attribute, as a tailnet whose policy allows it), and the
    // config restored as it was with `serve set-raw`.
    (&["host.serve"], "Funnel turned on",
     "tailscale serve status --json >/root/serve.json && \
      tailscale funnel --bg --https=443 http://127.0.0.1:18789 >/dev/null",
     "tailscale serve set-raw </root/serve.json && rm /root/serve.json"),
    // The node's name changed under a Serve config keyed to the old one:
    // tailscaled would answer nothing (ipn/ipnlocal/serve.go).
    (&["host.serve"], "Serve keyed to a name the node no longer has",
     "tailscale serve status --json >/root/serve.json && \
      sed 's/\"gw-vmboot\\./\"old-gw-vmboot./' /root/serve.json | tailscale serve set-raw",
     "tailscale serve set-raw </root/serve.json && rm /root/serve.json"),
    (&["host.traces"], "a bootstrap log back in /var/log",
     "touch /var/log/clawprov-bootstrap.log", "rm /var/log/clawprov-bootstrap.log"),
    (&["host.secrets"], "the gateway token copied to /tmp",
     "cat >/tmp/leaked-token", "rm /tmp/leaked-token"),
    (&["host.upgrades"], "unattended-upgrades turned off",
     "cp /etc/apt/apt.conf.d/20auto-upgrades /root/20auto && \
      sed -i 's/Unattended-Upgrade \"1\"/Unattended-Upgrade \"0\"/' /etc/apt/apt.conf.d/20auto-upgrades",
     "mv /root/20auto /etc/apt/apt.conf.d/20auto-upgrades"),
    // Another version of a locked package is what the tree check sees too.
    (&["host.versions", "host.tree"], "another OpenClaw version installed",
     "f=$(echo /home/openclaw/.local/lib/clawprov/openclaw-2026.9.6-node-24.22.3-lock-*/node_modules/openclaw/package.json); \
      sed -i 's/\"version\": \"2026.9.6\"/\"version\": \"2026.9.5\"/' $f",
     "f=$(echo /home/openclaw/.local/lib/clawprov/openclaw-2026.9.6-node-24.22.3-lock-*/node_modules/openclaw/package.json); \
      sed -i 's/\"version\": \"2026.9.5\"/\"version\": \"2026.9.6\"/' $f"),
    // A package the lock does not have, added by the service user.
    (&["host.tree"], "a package added to the release's tree",
     "d=$(echo /home/openclaw/.local/lib/clawprov/openclaw-2026.9.6-node-24.22.3-lock-*/node_modules)/left-pad && \
      runuser -u openclaw -- mkdir $d && \
      printf '{\"name\":\"left-pad\",\"version\":\"1.3.0\"}' | runuser -u openclaw -- tee $d/package.json >/dev/null",
     "rm -rf /home/openclaw/.local/lib/clawprov/openclaw-2026.9.6-node-24.22.3-lock-*/node_modules/left-pad"),
    // Not `tailscale set --ssh`: the real client refuses it on a tailnet
    // whose policy does not enable Tailscale SSH ("not enabled on Tailnet"),
    // and where it is enabled, Tailscale SSH takes the tailnet's port 22,
    // whose host key clawprov has not pinned. A subnet route is something
    // any node can advertise.
    (&["host.tailscale"], "a subnet route advertised",
     "tailscale set --advertise-routes=10.99.0.0/24", "tailscale set --advertise-routes="),
    (&["host.sshd", "host.ssh_login"], "passwords turned on and sshd reloaded",
     "printf 'PasswordAuthentication yes\\nAuthenticationMethods any\\n' >/etc/ssh/sshd_config.d/05-mutation.conf && systemctl reload ssh",
     "rm /etc/ssh/sshd_config.d/05-mutation.conf && systemctl reload ssh"),
];

fn host_corpus(vm: &mut Vm, p: &Project) {
    let scenario = "verify corpus";
    let started = Instant::now();
    let (code, checks) = verify_host(p);
    ensure!(
        vm,
        scenario,
        code == 0,
        "the unbroken host does not verify: {checks:?}"
    );
    let host_ids: Vec<&str> = clawprov::verify::CATALOG
        .iter()
        .map(|s| s.id)
        .filter(|id| id.starts_with("host."))
        .collect();
    for id in &host_ids {
        ensure!(
            vm,
            scenario,
            HOST_MUTATIONS.iter().any(|m| m.0.contains(id)),
            "no mutation covers {id}"
        );
    }
    let baseline = started.elapsed().as_secs_f32();
    for (ids, why, apply, undo) in HOST_MUTATIONS {
        let r = vm.run_with_stdin(apply, &p.gateway_token);
        ensure!(
            vm,
            scenario,
            r.rc == 0,
            "{why}: `{apply}` exited {}: {}",
            r.rc,
            r.err
        );
        let (code, checks) = verify_host(p);
        let r = vm.run(undo);
        ensure!(
            vm,
            scenario,
            r.rc == 0,
            "{why}: undo `{undo}` exited {}: {}",
            r.rc,
            r.err
        );
        ensure!(
            vm,
            scenario,
            code == 1,
            "{why}: verify exited {code}: {checks:?}"
        );
        for (other, (status, detail)) in &checks {
            if ids.contains(&other.as_str()) {
                ensure!(
                    vm,
                    scenario,
                    status == "fail",
                    "{why}: {other} is {status}: {detail}"
                );
            } else {
                ensure!(
                    vm,
                    scenario,
                    status == "pass",
                    "{why}: {other} is {status} ({detail}); only {ids:?} should fail"
                );
            }
        }
    }
    let (code, checks) = verify_host(p);
    ensure!(
        vm,
        scenario,
        code == 0,
        "after undoing every mutation: {checks:?}"
    );
    eprintln!(
        "real boot: verify --only host took {baseline:.1} s; {} mutations in {} s",
        HOST_MUTATIONS.len(),
        started.elapsed().as_secs()
    );
}

fn no_canary_in(text: &str, place: &str, canaries: &[String]) {
    for c in canaries {
        assert!(!text.contains(c.as_str()), "a secret canary is in {place}");
    }
}

/// `up` against the simulator, and a VM booting exactly the user-data it
/// sent: the guest, that user-data, and what up returned.
fn up_on_a_fresh_vm(
    p: &Project,
    assets: &Assets,
    standin: &Standin,
    dir: &Path,
) -> (Vm, String, (i32, String, String)) {
    let mut up = Up::start(p, dir, 1);
    let user_data = user_data_sent(p, &mut up);
    if fault() == "control-stops" {
        // The control plane (and DERP with it) stops answering before the
        // guest boots: SIGSTOP, its sockets left open.
        p.tailnet.helper.signal("STOP");
    }
    let mut vm = Vm::boot(assets, standin, &dir.join("vm"), &user_data, HOSTNAME);
    vm.wait_up(Duration::from_secs(300));
    let result = up.finish(Duration::from_secs(900));
    (vm, user_data, result)
}

/// `CLAWPROV_REAL_BOOT_FAULT`, to watch the full-up scenario catch a
/// broken tailnet (tests/README.md): `untagged` (the control plane registers
/// the node without its tags) or `control-stops` (the helper is stopped
/// once up has created the server).
fn fault() -> String {
    std::env::var("CLAWPROV_REAL_BOOT_FAULT").unwrap_or_default()
}

/// Another `up`, which must change nothing: exit 0, the host phase's
/// `changed: false`, verify passing, zero mutating Hetzner requests.
fn noop_up(vm: &mut Vm, p: &Project, dir: &Path, n: usize, scenario: &str) {
    p.sim.sim.clear_request_log();
    let (code, stdout, stderr) = Up::start(p, dir, n).finish(Duration::from_secs(600));
    ensure!(
        vm,
        scenario,
        code == 0,
        "up exited {code}\n{stdout}\n{stderr}{}",
        p.tailnet_logs()
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let s = &v["stacks"][0];
    ensure!(
        vm,
        scenario,
        s["host"]["report"]["changed"] == false && s["verify"]["passed"] == true,
        "up changed something or did not verify: {} {}",
        s["host"],
        s["verify"]
    );
    let m = mutations(p);
    ensure!(vm, scenario, m.is_empty(), "mutating requests: {m:?}");
}

#[test]
fn full_up_second_up_outside_reboot() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    // Built (they download) or found in the cache before the namespace,
    // which reaches nothing: there, the same call finds them cached.
    let assets = assets();
    // In a network namespace of its own (the tailnet, tailnet_support).
    if !tailnet_support::in_netns("full_up_second_up_outside_reboot") {
        return;
    }
    let dir = run_dir("full-up");
    let p = project("vmboot", Some("1.102.5"), &assets);
    if fault() == "untagged" {
        p.tailnet.faults(r#"{"untagged": true}"#);
    }
    let standin = Standin::start(&assets, &dir, &[]);

    // --- full up: the VM boots exactly what up sent to the simulator.
    let started = Instant::now();
    let (mut vm, user_data, (code, stdout, stderr)) = up_on_a_fresh_vm(&p, &assets, &standin, &dir);
    let full_up_secs = started.elapsed().as_secs();
    // First, whatever up said: what the service user's code did at boot.
    service_user_contained(&mut vm, "full up");
    ensure!(
        vm,
        "full up",
        code == 0,
        "up exited {code}\nstdout: {stdout}\nstderr: {stderr}\nstand-in requests:\n{}{}",
        standin.requests(),
        p.tailnet_logs()
    );
    // The first boot's own share: cloud-init's final stage, which runs the
    // bootstrap (BENCHMARKS.md compares it across bootstrap generations).
    let final_stage = vm.run(
        "python3 -c 'import json; s = json.load(open(\"/run/cloud-init/status.json\"))[\"v1\"][\"modules-final\"]; \
         print(round(s[\"finished\"] - s[\"start\"]))'",
    );
    eprintln!(
        "real boot: full up took {full_up_secs} s (cloud-init's final stage, the bootstrap: {} s)",
        final_stage.out.trim()
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let s = &v["stacks"][0];
    ensure!(vm, "full up", s["ok"] == true, "not ok: {s}");
    // The tailnet: the guest joined through the simulator's control plane
    // with the key up minted; one device, the exact name, key expiry off,
    // and the key in the user-data it booted is spent and revoked.
    let devices = p.devices();
    ensure!(
        vm,
        "full up",
        devices.len() == 1
            && devices[0].name == format!("{HOSTNAME}.tail1234.ts.net")
            && devices[0].tags == ["tag:openclaw"]
            && devices[0].key_expiry_disabled,
        "devices: {devices:?}"
    );
    ensure!(
        vm,
        "full up",
        s["tailnet"]["device"]["id"] == devices[0].id.as_str(),
        "up's device: {}",
        s["tailnet"]
    );
    // The API's device list is the control plane's node list: the same
    // ids, names and addresses, and online.
    let nodes = p.tailnet.nodes();
    let node = nodes.iter().find(|n| n["id"] == devices[0].id.as_str());
    ensure!(
        vm,
        "full up",
        nodes.len() == 2
            && node.is_some_and(|n| {
                n["name"] == devices[0].name.as_str()
                    && n["nodeId"] == devices[0].node_id.as_str()
                    && n["addresses"] == serde_json::json!(devices[0].addresses)
                    && n["online"] == true
            })
            && devices[0].connected_to_control,
        "control plane nodes {nodes:?} vs the API's devices {devices:?}"
    );
    let booted_key = support::auth_key_in(&user_data).expect("a key in the user-data");
    let key_id = clawprov::tailscale::keys::key_id_of(&booted_key)
        .unwrap()
        .to_string();
    let minted = p.sim.sim.with(|w| w.tailscale.key(&key_id)).unwrap();
    ensure!(
        vm,
        "full up",
        minted.uses == 1 && minted.revoked.is_some(),
        "the booted key: {minted:?}"
    );
    ensure!(
        vm,
        "full up",
        s["url"] == format!("https://{HOSTNAME}.tail1234.ts.net/"),
        "url {}",
        s["url"]
    );
    ensure!(
        vm,
        "full up",
        s["host"]["report"]["serve_configured"] == true,
        "serve: {}",
        s["host"]
    );
    // up ended with verify (api, tailnet and host), on the real guest.
    ensure!(
        vm,
        "full up",
        s["verify"]["passed"] == true,
        "verify did not pass: {}",
        serde_json::to_string_pretty(&s["verify"]).unwrap()
    );
    // Every download came from the stand-in: the guest reached nothing else.
    let requests = standin.requests();
    for want in [
        "GET pkgs.tailscale.com/stable/debian/trixie.noarmor.gpg 200",
        "GET pkgs.tailscale.com/stable/debian/dists/trixie/InRelease 200",
        "GET pkgs.tailscale.com/stable/debian/pool/main/tailscale_1.102.5_amd64.deb 200",
        "GET raw.githubusercontent.com/nvm-sh/nvm/v0.40.3/install.sh 200",
        "GET raw.githubusercontent.com/nvm-sh/nvm/v0.40.3/nvm.sh 200",
        "GET nodejs.org/dist/v24.22.3/node-v24.22.3-linux-x64.tar.xz 200",
        "GET nodejs.org/dist/v24.22.3/SHASUMS256.txt 200",
        "GET registry.npmjs.org/openclaw/-/openclaw-2026.9.6.tgz 200",
        "GET registry.npmjs.org/clawprov-standin-dep/-/clawprov-standin-dep-1.0.0.tgz 200",
    ] {
        ensure!(
            vm,
            "full up",
            requests.contains(want),
            "no `{want}` in:\n{requests}"
        );
    }
    // The tree came from the lock: npm fetched the locked tarballs and
    // resolved nothing (no packument asked for).
    ensure!(
        vm,
        "full up",
        !requests.contains("GET registry.npmjs.org/openclaw 200")
            && !requests.contains("GET registry.npmjs.org/clawprov-standin-dep 200"),
        "npm resolved a package instead of installing the lock:\n{requests}"
    );
    // The real node: joined as the device the API lists (its id, name,
    // address and tags from the control plane), Serve's config keyed to its
    // name, and verify's tailnet vantage got Serve's certificate over the
    // tailnet.
    let status: serde_json::Value =
        serde_json::from_str(&vm.check("tailscale", "tailscale status --json --peers=false"))
            .unwrap();
    ensure!(
        vm,
        "full up",
        status["BackendState"] == "Running"
            && status["Self"]["DNSName"] == format!("{HOSTNAME}.tail1234.ts.net.")
            && status["Self"]["ID"] == devices[0].node_id.as_str()
            && status["Self"]["TailscaleIPs"][0] == devices[0].addresses[0].as_str()
            && status["Self"]["Tags"] == serde_json::json!(["tag:openclaw"]),
        "the node is not the device the API lists ({devices:?}):\n{status}"
    );
    let served: serde_json::Value =
        serde_json::from_str(&vm.check("serve", "tailscale serve status --json")).unwrap();
    ensure!(
        vm,
        "full up",
        served["Web"][format!("{HOSTNAME}.tail1234.ts.net:443")]["Handlers"]["/"]["Proxy"]
            == "http://127.0.0.1:18789",
        "Serve: {served}"
    );
    // up's verify report has verify --json's stack shape.
    let by_id = support::checks_by_id(&serde_json::json!({"stacks": [s["verify"]]}));
    for id in ["tailnet.https", "tailnet.auth", "tailnet.gateway_port"] {
        ensure!(
            vm,
            "full up",
            by_id.get(id).is_some_and(|(st, _)| st == "pass"),
            "{id} over the tailnet: {:?}",
            by_id.get(id)
        );
    }
    let installed = vm.check("tailscale pin", "dpkg-query -W -f='${Version}' tailscale");
    ensure!(
        vm,
        "full up",
        installed == "1.102.5",
        "tailscale.version: 1.102.5 installed {installed} (the repository also has 1.102.6)"
    );
    host_holds(&mut vm, "full up", &p.canaries);
    let token_check = vm.run_with_stdin(
        "tok=$(cat); curl -s -o /dev/null -w '%{http_code}' -X POST -H @<(printf 'Authorization: Bearer %s\\n' \"$tok\") \
         http://127.0.0.1:18789/tools/invoke",
        &p.gateway_token,
    );
    ensure!(
        vm,
        "full up",
        token_check.out == "200",
        "the gateway does not take the vault's token: {}",
        token_check.out
    );
    let mut outputs = vec![("up's stdout", stdout), ("up's stderr", stderr)];
    outputs.push((
        "the serial console",
        fs::read_to_string(vm.dir().join("serial.log")).unwrap_or_default(),
    ));
    outputs.push(("the user-data minus the Tailscale key", {
        let key = p
            .canaries
            .iter()
            .find(|c| c.contains("tailscaleauthkey"))
            .unwrap();
        user_data.replace(key.as_str(), "")
    }));
    for (place, text) in &outputs {
        no_canary_in(text, place, &p.canaries);
    }

    // --- second up: nothing changes on the host or in the API.
    let before = gateway_state(&mut vm);
    let env_before = vm.check(
        "env",
        &format!("stat -c %Y /home/{SERVICE}/.config/openclaw/gateway.env"),
    );
    noop_up(&mut vm, &p, &dir, 2, "second up");
    let after = gateway_state(&mut vm);
    ensure!(
        vm,
        "second up",
        before == after,
        "the gateway was touched: {before} -> {after}"
    );
    let env_after = vm.check(
        "env",
        &format!("stat -c %Y /home/{SERVICE}/.config/openclaw/gateway.env"),
    );
    ensure!(
        vm,
        "second up",
        env_before == env_after,
        "gateway.env was rewritten"
    );

    // --- rotate tailscale-key on the real guest: the detached re-auth
    // under systemd, the node still the same device and reachable. A
    // setting changed on the node first: a plain `tailscale up` would
    // refuse; `up --reset` brings it back and the run names it.
    vm.check("set", "tailscale set --accept-dns=false");
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args(["rotate", "tailscale-key", "--reach-timeout", "120"])
        .output()
        .unwrap();
    let rotated = String::from_utf8_lossy(&out.stdout).to_string();
    ensure!(
        vm,
        "rotate",
        out.status.success(),
        "rotate failed: {rotated}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_str(&rotated).unwrap();
    ensure!(
        vm,
        "rotate",
        r["rotated"]["backend_state"] == "Running"
            && r["rotated"]["device_after"] == devices[0].id.as_str()
            && p.devices().len() == 1
            && r["rotated"]["settings_reset"] == serde_json::json!(["accept-dns: false -> true"]),
        "after rotate: {rotated}"
    );
    no_canary_in(&rotated, "rotate's stdout", &p.canaries);
    no_canary_in(
        &String::from_utf8_lossy(&out.stderr),
        "rotate's stderr",
        &p.canaries,
    );

    // --- verify's host corpus: each mutation breaks one property on the
    // real guest; verify fails with that check's id and no other.
    host_corpus(&mut vm, &p);

    // --- outside: through the public NIC, only timeouts.
    outside_is_closed(&mut vm, "outside");

    // --- reboot: the gateway comes back by linger; the lock-down holds;
    // the per-boot shred removes cloud-init's fresh copies; up is a no-op.
    let first_boot = vm.boot_id.clone();
    let rebooted = Instant::now();
    let second_boot = vm.reboot(Duration::from_secs(300));
    ensure!(vm, "reboot", first_boot != second_boot, "same boot id");
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let state = gateway_state(&mut vm);
        // A oneshot: done once it has an exit timestamp, and a success.
        let shred = vm.run(
            "systemctl show -p Result -p ExecMainExitTimestampMonotonic \
             clawprov-userdata-shred.service",
        );
        let done = shred.out.contains("Result=success")
            && !shred.out.contains("ExecMainExitTimestampMonotonic=0\n");
        if state.contains("ActiveState=active") && done {
            break;
        }
        ensure!(
            vm,
            "reboot",
            Instant::now() < deadline,
            "after the reboot the gateway ({state}) or the user-data shred ({}) did not finish",
            shred.out
        );
        std::thread::sleep(Duration::from_secs(3));
    }
    eprintln!(
        "real boot: reboot to gateway active took {} s",
        rebooted.elapsed().as_secs()
    );
    host_holds(&mut vm, "reboot", &p.canaries);
    outside_is_closed(&mut vm, "reboot");
    noop_up(&mut vm, &p, &dir, 3, "reboot");

    // --- upgrade: a new openclaw.version is installed beside the running
    // release by the guest's real npm, the unit switched under the real
    // user manager, on the same server, the state directory untouched.
    upgrade_in_place(&mut vm, &p, &dir, &assets, &standin);

    // --- the gateway's own configuration: a model and channel change is
    // an in-place update (plan says so key by key), and a config the
    // gateway refuses rolls back openclaw.json and the env file.
    config_in_place(&mut vm, &p, &dir);

    // --- backup and restore: the state as an archive, the state damaged,
    // restored through the real user manager (stop, swap, host phase).
    backup_and_restore(&mut vm, &p);

    // --- credential rotation on the real guest: the gateway token (the
    // real OpenClaw restarted by its user manager, probed through Serve's
    // headers), then the admin's SSH key, killed once after the new key
    // became the vault's and run again; plan a no-op after each, and the
    // host's checks (authorized_keys exactly the vault's key) pass.
    rotate_credentials(&mut vm, &p);
}

/// `rotate gateway-token` and `rotate ssh-key` (one kill -9) on the guest.
fn rotate_credentials(vm: &mut Vm, p: &Project) {
    let scenario = "rotate credentials";
    let plan_is_noop = |vm: &mut Vm, after: &str| {
        let plan = plan_json(p);
        let plan = &plan["plans"][0];
        ensure!(
            vm,
            scenario,
            plan["steps"]
                .as_array()
                .is_some_and(|s| s.iter().all(|x| x["op"] == "no_op"))
                && plan["host"]["changes"] == serde_json::json!([])
                && plan["host"]["config"].is_null()
                && plan["host"]["env"].is_null(),
            "plan after {after} is not a no-op: {plan}"
        );
    };
    let started = Instant::now();
    let (ok, stdout, stderr) = day_two(p, &["rotate", "gateway-token"]);
    ensure!(vm, scenario, ok, "rotate gateway-token: {stdout}\n{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    ensure!(
        vm,
        scenario,
        r["rotated"]["probes"] == 5 && r["rotated"]["service"] == "restarted",
        "rotate gateway-token: {stdout}"
    );
    no_canary_in(&stdout, "rotate gateway-token's stdout", &p.canaries);
    no_canary_in(&stderr, "rotate gateway-token's stderr", &p.canaries);
    eprintln!(
        "real boot: rotate gateway-token took {} s",
        started.elapsed().as_secs()
    );
    plan_is_noop(vm, "rotate gateway-token");

    // The SSH key, killed after the new key became the vault's (the old
    // one still on the node), then run again.
    let started = Instant::now();
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args(["rotate", "ssh-key", "--reach-timeout", "120"])
        .env("CLAWPROV_TEST_KILL_AFTER", "ssh-key:promoted")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    {
        use std::os::unix::process::ExitStatusExt;
        ensure!(
            vm,
            scenario,
            out.status.signal() == Some(9),
            "rotate ssh-key was not killed at ssh-key:promoted: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let keys = vm.check(
        "keys",
        &format!("grep -c '^ssh-ed25519 ' /home/{ADMIN}/.ssh/authorized_keys"),
    );
    ensure!(
        vm,
        scenario,
        keys.trim() == "2",
        "after the kill the node should hold the old and the new key: {keys}"
    );
    let (ok, stdout, stderr) = day_two(p, &["rotate", "ssh-key"]);
    ensure!(vm, scenario, ok, "rotate ssh-key again: {stdout}\n{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    ensure!(
        vm,
        scenario,
        r["rotated"]["resumed"] == true && r["rotated"]["hetzner_ssh_key"].is_i64(),
        "rotate ssh-key: {stdout}"
    );
    no_canary_in(&stdout, "rotate ssh-key's stdout", &p.canaries);
    no_canary_in(&stderr, "rotate ssh-key's stderr", &p.canaries);
    eprintln!(
        "real boot: rotate ssh-key (killed once, run again) took {} s",
        started.elapsed().as_secs()
    );
    plan_is_noop(vm, "rotate ssh-key");
    let (code, checks) = verify_host(p);
    ensure!(
        vm,
        scenario,
        code == 0,
        "verify --only host after the rotations: {checks:?}"
    );
}

/// `clawprov ARGS` against the guest, the node reached over the forward.
fn day_two(p: &Project, args: &[&str]) -> (bool, String, String) {
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args(args)
        .args(["--reach-timeout", "120"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn backup_and_restore(vm: &mut Vm, p: &Project) {
    let scenario = "backup and restore";
    let before = state_listing(vm);
    let archive = p.home.path().join("vmboot-state.tar.age");
    let (ok, stdout, stderr) = day_two(p, &["backup", "-o", archive.to_str().unwrap()]);
    ensure!(vm, scenario, ok, "backup failed: {stdout}\n{stderr}");
    no_canary_in(&stdout, "backup's stdout", &p.canaries);
    no_canary_in(&stderr, "backup's stderr", &p.canaries);
    let taken: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let files = before
        .lines()
        .filter(|l| l.len() > 64 && l.as_bytes()[64] == b' ')
        .count();
    // Every state file but the gateway's own log, which backup carries too.
    ensure!(
        vm,
        scenario,
        taken["manifest"]["files"].as_u64().unwrap_or(0) as usize >= files && files >= 4,
        "manifest {} vs {files} files listed",
        taken["manifest"]
    );
    // The archive opens with the age CLI and the project's identity, and
    // holds no secret of the vault.
    let identity = p.home.path().join(".config/clawprov/identity.txt");
    let plain = std::process::Command::new(support::require_tool("age", "age"))
        .arg("-d")
        .arg("-i")
        .arg(&identity)
        .arg(&archive)
        .output()
        .unwrap();
    ensure!(vm, scenario, plain.status.success(), "age -d failed");
    let plain = String::from_utf8_lossy(&plain.stdout).into_owned();
    ensure!(
        vm,
        scenario,
        plain.contains("state/workspace/blob.bin"),
        "archive lacks the planted file"
    );
    no_canary_in(&plain, "the backup archive", &p.canaries);

    // Lose some state, then restore it.
    vm.check(
        "damage",
        &format!(
            "cd /home/{SERVICE}/.openclaw && rm devices/paired.json && \
             printf x >>workspace/blob.bin && chmod 0644 agents/main/sessions/s1.jsonl"
        ),
    );
    ensure!(
        vm,
        scenario,
        state_listing(vm) != before,
        "the damage did not show"
    );
    let (ok, stdout, stderr) = day_two(p, &["restore", archive.to_str().unwrap()]);
    ensure!(vm, scenario, ok, "restore failed: {stdout}\n{stderr}");
    no_canary_in(&stdout, "restore's stdout", &p.canaries);
    no_canary_in(&stderr, "restore's stderr", &p.canaries);
    let after = state_listing(vm);
    ensure!(
        vm,
        scenario,
        after == before,
        "restored state differs:\n{before}\n->\n{after}"
    );
    let state = gateway_state(vm);
    ensure!(
        vm,
        scenario,
        state.contains("ActiveState=active"),
        "gateway after restore: {state}"
    );
    let owner = vm.check(
        "owner",
        &format!("find /home/{SERVICE}/.openclaw ! -user {SERVICE} | head -3"),
    );
    ensure!(
        vm,
        scenario,
        owner.trim().is_empty(),
        "not the service user's: {owner}"
    );
}

/// `clawprov plan --json` for the project (no SSH: plan reads the labels
/// and clawprov's local record of the delivered openclaw.json).
fn plan_json(p: &Project) -> serde_json::Value {
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args(["--json", "--hcloud-endpoint", &p.sim.endpoint()])
        .args(["--tailscale-endpoint", &p.sim.tailscale_endpoint()])
        .args(["plan", "--offline"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "plan: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("plan --json")
}

/// The stack file with `edit` applied to its `openclaw` mapping.
fn edit_openclaw(p: &Project, edit: impl FnOnce(&mut serde_yaml::Value)) {
    let text = fs::read_to_string(&p.stack).unwrap();
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    edit(&mut doc["openclaw"]);
    fs::write(&p.stack, serde_yaml::to_string(&doc).unwrap()).unwrap();
}

/// sha256 of the delivered openclaw.json and env file, as root reads them.
fn delivered_shas(vm: &mut Vm) -> String {
    vm.check(
        "delivered files",
        &format!(
            "cd /home/{SERVICE} && sha256sum .openclaw/openclaw.json .config/openclaw/gateway.env \
             && ls -a .config/openclaw"
        ),
    )
}

/// `clawprov up` for a change made in place: it must succeed, its output
/// holds no canary, and how long it took is printed. Its stdout.
fn up_in_place(vm: &mut Vm, p: &Project, dir: &Path, n: usize, scenario: &str) -> String {
    let started = Instant::now();
    let (code, stdout, stderr) = Up::start(p, dir, n).finish(Duration::from_secs(900));
    ensure!(
        vm,
        scenario,
        code == 0,
        "up exited {code}\n{stdout}\n{stderr}{}",
        p.tailnet_logs()
    );
    eprintln!(
        "real boot: {scenario}: up in place to verified took {} s",
        started.elapsed().as_secs()
    );
    no_canary_in(&stdout, &format!("{scenario} up's stdout"), &p.canaries);
    no_canary_in(&stderr, &format!("{scenario} up's stderr"), &p.canaries);
    stdout
}

fn config_in_place(vm: &mut Vm, p: &Project, dir: &Path) {
    let scenario = "config";
    let servers: Vec<i64> = p.sim.sim.with(|w| w.servers.keys().copied().collect());
    let state = state_listing(vm);
    let model = "anthropic/claude-sonnet-5";
    edit_openclaw(p, |o| {
        o["model"] = serde_yaml::from_str(&format!("primary: {model}")).unwrap();
        // The vault has held a Telegram token all along; declaring the
        // channel is what switches it on.
        o["channels"] = serde_yaml::from_str("telegram: {dm: pairing}").unwrap();
    });
    let plan = plan_json(p);
    let config = &plan["plans"][0]["host"]["config"];
    let keys: Vec<String> = config["keys"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k["key"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let replaces = plan["plans"][0]["steps"]
        .as_array()
        .map(|a| {
            a.iter()
                .any(|s| s["op"] == "replace" || s["op"] == "create")
        })
        .unwrap_or(true);
    ensure!(
        vm,
        scenario,
        keys.contains(&"agents.defaults.model.primary".to_string())
            // A block new as a whole is one added key.
            && keys.iter().any(|k| k == "channels" || k.starts_with("channels.telegram"))
            && !replaces,
        "plan: {}",
        plan["plans"][0]
    );

    up_in_place(vm, p, dir, 6, scenario);
    let now: Vec<i64> = p.sim.sim.with(|w| w.servers.keys().copied().collect());
    ensure!(
        vm,
        scenario,
        now == servers,
        "servers {servers:?} -> {now:?}"
    );
    // The state directory is untouched but for openclaw.json, the file
    // this change delivers (the gateway's log is outside the listing).
    let but_config = |listing: &str| -> Vec<String> {
        listing
            .lines()
            .filter(|l| !l.ends_with("./openclaw.json"))
            .map(String::from)
            .collect()
    };
    let after = state_listing(vm);
    ensure!(
        vm,
        scenario,
        but_config(&after) == but_config(&state) && after.contains("./openclaw.json"),
        "state changed:\n{state}\n->\n{after}"
    );
    let log = vm.check(
        "log",
        &format!("tail -n 4 /home/{SERVICE}/.openclaw/logs/openclaw.log"),
    );
    ensure!(
        vm,
        scenario,
        log.contains(&format!("agent model: {model}")),
        "log: {log}"
    );
    let env_has = vm.check(
        "env file",
        &format!(
            "grep -c '^TELEGRAM_BOT_TOKEN=' /home/{SERVICE}/.config/openclaw/gateway.env || true"
        ),
    );
    ensure!(vm, scenario, env_has.trim() == "1", "env file: {env_has}");
    let plan = plan_json(p);
    ensure!(
        vm,
        scenario,
        plan["plans"][0]["host"]["config"].is_null(),
        "after up, plan still changes the config: {}",
        plan["plans"][0]["host"]
    );
    let good = delivered_shas(vm);

    // A config this release refuses (the stand-in exits 78 on it, as the
    // real gateway does on a config it cannot load), with an env-file
    // change beside it: both are put back and the gateway runs on them.
    vm.check(
        "refuse a key",
        "mkdir -p /etc/clawprov-test && echo session.notifyOnCreate >/etc/clawprov-test/refused-keys",
    );
    edit_openclaw(p, |o| {
        if let Some(m) = o.as_mapping_mut() {
            m.remove("channels");
        }
        o["settings"] = serde_yaml::from_str("session: {notifyOnCreate: false}").unwrap();
    });
    let (code, stdout, stderr) = Up::start(p, dir, 7).finish(Duration::from_secs(900));
    // `--json`: the error is in the stack's JSON on stdout.
    ensure!(
        vm,
        scenario,
        code == 1
            && stdout.contains("the change from the running openclaw.json and env file")
            && stdout.contains("rolled back to the running openclaw.json and env file"),
        "up should fail and roll back: exit {code}\n{stdout}\n{stderr}"
    );
    no_canary_in(&stdout, "rolled-back up's stdout", &p.canaries);
    no_canary_in(&stderr, "rolled-back up's stderr", &p.canaries);
    let back = delivered_shas(vm);
    ensure!(
        vm,
        scenario,
        back == good,
        "not rolled back:\n{good}\n->\n{back}"
    );
    let unit = vm.check(
        "unit",
        &format!(
            "runuser -u {SERVICE} -- env XDG_RUNTIME_DIR=/run/user/$(id -u {SERVICE}) \
             systemctl --user show -p ActiveState clawprov-gateway.service"
        ),
    );
    ensure!(
        vm,
        scenario,
        unit.contains("ActiveState=active"),
        "unit: {unit}"
    );
    let plan = plan_json(p);
    ensure!(
        vm,
        scenario,
        !plan["plans"][0]["host"]["config"].is_null(),
        "the refused config is still to be applied: {}",
        plan["plans"][0]["host"]
    );

    // Back to the config that runs: nothing to do.
    vm.check("accept again", "rm -f /etc/clawprov-test/refused-keys");
    edit_openclaw(p, |o| {
        o["channels"] = serde_yaml::from_str("telegram: {dm: pairing}").unwrap();
        if let Some(m) = o.as_mapping_mut() {
            m.remove("settings");
        }
    });
    noop_up(vm, p, dir, 8, scenario);
}

/// The state directory as the guest has it: mode, sha256 and path of every
/// file, except the gateway's own log (it appends a line at every start).
fn state_listing(vm: &mut Vm) -> String {
    vm.check(
        "state listing",
        &format!(
            "cd /home/{SERVICE}/.openclaw && find . -path ./logs -prune -o -type f -print0 | \
             sort -z | xargs -0 -r stat -c '%a %n' && \
             find . -path ./logs -prune -o -type f -print0 | sort -z | xargs -0 -r sha256sum"
        ),
    )
}

fn upgrade_in_place(vm: &mut Vm, p: &Project, dir: &Path, assets: &Assets, standin: &Standin) {
    let scenario = "upgrade";
    let next = vm_support::OPENCLAW_NEXT;
    let old = clawprov::stack::DEFAULT_OPENCLAW_VERSION;
    vm.check(
        "plant state",
        &format!(
            "cd /home/{SERVICE}/.openclaw && mkdir -p devices agents/main/sessions workspace && \
             echo '{{\"devices\":[{{\"id\":\"d1\"}}]}}' >devices/paired.json && \
             head -c 300000 /dev/urandom >workspace/blob.bin && chmod 0640 workspace/blob.bin && \
             printf 'a\\nb\\n' >agents/main/sessions/s1.jsonl && \
             chown -R {SERVICE}:{SERVICE} . && chmod 0600 devices/paired.json"
        ),
    );
    let before = state_listing(vm);
    ensure!(
        vm,
        scenario,
        before.contains("blob.bin"),
        "planted: {before}"
    );
    let servers: Vec<i64> = p.sim.sim.with(|w| w.servers.keys().copied().collect());
    let running_unit = vm.check(
        "unit before",
        &format!("cat /home/{SERVICE}/.config/systemd/user/clawprov-gateway.service"),
    );
    edit_openclaw(p, |o| {
        o["version"] = next.into();
        o["lock"] = assets.lock(next).display().to_string().into();
    });
    let plan = plan_json(p);
    let lock_change = plan["plans"][0]["host"]["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["field"] == "openclaw.lock"))
        .cloned()
        .unwrap_or_default();
    ensure!(
        vm,
        scenario,
        lock_change["reason"]
            .as_str()
            .is_some_and(|r| r.contains("2 packages (0 added, 0 removed, 1 changed)")),
        "the plan does not count the tree's change: {}",
        plan["plans"][0]["host"]
    );

    // The new release's tarball substituted on the way: the guest's real
    // npm refuses it against the lock, up names the package, and the
    // running release is untouched.
    let tarball = format!("registry.npmjs.org/openclaw/-/openclaw-{next}.tgz");
    standin.tamper(&[&tarball]);
    let (code, stdout, stderr) = Up::start(p, dir, 40).finish(Duration::from_secs(900));
    standin.tamper(&[]);
    ensure!(
        vm,
        scenario,
        standin
            .requests()
            .contains(&format!("GET {tarball} 200-tampered")),
        "the guest never fetched the tampered tarball:\n{}",
        standin.requests()
    );
    let all = format!("{stdout}{stderr}");
    ensure!(
        vm,
        scenario,
        // The flipped byte breaks the gzip stream, and the guest's npm 11
        // says so (Z_DATA_ERROR) before it could compare the sha512.
        code == 1
            && all.contains(&format!(
                "npm ci refused openclaw@https://registry.npmjs.org/openclaw/-/openclaw-{next}.tgz: \
                 its tarball does not match the lock's integrity"
            )),
        "a tampered tarball: up exited {code}\n{stdout}\n{stderr}"
    );
    no_canary_in(&all, "the tampered up's output", &p.canaries);
    let unit_now = vm.check(
        "unit after",
        &format!("cat /home/{SERVICE}/.config/systemd/user/clawprov-gateway.service"),
    );
    let partial = vm.run(&format!(
        "ls -d /home/{SERVICE}/.local/lib/clawprov/openclaw-{next}-* 2>/dev/null"
    ));
    ensure!(
        vm,
        scenario,
        unit_now == running_unit && partial.out.trim().is_empty(),
        "after the refused tarball: unit {unit_now}\nrelease directories: {}",
        partial.out
    );

    let stdout = up_in_place(vm, p, dir, 4, scenario);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let release = &v["stacks"][0]["host"]["report"]["release"];
    ensure!(
        vm,
        scenario,
        release["running"]["openclaw"] == next && release["previous"]["openclaw"] == old,
        "release: {release}"
    );
    let now: Vec<i64> = p.sim.sim.with(|w| w.servers.keys().copied().collect());
    ensure!(
        vm,
        scenario,
        now == servers,
        "servers {servers:?} -> {now:?}"
    );
    // The user manager runs the new release (from its own prefix), and it
    // is the one that answered up's probes.
    let exec = vm.check(
        "unit",
        &format!(
            "runuser -u {SERVICE} -- env XDG_RUNTIME_DIR=/run/user/$(id -u {SERVICE}) \
             systemctl --user show -p ExecStart -p ActiveState clawprov-gateway.service"
        ),
    );
    let next_lock = clawprov::lock::Lock::read(&assets.lock(next), next).unwrap();
    let dir_name = format!(
        "openclaw-{next}-node-{}-lock-{}",
        clawprov::stack::DEFAULT_NODE_VERSION,
        next_lock.hash()
    );
    ensure!(
        vm,
        scenario,
        exec.contains(&dir_name) && exec.contains("ActiveState=active"),
        "unit: {exec}"
    );
    let log = vm.check(
        "log",
        &format!("tail -n 3 /home/{SERVICE}/.openclaw/logs/openclaw.log"),
    );
    ensure!(
        vm,
        scenario,
        log.contains(&format!("stand-in {next}")),
        "log: {log}"
    );
    let after = state_listing(vm);
    ensure!(
        vm,
        scenario,
        before == after,
        "state changed:\n{before}\n->\n{after}"
    );
    // Both releases are installed; the next up is a no-op again.
    let both = vm.run(&format!(
        "ls -d /home/{SERVICE}/.local/lib/clawprov/openclaw-{old}-node-* \
         /home/{SERVICE}/.local/lib/clawprov/{dir_name}"
    ));
    ensure!(
        vm,
        scenario,
        both.out.lines().count() == 2,
        "releases: {}",
        both.out
    );
    noop_up(vm, p, dir, 5, scenario);
}

#[test]
fn broken_download() {
    let _one = ONE_VM.lock().unwrap_or_else(|e| e.into_inner());
    // Built (they download) or found in the cache before the namespace,
    // which reaches nothing: there, the same call finds them cached.
    let assets = assets();
    // In a network namespace of its own (the tailnet, tailnet_support).
    if !tailnet_support::in_netns("broken_download") {
        return;
    }
    let dir = run_dir("broken-download");
    let p = project("vmbroken", None, &assets);
    let tarball = "nodejs.org/dist/v24.22.3/node-v24.22.3-linux-x64.tar.xz";
    let standin = Standin::start(&assets, &dir, &[tarball]);
    let started = Instant::now();
    let (mut vm, _, (code, stdout, stderr)) = up_on_a_fresh_vm(&p, &assets, &standin, &dir);
    eprintln!(
        "real boot: broken download reported after {} s",
        started.elapsed().as_secs()
    );
    let scenario = "broken download";
    ensure!(
        vm,
        scenario,
        standin.requests().contains(&format!("GET {tarball} 404")),
        "the guest never asked for the broken download:\n{}",
        standin.requests()
    );
    ensure!(
        vm,
        scenario,
        code == 1,
        "up exited {code}, wanted 1\n{stdout}\n{stderr}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON document");
    let error = v["stacks"][0]["error"].as_str().unwrap_or("").to_string();
    for (want, what) in [
        (
            "cloud-init on the server finished error",
            "cloud-init's verdict",
        ),
        (
            "clawprov-bootstrap: FAILED at line",
            "the failing bootstrap line",
        ),
        (
            "last lines of the bootstrap log",
            "the bootstrap log excerpt",
        ),
        (
            "node-v24.22.3-linux-x64.tar.xz",
            "the broken download's name",
        ),
        ("The requested URL returned error: 404", "curl's verdict"),
        ("`clawprov destroy` and `clawprov up`", "the replace advice"),
    ] {
        ensure!(
            vm,
            scenario,
            error.contains(want),
            "up's error lacks {what}:\n{error}"
        );
    }
    for text in [&error, &stderr] {
        ensure!(
            vm,
            scenario,
            !text.contains("timed out")
                && !text.contains("within")
                && !text.contains("did not finish"),
            "up reported a timeout instead of the failure:\n{text}"
        );
    }
    let status = vm.run("cloud-init status --format json");
    let json: serde_json::Value = serde_json::from_str(&status.out).unwrap_or_default();
    ensure!(
        vm,
        scenario,
        json["status"] == "error",
        "cloud-init status is not error: {}",
        status.out
    );
    let installed = vm.check("tailscale", "dpkg-query -W -f='${Version}' tailscale");
    ensure!(
        vm,
        scenario,
        installed == "1.102.6",
        "without a pin the repository's newest Tailscale, 1.102.6, should be installed, not {installed}"
    );
    let key = vm.run("ls /run/clawprov/");
    ensure!(
        vm,
        scenario,
        key.out.trim().is_empty(),
        "the auth key file is still there: {}",
        key.out
    );
    no_canary_in(&stdout, "up's stdout", &p.canaries);
    no_canary_in(&stderr, "up's stderr", &p.canaries);
}
