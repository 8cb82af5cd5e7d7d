//! `clawprov verify`'s mutation corpus for the checks that need no real
//! host: the api checks against the Hetzner simulator, the outside checks
//! against addresses in a network namespace this test creates (a real L3
//! path: packets dropped there time out, a removed DROP rule answers with
//! a reset, a listener accepts). For each check, one mutation breaks
//! exactly that property: verify exits 1 and names that check, and only
//! the checks that depend on it. The host checks' corpus runs on a real
//! guest (real_boot.rs).

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clawprov::sim::{self, SimConfig};
use serde_json::Value;

struct Project {
    home: tempfile::TempDir,
    stack: PathBuf,
    sim: sim::SimServer,
    canaries: Vec<String>,
    server: i64,
}

async fn project(name: &str) -> Project {
    let home = tempfile::tempdir().unwrap();
    let yaml =
        format!("name: {name}\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: gw-{name}\n");
    let (stack, canaries, tag) = support::canary_stack(
        home.path(),
        name,
        &yaml,
        &[
            "gateway_token",
            "claude_setup_token",
            "tailscale_auth_key",
            "hcloud_token",
        ],
    );
    let sim = sim::serve(
        SimConfig {
            tokens: vec![format!("CANARYhcloudtoken{tag}")],
            action_duration: Duration::from_millis(50),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator");
    let mut p = Project {
        home,
        stack,
        sim,
        canaries,
        server: 0,
    };
    let out = p.clawprov(&["up", "--yes", "--offline", "--skip-host"]);
    assert!(out.0 == 0, "up --skip-host: {out:?}");
    p.server = p.sim.sim.with(|w| *w.servers.keys().next().unwrap());
    p
}

impl Project {
    fn clawprov(&self, args: &[&str]) -> (i32, String, String) {
        let out = support::clawprov(self.home.path())
            .current_dir(self.home.path())
            .arg("-s")
            .arg(&self.stack)
            .args(["--json", "--hcloud-endpoint", &self.sim.endpoint()])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `verify --only LIST`: exit code and each check's status by id.
    fn verify(&self, only: &str) -> (i32, BTreeMap<String, (String, String)>, String) {
        self.verify_with(only, None)
    }

    /// The same, trusting `ca` when given (as this machine would trust the
    /// tailnet's Let's Encrypt certificates).
    fn verify_with(
        &self,
        only: &str,
        ca: Option<&Path>,
    ) -> (i32, BTreeMap<String, (String, String)>, String) {
        let mut cmd = support::clawprov(self.home.path());
        if let Some(ca) = ca {
            cmd.env("SSL_CERT_FILE", ca);
        }
        let out = cmd
            .current_dir(self.home.path())
            .arg("-s")
            .arg(&self.stack)
            .args(["--json", "--hcloud-endpoint", &self.sim.endpoint()])
            .args(["verify", "--only", only, "--timeout", "2"])
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        for c in &self.canaries {
            assert!(!stdout.contains(c.as_str()) && !stderr.contains(c.as_str()));
        }
        let v: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("verify printed no JSON ({e}): {stdout}\n{stderr}"));
        let checks = support::checks_by_id(&v);
        (out.status.code().unwrap_or(-1), checks, stdout)
    }

    fn verify_trusting(&self, only: &str, ca: &Path) -> BTreeMap<String, (String, String)> {
        self.verify_with(only, Some(ca)).1
    }

    fn endpoint(&self) -> String {
        self.sim.endpoint()
    }

    fn token(&self) -> String {
        self.canaries
            .iter()
            .find(|c| c.starts_with("CANARYhcloudtoken"))
            .unwrap()
            .clone()
    }
}

/// Exactly `broken` (and nothing else) is not a pass.
fn only_failing(checks: &BTreeMap<String, (String, String)>, broken: &[&str], why: &str) {
    for (id, (status, detail)) in checks {
        if broken.contains(&id.as_str()) {
            assert_eq!(status, "fail", "{why}: {id} should fail: {detail}");
        } else {
            assert!(
                status == "pass" || status == "skip",
                "{why}: {id} is {status}, only {broken:?} should fail: {detail}"
            );
        }
    }
    for id in broken {
        assert!(checks.contains_key(*id), "{why}: {id} was not reported");
    }
}

fn api(p: &Project, method: reqwest::Method, path: &str, body: Value) -> Value {
    let url = format!("{}{path}", p.endpoint());
    let token = p.token();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let r = reqwest::Client::new()
                .request(method, url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap_or_default();
            assert!(status.is_success(), "{status}: {v}");
            v
        })
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_check_fails_on_its_own_mutation_and_only_there() {
    let p = project("vapi").await;
    let (code, checks, out) = p.verify("api");
    assert_eq!(code, 0, "a fresh deployment verifies: {out}");
    // 8 Hetzner checks, and the 2 Tailscale API ones skipped (no
    // credentials in this vault; tailnet_e2e.rs runs them).
    assert_eq!(checks.len(), 10, "{checks:?}");
    only_failing(&checks, &[], "unbroken");
    // The same again, byte for byte: stable enough to diff.
    assert_eq!(p.verify("api").2, out);
    // A handful of GETs, nothing else.
    p.sim.sim.clear_request_log();
    p.verify("api");
    let log = p.sim.request_log();
    assert!(log.iter().all(|r| r.method == "GET"), "{log:?}");
    assert!(log.len() <= 5, "{} requests: {log:?}", log.len());
    eprintln!(
        "verify --only api on a healthy deployment: {} GETs",
        log.len()
    );

    let id = p.server;
    let fingerprint = p
        .sim
        .sim
        .with(|w| w.servers[&id].labels["clawprov/user-data"].clone());
    type Mutation<'a> = (
        &'a str,
        &'a [&'a str],
        Box<dyn Fn(&Project) + 'a>,
        Box<dyn Fn(&Project) + 'a>,
    );
    let with_server = |f: fn(&mut clawprov::sim::server::Server)| {
        move |p: &Project| p.sim.sim.with(|w| f(w.servers.get_mut(&id).unwrap()))
    };
    let mutations: Vec<Mutation> = vec![
        (
            "a second SSH key with the stack's labels",
            &["api.resources"],
            Box::new(|p: &Project| {
                api(
                    p,
                    reqwest::Method::POST,
                    "/ssh_keys",
                    serde_json::json!({
                    "name": "intruder",
                    "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBM0dQb5tEyd0Tq1n36F2fp7gS5PjVb1u3XKu7tYl8Aj x",
                    "labels": {"clawprov/stack": "vapi", "clawprov/managed": "true"}}),
                );
            }),
            Box::new(|p: &Project| {
                let key = p
                    .sim
                    .sim
                    .with(|w| {
                        w.ssh_keys
                            .values()
                            .find(|k| k.name == "intruder")
                            .map(|k| k.id)
                    })
                    .unwrap();
                p.sim.sim.with(|w| w.ssh_keys.remove(&key));
            }),
        ),
        (
            "another server type",
            &["api.server.spec"],
            Box::new(with_server(|s| {
                s.server_type = clawprov::sim::catalog::server_type("cax31").unwrap()
            })),
            Box::new(with_server(|s| {
                s.server_type = clawprov::sim::catalog::server_type("cax21").unwrap()
            })),
        ),
        (
            "a user-data label from another render",
            &["api.server.labels"],
            Box::new(with_server(|s| {
                s.labels
                    .insert("clawprov/user-data".into(), "0000000000000000".into());
            })),
            Box::new(move |p: &Project| {
                let fp = fingerprint.clone();
                p.sim.sim.with(|w| {
                    w.servers
                        .get_mut(&id)
                        .unwrap()
                        .labels
                        .insert("clawprov/user-data".into(), fp)
                });
            }),
        ),
        (
            "delete protection the stack does not declare",
            &["api.server.protection"],
            Box::new(with_server(|s| s.protect_delete = true)),
            Box::new(with_server(|s| s.protect_delete = false)),
        ),
        (
            "rescue mode enabled",
            &["api.server.rescue"],
            Box::new(with_server(|s| s.rescue_enabled = true)),
            Box::new(with_server(|s| s.rescue_enabled = false)),
        ),
        (
            "an ISO attached",
            &["api.server.rescue"],
            Box::new(with_server(|s| s.iso = Some("virtio-win-0.1.248".into()))),
            Box::new(with_server(|s| s.iso = None)),
        ),
        (
            "the stack's firewall detached",
            &["api.firewall.attached"],
            Box::new(move |p: &Project| {
                let fw = p.sim.sim.with(|w| *w.firewalls.keys().next().unwrap());
                api(
                    p,
                    reqwest::Method::POST,
                    &format!("/firewalls/{fw}/actions/remove_from_resources"),
                    serde_json::json!({"remove_from": [{"type": "server", "server": {"id": id}}]}),
                );
            }),
            Box::new(move |p: &Project| {
                let fw = p.sim.sim.with(|w| *w.firewalls.keys().next().unwrap());
                api(
                    p,
                    reqwest::Method::POST,
                    &format!("/firewalls/{fw}/actions/apply_to_resources"),
                    serde_json::json!({"apply_to": [{"type": "server", "server": {"id": id}}]}),
                );
            }),
        ),
        (
            "a foreign firewall with an inbound rule on the server",
            &["api.firewall.inbound"],
            Box::new(move |p: &Project| {
                api(
                    p,
                    reqwest::Method::POST,
                    "/firewalls",
                    serde_json::json!({
                    "name": "someone-elses",
                    "rules": [{"direction": "in", "protocol": "tcp", "port": "22", "source_ips": ["0.0.0.0/0"]}],
                    "apply_to": [{"type": "server", "server": {"id": id}}]}),
                );
            }),
            Box::new(move |p: &Project| {
                let fw = p
                    .sim
                    .sim
                    .with(|w| {
                        w.firewalls
                            .values()
                            .find(|f| f.name == "someone-elses")
                            .map(|f| f.id)
                    })
                    .unwrap();
                api(
                    p,
                    reqwest::Method::POST,
                    &format!("/firewalls/{fw}/actions/remove_from_resources"),
                    serde_json::json!({"remove_from": [{"type": "server", "server": {"id": id}}]}),
                );
                p.sim.sim.with(|w| w.firewalls.remove(&fw));
            }),
        ),
        (
            "the stack's firewall also applied to a label selector",
            &["api.firewall.scope"],
            Box::new(|p: &Project| {
                let fw = p.sim.sim.with(|w| *w.firewalls.keys().next().unwrap());
                api(
                    p,
                    reqwest::Method::POST,
                    &format!("/firewalls/{fw}/actions/apply_to_resources"),
                    serde_json::json!({"apply_to": [{"type": "label_selector", "label_selector": {"selector": "env=prod"}}]}),
                );
            }),
            Box::new(|p: &Project| {
                let fw = p.sim.sim.with(|w| *w.firewalls.keys().next().unwrap());
                api(
                    p,
                    reqwest::Method::POST,
                    &format!("/firewalls/{fw}/actions/remove_from_resources"),
                    serde_json::json!({"remove_from": [{"type": "label_selector", "label_selector": {"selector": "env=prod"}}]}),
                );
            }),
        ),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for (why, broken, apply, undo) in &mutations {
        apply(&p);
        // Let the simulator's actions (apply/remove) finish.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (code, checks, out) = p.verify("api");
        assert_eq!(code, 1, "{why}: verify should exit 1: {out}");
        only_failing(&checks, broken, why);
        covered.extend(broken.iter().copied());
        undo(&p);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (code, _, out) = p.verify("api");
    assert_eq!(code, 0, "every mutation undone: {out}");
    let api_ids: Vec<&str> = clawprov::verify::CATALOG
        .iter()
        .map(|s| s.id)
        .filter(|id| id.starts_with("api."))
        // The Tailscale API checks' mutations (node offline, a leftover
        // key) are in tailnet_e2e.rs, where a tailnet exists.
        .filter(|id| !id.starts_with("api.tailnet."))
        .collect();
    for id in api_ids {
        assert!(covered.contains(id), "no mutation covers {id}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_api_is_an_error_never_a_pass() {
    let p = project("vdown").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let out = support::clawprov(p.home.path())
        .current_dir(p.home.path())
        .arg("-s")
        .arg(&p.stack)
        .args([
            "--json",
            "--hcloud-endpoint",
            &format!("http://{closed}/v1"),
        ])
        .args(["verify", "--only", "api"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = v["stacks"][0]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 10);
    assert!(
        checks.iter().all(|c| c["status"]
            == if c["id"].as_str().unwrap().starts_with("api.tailnet.") {
                "skip"
            } else {
                "error"
            }),
        "{checks:?}"
    );
}

/// A network namespace with one veth pair: the host side gets .1 / ::2,
/// the namespace .2 / ::1 (Hetzner's ::1 of the /64), with TCP dropped
/// there unless told otherwise.
struct Outside {
    ns: String,
    veth: String,
    v4: String,
    v6_net: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Outside {
    fn new() -> Outside {
        support::require_tool("ip", "iproute2");
        support::require_tool("iptables", "iptables");
        let n = std::process::id() % 200 + 20;
        let ns = format!("cpv-vo-{n}");
        let veth = format!("cpvo{n}");
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        ip(&["netns", "add", &ns]);
        ip(&[
            "link", "add", &veth, "type", "veth", "peer", "name", "inner", "netns", &ns,
        ]);
        let v4 = format!("10.82.{n}.2");
        let v6_net = format!("fd82:{n:x}::/64");
        ip(&["addr", "add", &format!("10.82.{n}.1/24"), "dev", &veth]);
        ip(&[
            "-6",
            "addr",
            "add",
            &format!("fd82:{n:x}::2/64"),
            "dev",
            &veth,
            "nodad",
        ]);
        ip(&["link", "set", &veth, "up"]);
        for args in [
            vec![
                "addr",
                "add",
                &format!("10.82.{n}.2/24") as &str,
                "dev",
                "inner",
            ],
            vec![
                "-6",
                "addr",
                "add",
                &format!("fd82:{n:x}::1/64"),
                "dev",
                "inner",
                "nodad",
            ],
            vec!["link", "set", "inner", "up"],
            vec!["link", "set", "lo", "up"],
        ] {
            let mut full = vec!["netns", "exec", &ns, "ip"];
            full.extend(args);
            ip(&full);
        }
        let o = Outside {
            ns,
            veth,
            v4,
            v6_net,
        };
        o.drop_tcp(true);
        o
    }

    fn drop_tcp(&self, on: bool) {
        for tool in ["iptables", "ip6tables"] {
            let flag = if on { "-A" } else { "-D" };
            let out = Command::new("ip")
                .args([
                    "netns", "exec", &self.ns, tool, flag, "INPUT", "-p", "tcp", "-j", "DROP",
                ])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{tool}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// A listener inside the namespace (kill the child to stop it).
    fn listen(&self, port: u16) -> std::process::Child {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, "python3", "-c"])
            .arg(format!(
                "import socket,time\ns=socket.socket(socket.AF_INET6)\n\
                 s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)\n\
                 s.bind(('::',{port}))\ns.listen()\ntime.sleep(60)"
            ))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        child
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_checks_pass_on_timeouts_and_fail_on_a_reset_or_a_listener() {
    let p = project("vout").await;
    let o = Outside::new();
    let id = p.server;
    let (v4, v6) = (o.v4.clone(), o.v6_net.clone());
    p.sim.sim.with(|w| {
        let s = w.servers.get_mut(&id).unwrap();
        s.ipv4 = Some((1, v4));
        s.ipv6 = Some((2, v6));
    });
    let (code, checks, out) = p.verify("outside");
    assert_eq!(code, 0, "every port dropped: {out}");
    only_failing(&checks, &[], "dropped");
    assert!(checks["outside.ipv4"].1.contains("time out"), "{checks:?}");

    // No firewall: the namespace's kernel answers with resets.
    o.drop_tcp(false);
    let (code, checks, _) = p.verify("outside");
    assert_eq!(code, 1);
    only_failing(&checks, &["outside.ipv4", "outside.ipv6"], "no DROP");
    assert!(
        checks["outside.ipv4"].1.contains("refused (an RST"),
        "{checks:?}"
    );

    // Dropped again, but a listener on 443 behind an accept rule.
    o.drop_tcp(true);
    let mut listener = o.listen(443);
    for tool in ["iptables", "ip6tables"] {
        Command::new("ip")
            .args([
                "netns", "exec", &o.ns, tool, "-I", "INPUT", "-p", "tcp", "--dport", "443", "-j",
                "ACCEPT",
            ])
            .status()
            .unwrap();
    }
    let (code, checks, _) = p.verify("outside");
    let _ = listener.kill();
    let _ = listener.wait();
    assert_eq!(code, 1);
    only_failing(
        &checks,
        &["outside.ipv4", "outside.ipv6"],
        "a listener on 443",
    );
    assert!(checks["outside.ipv4"].1.contains("443 open"), "{checks:?}");
}

#[test]
fn verify_refuses_an_unknown_vantage_point_with_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let out = support::clawprov(home.path())
        .args(["-s", "nothing.yaml", "verify", "--only", "api,moon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"moon\""));
    let _ = Path::new(".");
}

/// The tailnet name mapped to an address in /etc/hosts for one test (the
/// line is removed again when dropped), as MagicDNS would map it.
struct HostsEntry {
    line: String,
}

impl HostsEntry {
    fn new(ip: &str, name: &str) -> HostsEntry {
        let line = format!(
            "{ip} {name} # clawprov verify_corpus {}",
            std::process::id()
        );
        let mut hosts = fs::read_to_string("/etc/hosts").unwrap();
        if !hosts.ends_with('\n') {
            hosts.push('\n');
        }
        hosts.push_str(&line);
        hosts.push('\n');
        fs::write("/etc/hosts", hosts).unwrap();
        HostsEntry { line }
    }
}

impl Drop for HostsEntry {
    fn drop(&mut self) {
        if let Ok(hosts) = fs::read_to_string("/etc/hosts") {
            let kept: Vec<&str> = hosts.lines().filter(|l| *l != self.line).collect();
            let _ = fs::write("/etc/hosts", format!("{}\n", kept.join("\n")));
        }
    }
}

/// Tailscale Serve as a browser on the tailnet sees it: HTTPS on
/// 127.0.0.1:443 with a certificate for `name` from a test CA, `/tools/invoke`
/// answering `invoke_status` to a request without a token.
struct Serve {
    child: std::process::Child,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (ca.pem) and a certificate for `name` signed by it (cert.pem, key.pem).
fn certificates(dir: &Path, name: &str) {
    support::require_tool("openssl", "openssl");
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=verify test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            "key.pem",
            "-out",
            "cert.csr",
        ],
        dir,
    );
    fs::write(
        dir.join("ext.cnf"),
        format!("subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "cert.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ],
        dir,
    );
    // For the name too, but self-signed: no CA this machine trusts issued it.
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
        ],
        dir,
    );
}

impl Serve {
    fn start(dir: &Path, cert: &str, invoke_status: u16) -> Serve {
        let key = if cert.ends_with("other.pem") {
            "other.key"
        } else {
            "key.pem"
        };
        let child = Command::new("python3")
            .arg("-c")
            .arg(format!(
                "import http.server, ssl\n\
                 class H(http.server.BaseHTTPRequestHandler):\n\
                 \x20 def log_message(self, *a): pass\n\
                 \x20 def answer(self, code):\n\
                 \x20   self.send_response(code); self.send_header('Content-Length', '0'); self.end_headers()\n\
                 \x20 def do_GET(self): self.answer(200)\n\
                 \x20 def do_POST(self):\n\
                 \x20   self.rfile.read(int(self.headers.get('Content-Length', 0)))\n\
                 \x20   self.answer(401 if self.headers.get('Authorization') is None and {invoke_status} == 401 else {invoke_status})\n\
                 s = http.server.ThreadingHTTPServer(('127.0.0.1', 443), H)\n\
                 c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain('{cert}', '{}')\n\
                 s.socket = c.wrap_socket(s.socket, server_side=True)\n\
                 s.serve_forever()\n",
                dir.join(key).display()
            ))
            .spawn()
            .unwrap();
        for _ in 0..50 {
            if std::net::TcpStream::connect("127.0.0.1:443").is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Serve { child }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tailnet_and_dns_checks_pass_on_serve_and_fail_on_each_break() {
    let p = project("vtn").await;
    let name = "gw-vtn.tail1234.ts.net";
    let dir = tempfile::tempdir().unwrap();
    certificates(dir.path(), name);
    let ca = dir.path().join("ca.pem");
    let cert = dir.path().join("cert.pem");
    let self_signed = dir.path().join("other.pem");
    let _hosts = HostsEntry::new("127.0.0.1", name);

    // Healthy: valid certificate, the token required, the gateway port closed.
    let serve = Serve::start(dir.path(), cert.to_str().unwrap(), 401);
    let checks = p.verify_trusting("tailnet", &ca);
    only_failing(&checks, &[], "Serve as deployed");
    drop(serve);

    // A certificate that is not for the name.
    let serve = Serve::start(dir.path(), self_signed.to_str().unwrap(), 401);
    let checks = p.verify_trusting("tailnet", &ca);
    assert_eq!(checks["tailnet.https"].0, "fail", "{checks:?}");
    assert_eq!(checks["tailnet.gateway_port"].0, "pass", "{checks:?}");
    drop(serve);

    // The gateway answering without its token.
    let serve = Serve::start(dir.path(), cert.to_str().unwrap(), 200);
    let checks = p.verify_trusting("tailnet", &ca);
    only_failing(&checks, &["tailnet.auth"], "no token needed");
    drop(serve);

    // The gateway's own port reachable on the node's address.
    let serve = Serve::start(dir.path(), cert.to_str().unwrap(), 401);
    let gateway = std::net::TcpListener::bind("127.0.0.1:18789").expect("port 18789 free");
    let checks = p.verify_trusting("tailnet", &ca);
    only_failing(&checks, &["tailnet.gateway_port"], "gateway port open");
    drop(gateway);
    drop(serve);

    // outside.dns: a private address is fine, a public one is not.
    let checks = p.verify_trusting("outside", &ca);
    assert_eq!(checks["outside.dns"].0, "pass", "{checks:?}");
    drop(_hosts);
    let _public = HostsEntry::new("203.0.113.9", name);
    let checks = p.verify_trusting("outside", &ca);
    assert_eq!(checks["outside.dns"].0, "fail", "{checks:?}");
    assert!(
        checks["outside.dns"].1.contains("203.0.113.9"),
        "{checks:?}"
    );
}
