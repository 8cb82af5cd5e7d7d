//! clawprov's Tailscale side against the real client: Tailscale's own
//! `tailscaled` and `tailscale` (v1.102.5, built from the tailscale.com
//! module), Tailscale's test control plane with DERP, and Pebble issuing
//! Serve's certificate through a real DNS-01 challenge, in front of the
//! Tailscale API simulator (tests/tailnet_support, tests/tailnet/).
//!
//! One network namespace holds the scenario: the node (userspace
//! networking, as a second tailscaled in the namespace must be), the
//! operator's machine (a TUN named tailscale0, MagicDNS in its resolver),
//! the helper and the simulator. So what the stand-ins only asserted is
//! seen here: a key minted in the simulator joins a real node and is spent;
//! the API's device list is the control plane's node list; the commands and
//! shell lines clawprov runs on the node read the real client's output;
//! Serve answers HTTPS on the node's MagicDNS name with a certificate valid
//! for it, which clawprov's tailnet vantage checks; and the re-auth script
//! of `rotate tailscale-key` re-authenticates the node with a new key and
//! `--reset`, keeping its device.

mod support;
mod tailnet_support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use clawprov::host::node_prefs::{self, NodePrefs};
use clawprov::host::{reauth, serve_config};
use clawprov::sim::tailscale::{Actor, KeyRequest};
use clawprov::sim::{self, SimConfig, DEFAULT_MAGIC_DNS_SUFFIX};
use clawprov::verify::{tailnet, Status};
use serde_json::Value;
use tailnet_support::{text, Listen, Tailnet};

const HOSTNAME: &str = "openclaw-realnet";
const TAG: &str = "tag:openclaw";

fn mint(sim: &sim::SimServer) -> (String, String) {
    let k = sim
        .sim
        .with(|w| {
            w.tailscale.mint_key(
                &Actor::ApiToken,
                &KeyRequest {
                    reusable: false,
                    preauthorized: true,
                    tags: vec![TAG.into()],
                    expiry_seconds: 3600,
                    ..KeyRequest::default()
                },
            )
        })
        .expect("a key");
    (k.id, k.key)
}

/// A gateway stand-in on loopback: 200 on GET, 401 on POST /tools/invoke
/// (what OpenClaw answers without a token).
fn gateway() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut buf = [0u8; 4096];
            let n = conn.read(&mut buf).unwrap_or(0);
            let req = String::from_utf8_lossy(&buf[..n]);
            let reply = if req.starts_with("POST /tools/invoke") {
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\ncontent-length: 7\r\nconnection: close\r\n\r\ngateway"
            };
            let _ = conn.write_all(reply.as_bytes());
        }
    });
    port
}

fn eventually<T>(what: &str, wait: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + wait;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "{what}: not within {wait:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn device_json(d: &sim::tailscale::Device) -> (String, String, String, Vec<String>, Vec<String>) {
    (
        d.id.clone(),
        d.node_id.clone(),
        d.name.clone(),
        d.addresses.clone(),
        d.tags.clone(),
    )
}

fn node_json(n: &Value) -> (String, String, String, Vec<String>, Vec<String>) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    (
        n["id"].as_str().unwrap().to_string(),
        n["nodeId"].as_str().unwrap().to_string(),
        n["name"].as_str().unwrap().to_string(),
        strings(&n["addresses"]),
        strings(&n["tags"]),
    )
}

#[test]
fn a_real_node_joins_serves_https_and_reauthenticates() {
    if !tailnet_support::in_netns("a_real_node_joins_serves_https_and_reauthenticates") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt
        .block_on(sim::serve(
            SimConfig::default(),
            SocketAddr::from(([127, 0, 0, 1], 0)),
        ))
        .expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let net = Tailnet::start(
        dir.path(),
        &format!("http://{}", sim.addr),
        DEFAULT_MAGIC_DNS_SUFFIX,
        &Listen::loopback(),
    );
    let node = net.daemon("node", false);
    let operator = net.daemon("operator", true);

    // --- The join: a key minted in the simulator, spent by a real node.
    let (key_id, key) = mint(&sim);
    let up = node.up(&key, HOSTNAME, &[&format!("--advertise-tags={TAG}")]);
    assert!(up.status.success(), "tailscale up: {}", text(&up));
    let (_, operator_key) = mint(&sim);
    let up = operator.up(
        &operator_key,
        "operator",
        &[&format!("--advertise-tags={TAG}")],
    );
    assert!(
        up.status.success(),
        "operator's tailscale up: {}",
        text(&up)
    );
    let spent = sim.sim.with(|w| w.tailscale.key(&key_id)).unwrap();
    assert_eq!(spent.uses, 1, "the join spent the key: {spent:?}");

    // --- The API's device list is the control plane's node list.
    let devices = eventually(
        "both devices online in the API",
        Duration::from_secs(20),
        || {
            let d = sim.sim.with(|w| w.tailscale.devices());
            (d.len() == 2 && d.iter().all(|d| d.connected_to_control)).then_some(d)
        },
    );
    let mut api: Vec<_> = devices.iter().map(device_json).collect();
    let mut control: Vec<_> = net.nodes().iter().map(node_json).collect();
    api.sort();
    control.sort();
    assert_eq!(api, control, "simulator devices vs control plane nodes");
    let gw = devices.iter().find(|d| d.hostname == HOSTNAME).unwrap();
    let name = gw.name.clone();
    assert_eq!(name, format!("{HOSTNAME}.{DEFAULT_MAGIC_DNS_SUFFIX}"));

    // --- What clawprov reads on the node, from the real client.
    let status = node.status();
    assert_eq!(status["BackendState"], "Running", "{status}");
    assert_eq!(status["Self"]["DNSName"], format!("{name}."), "{status}");
    assert_eq!(status["Self"]["ID"], gw.node_id.as_str(), "{status}");
    assert_eq!(status["Self"]["Tags"], serde_json::json!([TAG]), "{status}");
    assert_eq!(status["CertDomains"], serde_json::json!([name]), "{status}");
    assert!(
        status.get("Peer").is_none_or(|p| p.is_null()),
        "--peers=false lists no peers: {status}"
    );
    let read = node.sh(node_prefs::READ, &[]);
    let read_text = String::from_utf8_lossy(&read.stdout).to_string();
    assert!(
        read_text.starts_with("get="),
        "v1.102 has `tailscale get --json`: {}",
        text(&read)
    );
    let before = NodePrefs::from_read(&read_text).expect("the node's settings");
    assert_eq!(before.ssh, Some(false), "{before:?}");
    assert!(before.exposure().is_empty(), "{:?}", before.exposure());

    // --- Serve, as the host phase applies it, judged as verify judges it.
    let port = gateway();
    let target = format!("http://127.0.0.1:{port}");
    let empty = node.cli(&["serve", "status", "--json"]);
    let empty: Value = serde_json::from_slice(&empty.stdout).expect("serve status JSON");
    assert!(
        empty.as_object().is_some_and(|o| o.is_empty()),
        "an empty serve config prints {{}}: {empty}"
    );
    let missing = serve_config::judge(&empty, &name, port);
    assert!(!missing.is_clean(), "nothing served is a finding");
    let serve = node.cli(&["serve", "--bg", "--https=443", &target]);
    assert!(serve.status.success(), "serve --bg: {}", text(&serve));
    let config: Value =
        serde_json::from_slice(&node.cli(&["serve", "status", "--json"]).stdout).unwrap();
    let findings = serve_config::judge(&config, &name, port);
    assert!(findings.is_clean(), "{:?}\n{config}", findings.all());
    // Keyed to another name, the same judge finds it (the real shape).
    let other = serve_config::judge(&config, "old-gw.tail1234.ts.net", port);
    assert!(!other.is_clean(), "{config}");
    // The VM corpus's Serve mutations, with the real CLI: Funnel turned on
    // by `tailscale funnel`, then a config keyed to an old name through
    // `serve set-raw`; each judged as verify judges it, and set-raw puts
    // the original back.
    let saved = node.cli(&["serve", "status", "--json"]).stdout;
    let funnel = node.cli(&["funnel", "--bg", "--https=443", &target]);
    assert!(funnel.status.success(), "funnel: {}", text(&funnel));
    let with_funnel: Value =
        serde_json::from_slice(&node.cli(&["serve", "status", "--json"]).stdout).unwrap();
    let judged = serve_config::judge(&with_funnel, &name, port);
    assert!(!judged.funnel.is_empty(), "{with_funnel}");
    let restore = |doc: &[u8]| {
        let out = node.sh(
            "printf '%s' \"$1\" | tailscale serve set-raw",
            &[std::str::from_utf8(doc).unwrap()],
        );
        assert!(out.status.success(), "set-raw: {}", text(&out));
    };
    restore(&saved);
    let renamed = String::from_utf8_lossy(&saved)
        .replace(&format!("\"{HOSTNAME}."), &format!("\"old-{HOSTNAME}."));
    restore(renamed.as_bytes());
    let stale: Value =
        serde_json::from_slice(&node.cli(&["serve", "status", "--json"]).stdout).unwrap();
    let judged = serve_config::judge(&stale, &name, port);
    assert!(!judged.is_clean() && judged.funnel.is_empty(), "{stale}");
    restore(&saved);
    let back: Value =
        serde_json::from_slice(&node.cli(&["serve", "status", "--json"]).stdout).unwrap();
    assert!(serve_config::judge(&back, &name, port).is_clean(), "{back}");

    // --- The tailnet vantage, over the real tailnet (operator's TUN, DERP,
    // the node's Serve): first without trusting Pebble's root, a verdict on
    // the certificate; then trusting it, a pass.
    let check = |roots: &std::path::Path| {
        std::env::set_var("SSL_CERT_FILE", roots);
        rt.block_on(tailnet::check(
            &name,
            port,
            Duration::from_secs(10),
            tailnet::CERT_WAIT,
        ))
    };
    let by_id = |results: &[clawprov::verify::CheckResult], id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
            .clone()
    };
    let untrusted = check(std::path::Path::new("/etc/ssl/certs/ca-certificates.crt"));
    let https = by_id(&untrusted, "tailnet.https");
    assert_eq!(https.status, Status::Fail, "{https:?}");
    assert!(https.detail.contains("certificate"), "{https:?}");
    let trusted = check(&net.ready.acme_root);
    let https = by_id(&trusted, "tailnet.https");
    assert_eq!(
        https.status,
        Status::Pass,
        "{https:?}\n{}",
        node.proc.log_text()
    );
    let auth = by_id(&trusted, "tailnet.auth");
    assert_eq!(auth.status, Status::Pass, "{auth:?}");
    // A userspace-networking node forwards what reaches its tailnet
    // address to loopback: the gateway's port is open on the tailnet, and
    // the check sees it (the VM's node has a TUN and UFW instead).
    let port_check = by_id(&trusted, "tailnet.gateway_port");
    assert_eq!(port_check.status, Status::Fail, "{port_check:?}");
    assert!(
        port_check
            .detail
            .contains(&format!("{}:{port}", gw.addresses[0])),
        "{port_check:?}"
    );
    // The certificate came through a DNS-01 challenge the node set
    // through the control plane and Pebble checked against the helper.
    let dns: Value = serde_json::from_slice(
        &std::process::Command::new("curl")
            .args(["-sS", &format!("{}/dns", net.ready.admin)])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        dns.get(format!("_acme-challenge.{name}.")).is_some(),
        "{dns}"
    );

    // --- rotate's re-auth script, with a setting changed first: a plain
    // `up` would refuse; `--reset` goes through and the change is named.
    let set = node.cli(&["set", "--accept-dns=false"]);
    assert!(set.status.success(), "{}", text(&set));
    let changed = NodePrefs::from_read(&String::from_utf8_lossy(
        &node.sh(node_prefs::READ, &[]).stdout,
    ))
    .unwrap();
    let old_node_key = status_node_key(&net, &gw.id);
    let (new_key_id, new_key) = mint(&sim);
    let key_file = dir.path().join("rotate-key");
    std::fs::write(&key_file, &new_key).unwrap();
    let log = dir.path().join("rotate.log");
    let run = node.sh(
        reauth::SCRIPT,
        &[
            key_file.to_str().unwrap(),
            HOSTNAME,
            TAG,
            reauth::REAUTH_TIMEOUT,
            log.to_str().unwrap(),
        ],
    );
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        run.status.success() && log_text.contains("tailscale up exited 0"),
        "{}\n{log_text}",
        text(&run)
    );
    assert!(!key_file.exists(), "the script removes the key file");
    let after = NodePrefs::from_read(&String::from_utf8_lossy(
        &node.sh(node_prefs::READ, &[]).stdout,
    ))
    .unwrap();
    let reset = changed.changed_in(&after);
    assert_eq!(
        reset,
        vec!["accept-dns: false -> true".to_string()],
        "the reset names exactly the setting changed"
    );
    let spent = sim.sim.with(|w| w.tailscale.key(&new_key_id)).unwrap();
    assert_eq!(spent.uses, 1, "the re-auth spent the new key: {spent:?}");
    let devices = sim.sim.with(|w| w.tailscale.devices());
    assert_eq!(devices.len(), 2, "a re-auth keeps the device: {devices:?}");
    let same = devices
        .iter()
        .find(|d| d.id == gw.id)
        .expect("same device id");
    assert_eq!(same.addresses, gw.addresses);
    let nodes = net.nodes();
    let mine: Vec<_> = nodes.iter().filter(|n| n["id"] == gw.id.as_str()).collect();
    assert_eq!(mine.len(), 1, "the old node key is retired: {nodes:?}");
    assert_ne!(
        mine[0]["nodeKey"].as_str().unwrap(),
        old_node_key,
        "a new node key"
    );
    assert_eq!(node.status()["BackendState"], "Running");

    // --- A device deleted through the API leaves the control plane.
    sim.sim
        .with(|w| w.tailscale.delete_device(&Actor::ApiToken, &gw.id))
        .unwrap();
    eventually(
        "the node gone from the control plane",
        Duration::from_secs(10),
        || (!net.nodes().iter().any(|n| n["id"] == gw.id.as_str())).then_some(()),
    );
}

fn status_node_key(net: &Tailnet, id: &str) -> String {
    net.nodes()
        .iter()
        .find(|n| n["id"] == id)
        .and_then(|n| n["nodeKey"].as_str().map(String::from))
        .expect("node in the control plane")
}
