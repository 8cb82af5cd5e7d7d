//! Shared helpers for integration tests. Each test file does `mod support;`
//! and uses what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root (where Cargo.toml is).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository (validator, cloud-init schema), or
/// `$CLAWPROV_SHARED_DIR`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("CLAWPROV_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => repo_dir().join("..").join("shared"),
    }
}

/// Path of a real tool on PATH. A test that needs a real tool never passes
/// without it: a missing tool is a loud failure naming the package that
/// `.ci/run` installs.
pub fn require_tool(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    for dir in ["/usr/sbin", "/sbin"] {
        let candidate = Path::new(dir).join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "required tool `{name}` is not installed (Debian package `{package}`); \
         run `bash .ci/run` or `apt-get install {package}`"
    );
}

/// The clawprov binary built by cargo for this test run, with an isolated
/// config home so tests never touch the developer's identity.
pub fn clawprov(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_clawprov"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("NO_COLOR", "1");
    // A test that trusts a test CA (the real tailnet's Serve certificates
    // come from Pebble) says so for its whole process.
    if let Some(roots) = std::env::var_os("SSL_CERT_FILE") {
        cmd.env("SSL_CERT_FILE", roots);
    }
    cmd
}

/// Run `cmd` with `stdin` fed to it (then EOF; none: an empty stdin) and
/// collect its output.
pub fn output_with_stdin(cmd: &mut Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

/// A stack directory under `home`: `stacks/NAME.yaml` with `yaml`, and its
/// vault sealed to a fresh identity in `home`, holding a canary for each
/// of `keys` (`CANARY<key><tag>`) and a generated `ssh_private_key`.
/// Returns the stack file, the canaries (the private key's body lines
/// among them) and the tag.
pub fn canary_stack(
    home: &Path,
    name: &str,
    yaml: &str,
    keys: &[&str],
) -> (PathBuf, Vec<String>, String) {
    use clawprov::secrets::{self, identity, Lock, Recipient, Secret, Vault};
    let stacks = home.join("stacks");
    std::fs::create_dir_all(&stacks).unwrap();
    let stack = stacks.join(format!("{name}.yaml"));
    std::fs::write(&stack, yaml).unwrap();
    let tag = format!("{:08x}", rand::random::<u32>());
    let mut vault = Vault::new();
    let mut canaries = vec![];
    for key in keys {
        let value = format!("CANARY{}{tag}", key.replace('_', ""));
        vault.set(key, Secret::new(value.as_str())).unwrap();
        canaries.push(value);
    }
    let (private, _public) = secrets::generate_ssh_key("clawprov-test").unwrap();
    canaries.extend(key_canaries(&private));
    vault.set("ssh_private_key", private).unwrap();
    let own = identity::create(&home.join(".config/clawprov/identity.txt")).unwrap();
    secrets::write(
        &stacks.join(format!("{name}.secrets.age")),
        &vault,
        &Lock::Recipients(&[Recipient::parse(&own).unwrap()]),
    )
    .unwrap();
    (stack, canaries, tag)
}

/// Canaries for an OpenSSH private key: its base64 body lines, all but the
/// first (which every unencrypted ed25519 key shares).
pub fn key_canaries(private: &clawprov::secrets::Secret) -> Vec<String> {
    private
        .expose()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .skip(1)
        .filter(|l| l.len() > 40)
        .map(str::to_string)
        .collect()
}

/// `verify --json`'s first stack, as `id -> (status, detail)`.
pub fn checks_by_id(
    doc: &serde_json::Value,
) -> std::collections::BTreeMap<String, (String, String)> {
    doc["stacks"][0]["checks"]
        .as_array()
        .expect("verify's JSON lists checks")
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").to_string(),
                (
                    c["status"].as_str().unwrap_or("").to_string(),
                    c["detail"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

/// `init` writes `tailscale.auth: oauth`; tests of other layers that store
/// a provided key (`secrets set tailscale_auth_key`) switch the stack to it.
pub fn use_provided_key(stack_file: &Path) {
    let text = std::fs::read_to_string(stack_file)
        .unwrap_or_else(|e| panic!("{}: {e}", stack_file.display()));
    assert!(text.contains("  auth: oauth "), "{text}");
    std::fs::write(
        stack_file,
        text.replace("  auth: oauth ", "  auth: auth_key "),
    )
    .unwrap();
}

/// The Tailscale auth key in a user-data text (what the bootstrap reads).
pub fn auth_key_in(user_data: &str) -> Option<String> {
    let at = user_data.find("tskey-auth-")?;
    Some(
        user_data[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect(),
    )
}

/// A lock directory for OpenClaw `version` under `dir` (`package.json`,
/// `package-lock.json` locking the one package the npm stand-in installs),
/// for stacks that pin a version clawprov vendors no lock for.
pub fn standin_lock(dir: &Path, version: &str) -> PathBuf {
    let lock = dir.join(format!("lock-{version}"));
    std::fs::create_dir_all(&lock).unwrap();
    let deps = serde_json::json!({ "openclaw": version });
    let package = serde_json::json!({
        "name": "clawprov-openclaw-release", "version": version, "private": true,
        "dependencies": deps,
    });
    let locked = serde_json::json!({
        "name": "clawprov-openclaw-release", "version": version, "lockfileVersion": 3,
        "requires": true,
        "packages": {
            "": { "name": "clawprov-openclaw-release", "version": version, "dependencies": deps },
            "node_modules/openclaw": {
                "version": version,
                "resolved": format!("https://registry.npmjs.org/openclaw/-/openclaw-{version}.tgz"),
                "integrity": "sha512-c3RhbmQtaW4=",
            },
        },
    });
    std::fs::write(lock.join("package.json"), format!("{package:#}\n")).unwrap();
    std::fs::write(lock.join("package-lock.json"), format!("{locked:#}\n")).unwrap();
    lock
}
