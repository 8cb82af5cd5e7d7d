//! The whole host phase against a real OpenSSH sshd on 127.0.0.1: real
//! users, sudo, files, permissions, owners and shredding; shims only for
//! tailscale, systemctl --user, cloud-init and loginctl (tests/README.md).

mod host_fixture;
mod support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use clawprov::host::{self, Pin, ServiceAction};
use clawprov::secrets::Secret;
use host_fixture::{files_under, uid_of, HostFixture, Recorder};

fn mode_owner(path: &std::path::Path) -> (u32, u32) {
    let m = fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.permissions().mode() & 0o7777, m.uid())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_host_phase_then_a_no_op_rerun_then_a_changed_secret() {
    let mut fx = HostFixture::start();
    let svc_uid = uid_of(&fx.service);
    let home = fx.service_home();
    let progress = Recorder::default();

    // --- First run: everything happens.
    let report = host::run(fx.inputs(), &progress).await.unwrap_or_else(|e| {
        panic!(
            "{e}\nprogress:\n{}\nsshd:\n{}",
            progress.text(),
            fx.read("sshd.log")
        )
    });
    assert_eq!(
        report.url,
        format!("https://gw-{}.tail1234.ts.net/", fx.tag)
    );
    assert_eq!(report.host_key.pin, Pin::PinnedNow);
    assert_eq!(report.host_key.fingerprint, fx.host_key_fingerprint());
    assert_eq!(report.service, ServiceAction::Started);
    assert!(report.serve_configured);
    assert!(report.changed);
    assert!(
        report.files.iter().all(|f| f.delivered),
        "{:?}",
        report.files
    );

    // The pin is OpenSSH's own public host key, in known_hosts format.
    let pub_key = fx.read("ssh_host_ed25519_key.pub");
    let pub_b64 = pub_key.split_whitespace().nth(1).unwrap();
    let kh = fs::read_to_string(fx.known_hosts()).unwrap();
    assert!(
        kh.lines()
            .any(|l| l == format!("[127.0.0.1]:{} ssh-ed25519 {pub_b64}", fx.ssh_port)),
        "{kh}"
    );

    // Secrets: 0600 files in 0700 dirs, owned by the service user.
    let env_file = home.join(".config/openclaw/gateway.env");
    let json_file = home.join(".openclaw/openclaw.json");
    for dir in [
        home.join(".config"),
        home.join(".config/openclaw"),
        home.join(".openclaw"),
    ] {
        assert_eq!(mode_owner(&dir), (0o700, svc_uid), "{}", dir.display());
    }
    for file in [&env_file, &json_file] {
        assert_eq!(mode_owner(file), (0o600, svc_uid), "{}", file.display());
    }
    let env = fs::read_to_string(&env_file).unwrap();
    let gw = fx.vault.get("gateway_token").unwrap().expose().to_string();
    assert!(
        env.contains(&format!("\nOPENCLAW_GATEWAY_TOKEN='{gw}'\n")),
        "env file"
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(json["gateway"]["bind"], "loopback");
    assert_eq!(json["gateway"]["port"], fx.gateway_port);

    // The gateway listens on loopback (a real listener started through the
    // shim as the service user, with its runtime dir).
    std::net::TcpStream::connect(("127.0.0.1", fx.gateway_port)).expect("gateway listens");
    let shim = fx.read("shim.log");
    assert!(
        shim.contains(&format!(
            "systemctl [{} XDG_RUNTIME_DIR=/run/user/{svc_uid}] --user start clawprov-gateway.service",
            fx.service
        )),
        "{shim}"
    );
    assert!(
        shim.contains(&format!("loginctl enable-linger {}", fx.service)),
        "{shim}"
    );
    assert!(
        shim.contains(&format!(
            "tailscale serve --bg --https=443 http://127.0.0.1:{}",
            fx.gateway_port
        )),
        "{shim}"
    );

    // Shredded and gone; obj.pkl kept on purpose.
    let fs_root = fx.path("fs");
    for gone in [
        "var/log/clawprov-bootstrap.log",
        "var/lib/cloud/instances/i-1/user-data.txt",
        "var/lib/cloud/instances/i-1/user-data.txt.i",
        "var/lib/cloud/instances/i-1/cloud-config.txt",
        "var/lib/cloud/instances/i-1/scripts/runcmd",
        "var/lib/cloud/instances/i-1/scripts/part-001",
        "var/log/cloud-init-output.log",
        "run/cloud-init/combined-cloud-config.json",
    ] {
        assert!(!fs_root.join(gone).exists(), "{gone} still exists");
    }
    assert!(fs_root.join("var/lib/cloud/instances/i-1/obj.pkl").exists());
    assert!(fs_root.join("var/lib/clawprov/bootstrap-complete").exists());
    assert_eq!(report.shredded.len(), 8, "{:?}", report.shredded);
    assert!(
        fx.read("sudo.log").contains("shred -u --"),
        "shred ran through sudo"
    );

    // --- Second run: nothing that is not needed.
    let env_inode = fs::metadata(&env_file).unwrap().ino();
    fx.clear_logs();
    let again = host::run(fx.inputs(), &progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.host_key.pin, Pin::Matched);
    assert_eq!(again.service, ServiceAction::AlreadyRunning);
    assert!(!again.serve_configured);
    assert!(again.shredded.is_empty());
    assert!(
        again.files.iter().all(|f| !f.delivered),
        "{:?}",
        again.files
    );
    assert!(!again.changed);
    assert_eq!(
        fs::metadata(&env_file).unwrap().ino(),
        env_inode,
        "env file rewritten"
    );
    let commands = fx.read("commands.log");
    let shim = fx.read("shim.log");
    for write in [
        "'install'",
        "'mv'",
        "'shred'",
        "enable-linger",
        "'start'",
        "'restart'",
        "'--bg'",
    ] {
        assert!(
            !commands.contains(write),
            "second run ran {write}:\n{commands}"
        );
    }
    assert!(
        !shim.contains("serve --bg") && !shim.contains("--user start"),
        "{shim}"
    );

    // --- A changed secret: only the env file is re-delivered, and the
    // gateway restarts to read it.
    let new_gw = format!("CANARYnewgw{}", fx.tag);
    fx.vault
        .set("gateway_token", Secret::new(new_gw.as_str()))
        .unwrap();
    fx.canaries.push(new_gw.clone());
    fx.clear_logs();
    let third = host::run(fx.inputs(), &progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let delivered: Vec<_> = third
        .files
        .iter()
        .filter(|f| f.delivered)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(delivered, [env_file.to_str().unwrap()]);
    assert_eq!(third.service, ServiceAction::Restarted);
    assert!(fs::read_to_string(&env_file).unwrap().contains(&new_gw));
    assert_eq!(mode_owner(&env_file), (0o600, svc_uid));
    std::net::TcpStream::connect(("127.0.0.1", fx.gateway_port)).expect("gateway listens again");

    // --- Canary: the markers are nowhere but their 0600 files.
    let mut outputs = vec![
        ("progress".to_string(), progress.text()),
        (
            "report".to_string(),
            format!("{report:?}{again:?}{third:?}"),
        ),
        (
            "report json".to_string(),
            serde_json::to_string(&[&report, &again, &third]).unwrap(),
        ),
    ];
    for path in files_under(fx.root.path())
        .into_iter()
        .chain(files_under(&home))
    {
        if path == env_file {
            continue;
        }
        let text = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
        outputs.push((path.display().to_string(), text));
    }
    let admin_home = std::path::PathBuf::from(format!("/home/{}", fx.admin));
    for path in files_under(&admin_home) {
        outputs.push((
            path.display().to_string(),
            fs::read_to_string(&path).unwrap_or_default(),
        ));
    }
    // Make sure the scan saw the places that matter.
    let scanned: Vec<&str> = outputs.iter().map(|(n, _)| n.as_str()).collect();
    for must in [
        "sshd.log",
        "shim.log",
        "commands.log",
        "sudo.log",
        "stack.known_hosts",
        "openclaw.json",
    ] {
        assert!(
            scanned.iter().any(|n| n.ends_with(must)),
            "{must} not scanned"
        );
    }
    assert!(
        fx.read("sshd.log").contains("Accepted publickey"),
        "VERBOSE sshd log"
    );
    assert!(!fx.read("commands.log").is_empty() && !fx.read("sudo.log").is_empty());
    for canary in &fx.canaries {
        for (name, text) in &outputs {
            assert!(
                !text.contains(canary.as_str()),
                "a canary leaked into {name}"
            );
        }
    }
    // ... and they are in their file (so the scan could have found them).
    let env = fs::read_to_string(&env_file).unwrap();
    for key in [
        "claude_setup_token",
        "anthropic_api_key",
        "telegram_bot_token",
        "discord_bot_token",
    ] {
        assert!(
            env.contains(fx.vault.get(key).unwrap().expose()),
            "{key} delivered"
        );
    }
    for key in ["tailscale_auth_key", "hcloud_token"] {
        assert!(
            !env.contains(fx.vault.get(key).unwrap().expose()),
            "{key} must not be delivered"
        );
    }
}

/// The service user's home is made 0750 whatever useradd left (0755 on
/// Debian), and a second run leaves it alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_home_is_made_0750() {
    use clawprov::host::Silent;
    let fx = HostFixture::start();
    let home = fx.service_home();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    host::run(fx.inputs(), &Silent).await.expect("host phase");
    let mode = std::fs::metadata(&home).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o750, "{mode:o}");
    let again = host::run(fx.inputs(), &Silent).await.expect("second run");
    assert!(!again.changed, "{again:?}");
}

/// Discord declared in the stack: the plugin is installed at the pinned
/// OpenClaw version, once, as the service user, and enabled in openclaw.json.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_discord_plugin_is_installed_once_at_the_pinned_version() {
    use clawprov::host::Silent;
    let fx = HostFixture::start();
    let report = host::run(fx.inputs(), &Silent).await.expect("host phase");
    assert_eq!(report.plugins_installed, ["discord"], "{report:?}");
    let shim = fx.read("shim.log");
    let spec = format!(
        "openclaw [{}] plugins install @openclaw/discord@{}",
        fx.service, fx.stack.openclaw.version
    );
    assert!(
        shim.contains(&spec),
        "installed as the service user:\n{shim}"
    );
    let config: serde_json::Value = serde_json::from_slice(
        &fs::read(fx.service_home().join(".openclaw/openclaw.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["plugins"]["entries"]["discord"]["enabled"], true);
    let again = host::run(fx.inputs(), &Silent).await.expect("second run");
    assert!(again.plugins_installed.is_empty(), "{again:?}");
    assert!(!again.changed, "{again:?}");
}
