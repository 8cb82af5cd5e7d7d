//! What the host phase refuses, and how it says so: a different host key,
//! an unreachable node, a failed cloud-init, a peer outside the tailnet, a
//! gateway listening beyond loopback, Funnel on.

mod host_fixture;
mod support;

use std::time::Duration;

use clawprov::error::{Error, Kind};
use clawprov::host::{self, HostError, Silent, Target};
use host_fixture::{HostFixture, Recorder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_host_key_is_refused_before_login_naming_both_fingerprints() {
    let fx = HostFixture::start();
    // Pin some other ed25519 key for this host:port.
    let other = clawprov::secrets::generate_ssh_key("other").unwrap().1;
    let other_b64 = other.split_whitespace().nth(1).unwrap().to_string();
    let pinned_line = format!("[127.0.0.1]:{} ssh-ed25519 {other_b64}\n", fx.ssh_port);
    std::fs::write(fx.known_hosts(), &pinned_line).unwrap();
    let other_fp = {
        let p = fx.path("other.pub");
        std::fs::write(&p, &other).unwrap();
        host_fixture::fingerprint_of(&p)
    };

    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("must refuse");
    assert!(matches!(err, HostError::HostKeyMismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&other_fp), "pinned fingerprint missing: {msg}");
    assert!(
        msg.contains(&fx.host_key_fingerprint()),
        "presented fingerprint missing: {msg}"
    );
    // The pin is untouched, nothing was delivered, no login was attempted.
    assert_eq!(
        std::fs::read_to_string(fx.known_hosts()).unwrap(),
        pinned_line
    );
    assert!(!fx
        .service_home()
        .join(".config/openclaw/gateway.env")
        .exists());
    let sshd = fx.read("sshd.log");
    assert!(
        !sshd.contains("publickey"),
        "a login was attempted:\n{sshd}"
    );
    assert!(fx.read("commands.log").is_empty());
    assert_eq!(Error::from(err).kind(), Kind::Failed);
}

#[tokio::test]
async fn an_unreachable_node_times_out_saying_what_was_seen() {
    // A port nothing listens on: the name resolves, the port refuses.
    let port = host_fixture::free_port();
    let stack = clawprov::stack::parse(
        b"name: t\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: gw\n",
        std::path::Path::new("t.yaml"),
    )
    .unwrap();
    let mut vault = clawprov::secrets::Vault::new();
    let (key, _) = clawprov::secrets::generate_ssh_key("t").unwrap();
    vault.set("ssh_private_key", key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inputs = |target: &str| host::HostInputs {
        stack: &stack,
        vault: &vault,
        ssh_host: Some(Target::parse(target).unwrap()),
        allow_non_tailnet: false,
        node_address: None,
        known_hosts: dir.path().join("t.known_hosts"),
        server_id: None,
        reach_deadline: Duration::from_secs(2),
        step_deadline: Duration::from_secs(2),
        paths: host::HostPaths::default(),
        templates: Default::default(),
    };

    let progress = Recorder::default();
    let err = host::run(inputs(&format!("127.0.0.1:{port}")), &progress)
        .await
        .expect_err("unreachable");
    let msg = err.to_string();
    assert!(matches!(err, HostError::Unreachable { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "127.0.0.1:{port} resolves but port {port} answers"
        )),
        "{msg}"
    );
    assert!(msg.contains("refused"), "{msg}");
    assert!(
        progress.text().contains("attempt 2"),
        "retried with progress: {}",
        progress.text()
    );

    let err = host::run(inputs("cpt-no-such-node.invalid:22"), &Silent)
        .await
        .expect_err("unresolvable");
    let msg = err.to_string();
    assert!(
        msg.contains("cpt-no-such-node.invalid does not resolve"),
        "{msg}"
    );
    assert_eq!(Error::from(err).kind(), Kind::Failed);
    assert!(!dir.path().join("t.known_hosts").exists());
}

#[tokio::test]
async fn a_peer_outside_the_tailnet_is_refused_unless_overridden() {
    let stack = clawprov::stack::parse(
        b"name: t\ntailscale:\n  tailnet: tail1234.ts.net\n  hostname: gw\n",
        std::path::Path::new("t.yaml"),
    )
    .unwrap();
    let mut vault = clawprov::secrets::Vault::new();
    vault
        .set(
            "ssh_private_key",
            clawprov::secrets::generate_ssh_key("t").unwrap().0,
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let inputs = |allow: bool| host::HostInputs {
        stack: &stack,
        vault: &vault,
        // TEST-NET-1: never routed; nothing is sent before the check.
        ssh_host: Some(Target::parse("192.0.2.1:22").unwrap()),
        allow_non_tailnet: allow,
        node_address: None,
        known_hosts: dir.path().join("t.known_hosts"),
        server_id: None,
        reach_deadline: Duration::from_secs(1),
        step_deadline: Duration::from_secs(1),
        paths: host::HostPaths::default(),
        templates: Default::default(),
    };
    let err = host::run(inputs(false), &Silent)
        .await
        .expect_err("refused");
    let msg = err.to_string();
    assert!(matches!(err, HostError::OutsideTailnet { .. }), "{msg}");
    assert!(
        msg.contains("192.0.2.1") && msg.contains("--allow-non-tailnet"),
        "{msg}"
    );
    assert_eq!(Error::from(err).kind(), Kind::BadInput);

    // Overridden, the address passes the check and the phase goes on to
    // (fail to) reach it.
    let err = host::run(inputs(true), &Silent)
        .await
        .expect_err("unreachable");
    assert!(matches!(err, HostError::Unreachable { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_init_failure_surfaces_the_bootstrap_log_and_stops() {
    let fx = HostFixture::start();
    fx.state("cloud-init", "error");
    std::fs::write(
        fx.path("fs/var/log/clawprov-bootstrap.log"),
        "+ [12:00:03 line 88] apt-get install -y tailscale\n\
         E: Unable to locate package tailscale\n\
         clawprov-bootstrap: FAILED at line 88 (exit 100)\n",
    )
    .unwrap();
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("cloud-init failed");
    let msg = err.to_string();
    assert!(matches!(err, HostError::CloudInit { code: 1, .. }), "{msg}");
    assert!(msg.contains("failing step: "), "{msg}");
    assert!(
        msg.contains("clawprov-bootstrap: FAILED at line 88 (exit 100)"),
        "{msg}"
    );
    assert!(
        msg.contains("E: Unable to locate package tailscale"),
        "{msg}"
    );
    assert!(msg.contains("Runparts: 1 failures"), "{msg}");
    // It stopped: nothing delivered, nothing shredded (the log is evidence).
    assert!(!fx
        .service_home()
        .join(".config/openclaw/gateway.env")
        .exists());
    assert!(fx.path("fs/var/log/clawprov-bootstrap.log").exists());

    // cloud-init done but the bootstrap never wrote its marker.
    fx.state("cloud-init", "done");
    let marker = fx.path("fs/var/lib/clawprov/bootstrap-complete");
    let stamp = std::fs::read(&marker).unwrap();
    std::fs::remove_file(&marker).unwrap();
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("no marker");
    assert!(
        matches!(err, HostError::BootstrapIncomplete { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("FAILED at line 88"), "{err}");
    assert!(
        err.to_string()
            .contains("`clawprov destroy` and `clawprov up`"),
        "the way out is named: {err}"
    );
    // Recoverable errors only (exit 2, "degraded"), and the marker is there:
    // a warning in the report, not a failure.
    std::fs::write(&marker, stamp).unwrap();
    fx.state("cloud-init", "degraded");
    let report = host::run(fx.inputs(), &Silent)
        .await
        .expect("recoverable warnings do not stop the host phase");
    assert!(
        report
            .cloud_init
            .contains("1 recoverable warning(s): WARNING: deprecated key"),
        "{}",
        report.cloud_init
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_listening_beyond_loopback_is_refused() {
    let fx = HostFixture::start();
    fx.state("bind", "0.0.0.0");
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("exposed gateway");
    let msg = err.to_string();
    assert!(matches!(err, HostError::Gateway(_)), "{msg}");
    assert!(
        msg.contains(&format!("0.0.0.0:{}", fx.gateway_port)),
        "{msg}"
    );
    // The evidence is kept: nothing shredded after a failed check.
    assert!(fx.path("fs/var/log/clawprov-bootstrap.log").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn funnel_on_is_refused() {
    let fx = HostFixture::start();
    // Someone turned Funnel on for the node's name (`serve --bg` would turn
    // it off again: the host phase refuses before it gets there).
    let name = fx.read("state/dnsname");
    fx.state(
        "serve.json",
        &format!(
            r#"{{"TCP":{{"443":{{"HTTPS":true}}}},"Web":{{"{name}:443":{{"Handlers":{{"/":{{"Proxy":"http://127.0.0.1:{}"}}}}}}}},"AllowFunnel":{{"{name}:443":true}}}}"#,
            fx.gateway_port
        ),
    );
    let err = host::run(fx.inputs(), &Silent).await.expect_err("funnel");
    let log = fx.read("state/gateway.log");
    assert!(
        matches!(err, HostError::Serve(_)),
        "{err}\ngateway log:\n{log}"
    );
    assert!(err.to_string().contains("Funnel is on"), "{err}");
}

/// A gateway that exits at once (a bad config, a version mismatch) fails
/// the start within seconds, naming the unit's state and quoting its last
/// journal lines with every secret scrubbed, instead of waiting out the
/// whole host timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_that_exits_at_once_fails_fast_with_its_state_and_journal() {
    let fx = HostFixture::start();
    fx.state("crash", "1");
    let mut inputs = fx.inputs();
    inputs.step_deadline = Duration::from_secs(600);
    let started = std::time::Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(60), host::run(inputs, &Silent))
        .await
        .expect("the host phase gave up on the dead gateway long before the step deadline")
        .expect_err("a dead gateway");
    let took = started.elapsed();
    let msg = err.to_string();
    assert!(took < Duration::from_secs(15), "took {took:?}: {msg}");
    assert!(matches!(err, HostError::Gateway(_)), "{msg}");
    assert!(msg.contains("clawprov-gateway.service"), "{msg}");
    assert!(msg.contains("failed"), "the unit's state: {msg}");
    assert!(
        msg.contains("invalid config, refusing to start"),
        "the journal: {msg}"
    );
    assert!(msg.contains("[redacted:gateway_token]"), "{msg}");
    let uid = host_fixture::uid_of(&fx.service);
    assert!(
        fx.read("shim.log").contains(&format!(
            "journalctl _SYSTEMD_USER_UNIT=clawprov-gateway.service _UID={uid} \
             + USER_UNIT=clawprov-gateway.service _UID={uid} "
        )),
        "the journal is searched for the unit of the service user: {}",
        fx.read("shim.log")
    );
    for canary in &fx.canaries {
        assert!(
            !msg.contains(canary.as_str()),
            "a secret in the error: {msg}"
        );
    }
}

/// Accepts connections for `closed_for` and drops them at once (a port
/// forward with nothing behind it yet, an sshd restarting), then forwards
/// to `upstream`.
fn late_sshd(upstream: u16, closed_for: Duration) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let opened_at = std::time::Instant::now() + closed_for;
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            if std::time::Instant::now() < opened_at {
                drop(client);
                continue;
            }
            std::thread::spawn(move || {
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let (mut c_read, mut s_write) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = std::thread::spawn(move || std::io::copy(&mut c_read, &mut s_write));
                let (mut s_read, mut c_write) = (server, client);
                let _ = std::io::copy(&mut s_read, &mut c_write);
                let _ = up.join();
            });
        }
    });
    port
}

/// The fixture's inputs, reaching it through `port` within `reach`.
fn via(fx: &HostFixture, port: u16, reach: Duration) -> host::HostInputs<'_> {
    let mut inputs = fx.inputs();
    inputs.ssh_host = Some(Target::parse(&format!("127.0.0.1:{port}")).unwrap());
    inputs.reach_deadline = reach;
    inputs
}

/// The port accepts before sshd answers: the handshake is retried until it
/// works, within the reach deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_that_came_too_early_is_retried_until_sshd_answers() {
    let fx = HostFixture::start();
    let port = late_sshd(fx.ssh_port, Duration::from_secs(4));
    let progress = Recorder::default();
    let report = host::run(via(&fx, port, Duration::from_secs(30)), &progress)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", progress.text()));
    assert_eq!(report.target, format!("127.0.0.1:{port}"));
    let seen = progress.text();
    assert!(seen.contains("retrying in"), "{seen}");
    assert!(seen.contains("handshake"), "{seen}");
}

/// Retrying has a bound: a port that never speaks SSH ends at the reach
/// deadline with the handshake's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_that_never_speaks_ssh_fails_at_the_reach_deadline() {
    let fx = HostFixture::start();
    let port = late_sshd(fx.ssh_port, Duration::from_secs(3600));
    let started = std::time::Instant::now();
    let err = host::run(via(&fx, port, Duration::from_secs(5)), &Silent)
        .await
        .expect_err("no sshd");
    assert!(started.elapsed() < Duration::from_secs(20), "{err}");
    assert!(
        matches!(
            err,
            HostError::Ssh {
                stage: "handshake",
                ..
            }
        ),
        "{err}"
    );
}

/// A trace search that cannot run (sudo refuses `find`) is an error naming
/// the search, never "nothing left to shred".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_search_that_sudo_refuses_is_an_error_not_nothing_left() {
    let fx = HostFixture::start();
    // The search runs as `sudo -n -- env LC_ALL=C find ...`.
    fx.sudo_refuses("/usr/bin/env LC_ALL\\=C find *");
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("the search could not run");
    let msg = err.to_string();
    assert!(msg.contains("searching for bootstrap traces"), "{msg}");
    assert!(msg.contains("password is required"), "{msg}");
    // Nothing was claimed shredded: the traces are all still there.
    assert!(fx.path("fs/var/log/clawprov-bootstrap.log").exists());
}

/// A command printing more than the limit stops with an error naming it,
/// having read at most the limit plus one byte of each stream; within the
/// limit the output is whole (the security issue's item 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_command_printing_more_than_the_limit_is_an_error() {
    use clawprov::host::command::RemoteCommand;
    let fx = HostFixture::start();
    let inputs = fx.inputs();
    let key = fx.vault.get("ssh_private_key").unwrap().clone();
    let (_, session, _) = host::login(&inputs, &key, &Silent).await.unwrap();
    let limit = 1024 * 1024;
    let timeout = Duration::from_secs(30);
    let print = |bytes: u64, stream: &str| {
        let redirect = if stream == "stderr" { " >&2" } else { "" };
        RemoteCommand::new("sh").args([
            "-c".to_string(),
            format!("head -c {bytes} /dev/zero{redirect}"),
        ])
    };
    for stream in ["stdout", "stderr"] {
        // 64 MiB on offer, the limit 1 MiB.
        let err = session
            .run_limited(&print(64 * limit, stream), None, timeout, limit)
            .await
            .expect_err("more than the limit");
        assert!(
            matches!(&err, HostError::TooMuchOutput { stream: s, limit: l, .. } if *s == stream && *l == limit),
            "{err}"
        );
        assert!(
            err.to_string().contains("head -c"),
            "names the command: {err}"
        );
        let out = session
            .run_limited(&print(limit, stream), None, timeout, limit)
            .await
            .expect("exactly the limit");
        let got = if stream == "stdout" {
            out.stdout
        } else {
            out.stderr
        };
        assert_eq!(got.len() as u64, limit);
    }
}

/// A delivery that fails after the staged copy was filled (sudo refuses the
/// rename) leaves no `*.clawprov-new` behind: it held the env file's
/// secrets (the security issue's item 9).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_delivery_leaves_no_staged_copy() {
    let fx = HostFixture::start();
    fx.sudo_refuses("/usr/bin/env mv -f -T -- *");
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("the rename is refused");
    assert!(err.to_string().contains("password is required"), "{err}");
    let dir = fx.service_home().join(".config/openclaw");
    let staged: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    // The dd that filled it ran, so the test saw the window it closes.
    // (sudo's log wraps its lines.)
    let sudo_log = fx
        .read("sudo.log")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        sudo_log.contains("COMMAND=/usr/bin/env dd of="),
        "the staged copy was never filled: {}",
        fx.read("sudo.log")
    );
    assert!(
        !staged
            .iter()
            .any(|n| n.to_string_lossy().ends_with(".clawprov-new")),
        "a staged copy is left in {}: {staged:?}",
        dir.display()
    );
}

/// Every object of the service user's home that delivery walks, replaced by
/// a link to a root-owned directory or file outside the home (what a
/// gateway steered by a prompt injection could do): the host phase refuses
/// with a message naming the path, and nothing outside the home changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_symlink_at_any_level_is_refused_and_nothing_outside_changes() {
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
    for planted in [
        ".config",
        ".config/openclaw",
        ".openclaw",
        ".config/openclaw/gateway.env",
        ".openclaw/openclaw.json",
    ] {
        let fx = HostFixture::start();
        let home = fx.service_home();
        // Outside the home: what root must never touch (think /etc/systemd/system).
        let outside = fx.path("outside");
        std::fs::create_dir_all(outside.join("sub")).unwrap();
        std::fs::write(outside.join("victim"), "root's file\n").unwrap();
        std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o755)).unwrap();
        let snapshot = |p: &std::path::Path| {
            let mut seen = vec![];
            for f in [p.to_path_buf(), p.join("sub"), p.join("victim")] {
                let m = std::fs::symlink_metadata(&f).unwrap();
                seen.push((f.clone(), m.uid(), m.gid(), m.mode()));
            }
            let mut names: Vec<_> = std::fs::read_dir(p)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            (seen, names, std::fs::read(p.join("victim")).unwrap())
        };
        let before = snapshot(&outside);

        // The parents of the planted link exist as the user's own dirs.
        let link = home.join(planted);
        let svc_uid = host_fixture::uid_of(&fx.service);
        let chown = |p: &std::path::Path| {
            let ok = std::process::Command::new("chown")
                .arg("-h")
                .arg(format!("{svc_uid}:{svc_uid}"))
                .arg(p)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown {}", p.display());
        };
        let mut dir = home.clone();
        for part in std::path::Path::new(planted).parent().unwrap().components() {
            dir.push(part);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            chown(&dir);
        }
        let target = if planted.ends_with(".env") || planted.ends_with(".json") {
            outside.join("victim")
        } else {
            outside.join("sub")
        };
        symlink(&target, &link).unwrap();
        chown(&link);

        let err = host::run(fx.inputs(), &Silent)
            .await
            .expect_err("a planted link");
        let msg = err.to_string();
        assert!(
            matches!(err, HostError::UnsafePath { .. }),
            "{planted}: {msg}"
        );
        assert!(
            msg.contains(&link.display().to_string()),
            "{planted}: {msg}"
        );
        assert!(msg.contains("symbolic link"), "{planted}: {msg}");
        assert_eq!(
            snapshot(&outside),
            before,
            "{planted}: outside the home changed"
        );
        // Nothing was written as root: no sudo to root ran install, mv or chown.
        let sudo = fx.read("sudo.log");
        for verb in ["install", "/mv", "chown"] {
            assert!(
                !sudo
                    .lines()
                    .any(|l| l.contains("USER=root") && l.contains(verb)),
                "{planted}: root ran {verb}:\n{sudo}"
            );
        }
    }
}

/// A tailnet without HTTPS certificates: serve is not attempted (it would
/// wait for consent) and the error says what to enable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tailnet_without_https_says_what_to_enable() {
    let fx = HostFixture::start();
    fx.state("nohttps", "1");
    let err = host::run(fx.inputs(), &Silent).await.expect_err("no https");
    let msg = err.to_string();
    assert!(matches!(err, HostError::Serve(_)), "{msg}");
    assert!(msg.contains("HTTPS Certificates"), "{msg}");
    assert!(
        !fx.read("shim.log").contains("tailscale serve --bg"),
        "serve was attempted:\n{}",
        fx.read("shim.log")
    );
}

/// The gateway's port on loopback is not enough: any other port the service
/// user's processes listen on must be loopback too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_listener_of_the_service_user_beyond_loopback_is_refused() {
    let fx = HostFixture::start();
    let extra = host_fixture::free_port();
    fx.state("extra_port", &format!("0.0.0.0:{extra}"));
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("a second, exposed listener");
    let msg = err.to_string();
    assert!(matches!(err, HostError::Gateway(_)), "{msg}");
    assert!(msg.contains(&format!("0.0.0.0:{extra}")), "{msg}");
    assert!(msg.contains(&fx.service), "{msg}");

    // The same listener on loopback is fine.
    drop(fx);
    let fx = HostFixture::start();
    let extra = host_fixture::free_port();
    fx.state("extra_port", &format!("127.0.0.1:{extra}"));
    host::run(fx.inputs(), &Silent)
        .await
        .expect("loopback side listeners pass");
}

/// OpenClaw writing openclaw.json back is reported; writing a secret into
/// it is an error that does not quote the secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_written_back_is_reported_and_a_secret_in_it_refused() {
    let fx = HostFixture::start();
    fx.state("rewrite", "harmless");
    let report = host::run(fx.inputs(), &Silent)
        .await
        .expect("a harmless rewrite is not an error");
    assert!(report.config_rewritten, "{report:?}");

    let fx = HostFixture::start();
    fx.state("rewrite", "token");
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("a secret in openclaw.json");
    let msg = err.to_string();
    assert!(
        msg.contains("openclaw.json now holds one of the gateway's secret"),
        "{msg}"
    );
    for canary in &fx.canaries {
        assert!(!msg.contains(canary.as_str()), "{msg}");
    }
    let commands = fx.read("commands.log") + &fx.read("sudo.log");
    for canary in &fx.canaries {
        assert!(!commands.contains(canary.as_str()), "a secret in argv");
    }
}

/// Serve keyed to a name the node no longer has (a rename, a `-1` suffix):
/// tailscaled answers only the exact `<name>:443` key (ipnlocal/serve.go),
/// so the host phase resets the stale config and applies its own. The
/// client warns of a version mismatch on stderr meanwhile: only stdout is
/// read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_keyed_to_an_old_name_is_reset_and_applied_for_the_nodes_name() {
    let fx = HostFixture::start();
    let name = fx.read("state/dnsname");
    let old = format!("old-{name}");
    fx.state(
        "serve.json",
        &format!(
            r#"{{"TCP":{{"443":{{"HTTPS":true}}}},"Web":{{"{old}:443":{{"Handlers":{{"/":{{"Proxy":"http://127.0.0.1:{}"}}}}}}}}}}"#,
            fx.gateway_port
        ),
    );
    fx.state("mismatch", "1");
    let report = host::run(fx.inputs(), &Silent)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", fx.read("shim.log")));
    assert!(report.serve_configured, "{report:?}");
    let served = fx.read("state/serve.json");
    assert!(
        served.contains(&format!("\"{name}:443\"")) && !served.contains(&old),
        "{served}"
    );
    let log = fx.read("shim.log");
    let reset = log.find("tailscale serve reset").expect("serve reset");
    let apply = log.find("tailscale serve --bg").expect("serve --bg");
    assert!(reset < apply, "{log}");
}

/// A foreground `tailscale serve` session (someone ran it without --bg) is
/// never clawprov's: the host phase names it and does not touch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreground_serve_session_is_refused_and_left_alone() {
    let fx = HostFixture::start();
    let name = fx.read("state/dnsname");
    let config = format!(
        r#"{{"TCP":{{"443":{{"HTTPS":true}}}},"Web":{{"{name}:443":{{"Handlers":{{"/":{{"Proxy":"http://127.0.0.1:{}"}}}}}}}},"Foreground":{{"5e0d6b5a7c3f4e21":{{"TCP":{{"8443":{{"HTTPS":true}}}},"Web":{{"{name}:8443":{{"Handlers":{{"/":{{"Proxy":"http://127.0.0.1:9000"}}}}}}}}}}}}}}"#,
        fx.gateway_port
    );
    fx.state("serve.json", &config);
    let err = host::run(fx.inputs(), &Silent)
        .await
        .expect_err("foreground");
    let msg = err.to_string();
    assert!(matches!(err, HostError::Serve(_)), "{msg}");
    assert!(
        msg.contains("foreground") && msg.contains(&format!("{name}:8443")),
        "{msg}"
    );
    assert_eq!(fx.read("state/serve.json"), config);
}
