//! `clawprov backup` and `clawprov restore`, as a user runs them: the real
//! binary against the Hetzner simulator, the node a real OpenSSH sshd on
//! 127.0.0.1 with real users (tests/host_fixture), after a real `up`.
//!
//! - backup -> the server replaced (`up --replace`, a new server in the
//!   simulator; its state directory starts empty as on a new disk) ->
//!   restore gives the same manifest, bytes, modes and owner, and the
//!   gateway runs again;
//! - a symlink (or hard link, or a state directory that is a link, or a
//!   file holding a vault value) is refused by backup, and no archive or
//!   temporary file is left;
//! - an archive altered to hold a symlink, or with one changed byte, is
//!   refused by restore before anything on the host changes;
//! - the vault canaries appear in no archive (decrypted with the `age` CLI),
//!   no command line the host recorded, and nothing clawprov printed.

mod host_fixture;
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use clawprov::secrets::{identity, Recipient};
use clawprov::sim;
use host_fixture::HostFixture;
use sha2::{Digest, Sha256};

/// A deployed stack: the simulator, a project directory with the stack
/// file and its vault (sealed to a fresh identity), after one `up`.
struct Deployed {
    sim: sim::SimServer,
    home: tempfile::TempDir,
    stack: PathBuf,
    identity: PathBuf,
    recipient: String,
}

async fn deployed(fx: &HostFixture) -> Deployed {
    let p = host_fixture::project::project(fx).await;
    let d = Deployed {
        sim: p.sim,
        home: p.home,
        stack: p.stack,
        identity: p.identity,
        recipient: p.recipient,
    };
    let (code, stdout, stderr) = up(fx, &d, &[]);
    assert_eq!(code, 0, "up failed:\n{stdout}\n{stderr}");
    d
}

fn up(fx: &HostFixture, d: &Deployed, extra: &[&str]) -> (i32, String, String) {
    let out = support::clawprov(d.home.path())
        .current_dir(d.home.path())
        .arg("-s")
        .arg(&d.stack)
        .args([
            "--json",
            "--hcloud-endpoint",
            &d.sim.endpoint(),
            "up",
            "--yes",
        ])
        .args(extra)
        .arg("--offline")
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "20", "--host-timeout", "30"])
        .args(["--verify", "api"])
        .output()
        .expect("clawprov up runs");
    outcome(out)
}

/// `clawprov COMMAND ARGS` against the deployed node.
fn node_command(
    fx: &HostFixture,
    d: &Deployed,
    command: &str,
    args: &[&str],
) -> (i32, String, String) {
    let out = support::clawprov(d.home.path())
        .current_dir(d.home.path())
        .arg("-s")
        .arg(&d.stack)
        .args(["--json", "--hcloud-endpoint", &d.sim.endpoint(), command])
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .arg("--allow-non-tailnet")
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .args(["--reach-timeout", "20"])
        .args(args)
        .output()
        .expect("clawprov runs");
    outcome(out)
}

fn outcome(out: std::process::Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn state_dir(fx: &HostFixture) -> PathBuf {
    fx.service_home().join(".openclaw")
}

fn backups(d: &Deployed, fx: &HostFixture) -> PathBuf {
    d.stack
        .parent()
        .unwrap()
        .join(format!("{}.backups", fx.stack.name))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| r.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    found
}

/// Write `body` at `rel` under the state directory with `mode`, owned by
/// the service user (directories on the way too).
fn plant(fx: &HostFixture, rel: &str, body: &[u8], mode: u32) {
    let path = state_dir(fx).join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, body).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    chown(fx, &state_dir(fx));
}

fn chown(fx: &HostFixture, path: &Path) {
    let status = Command::new("chown")
        .arg("-R")
        .arg("-h")
        .arg(format!("{0}:{0}", fx.service))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// A realistic state: sessions, memory, a workspace with a 1 MiB binary,
/// an empty directory, odd modes, a name with spaces.
fn populate(fx: &HostFixture) {
    let mut big = vec![0u8; 1024 * 1024];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i.wrapping_mul(2654435761) >> 13) as u8;
    }
    plant(
        fx,
        "agents/main/sessions/s1.jsonl",
        b"{\"role\":\"user\"}\n",
        0o600,
    );
    plant(fx, "memory/notes with spaces.md", b"# notes\n", 0o644);
    plant(fx, "workspace/big.bin", &big, 0o640);
    plant(fx, "devices/paired.json", b"{\"devices\":[]}\n", 0o600);
    let empty = state_dir(fx).join("empty");
    fs::create_dir_all(&empty).unwrap();
    fs::set_permissions(&empty, fs::Permissions::from_mode(0o750)).unwrap();
    chown(fx, &state_dir(fx));
}

/// What is under `dir` on disk: relative path -> (kind, mode, size, sha256, uid).
fn survey(dir: &Path) -> BTreeMap<String, (char, u32, u64, String, u32)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (char, u32, u64, String, u32)>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let meta = fs::symlink_metadata(e.path()).unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let mode = meta.permissions().mode() & 0o7777;
            if meta.is_dir() {
                out.insert(rel, ('d', mode, 0, String::new(), meta.uid()));
                walk(root, &e.path(), out);
            } else {
                let body = fs::read(e.path()).unwrap();
                let sha = hex::encode(Sha256::digest(&body));
                out.insert(rel, ('f', mode, meta.len(), sha, meta.uid()));
            }
        }
    }
    let mut out = BTreeMap::new();
    let meta = fs::symlink_metadata(dir).unwrap();
    out.insert(
        String::new(),
        (
            'd',
            meta.permissions().mode() & 0o7777,
            0,
            String::new(),
            meta.uid(),
        ),
    );
    walk(dir, dir, &mut out);
    out
}

/// The manifest's entries in the same form (owner left to the caller).
fn entries_of(manifest: &serde_json::Value) -> BTreeMap<String, (char, u32, u64, String)> {
    manifest["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                (
                    if e["kind"] == "dir" { 'd' } else { 'f' },
                    e["mode"].as_u64().unwrap() as u32,
                    e["size"].as_u64().unwrap(),
                    e["sha256"].as_str().unwrap_or("").to_string(),
                ),
            )
        })
        .collect()
}

/// The archive's plaintext, decrypted by the real `age` CLI.
fn decrypt_with_age_cli(archive: &Path, identity: &Path) -> Vec<u8> {
    let age = support::require_tool("age", "age");
    let out = Command::new(age)
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn assert_no_canary(fx: &HostFixture, places: &[(&str, &[u8])]) {
    for canary in &fx.canaries {
        for (place, text) in places {
            assert!(
                !contains(text, canary),
                "a vault secret leaked into the {place}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_survives_a_replace_and_restores_the_same_manifest() {
    let fx = HostFixture::start();
    let d = deployed(&fx).await;
    populate(&fx);
    let before = survey(&state_dir(&fx));
    fx.clear_logs();

    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 0, "backup failed:\n{stdout}\n{stderr}");
    let backup_logs = [
        fx.read("commands.log"),
        fx.read("sudo.log"),
        fx.read("shim.log"),
    ];
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON value");
    let manifest = &report["manifest"];
    let archive = PathBuf::from(report["archive"].as_str().unwrap());
    // Beside the stack, private, and nothing else there.
    assert_eq!(files_in(&backups(&d, &fx)), vec![archive.clone()]);
    assert_eq!(
        fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The manifest is the state directory as it is on disk.
    let on_disk: BTreeMap<_, _> = before
        .iter()
        .map(|(k, (kind, mode, size, sha, _))| (k.clone(), (*kind, *mode, *size, sha.clone())))
        .collect();
    assert_eq!(entries_of(manifest), on_disk);
    let files = on_disk.values().filter(|e| e.0 == 'f').count() as u64;
    assert_eq!(manifest["files"], files);
    assert_eq!(
        manifest["bytes"],
        on_disk.values().map(|e| e.2).sum::<u64>()
    );
    assert!(files >= 5, "{manifest}");

    // The real age CLI opens it with the vault's identity; it is a tar of
    // state/... ending with the manifest; no vault value is in it.
    let plain = decrypt_with_age_cli(&archive, &d.identity);
    let mut tar = tar::Archive::new(&plain[..]);
    let mut names = vec![];
    let mut big = vec![];
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        if name == "state/workspace/big.bin" {
            entry.read_to_end(&mut big).unwrap();
        }
        names.push(name);
    }
    assert_eq!(names.first().map(String::as_str), Some("state/"));
    assert_eq!(names.last().map(String::as_str), Some("manifest.json"));
    assert_eq!(
        big,
        fs::read(state_dir(&fx).join("workspace/big.bin")).unwrap()
    );

    // The server is replaced (a user-data change): a new server in the
    // simulator, whose state directory starts empty, as on a new disk.
    fs::remove_dir_all(state_dir(&fx)).unwrap();
    let text = fs::read_to_string(&d.stack).unwrap();
    fs::write(
        &d.stack,
        text.replace(
            "  service_user:",
            "  reboot_time: \"05:00\"\n  service_user:",
        ),
    )
    .unwrap();
    // (The backup was taken by hand, so up need not carry it.)
    let (code, up_out, up_err) = up(&fx, &d, &["--replace", "--no-backup"]);
    assert_eq!(code, 0, "replace failed:\n{up_out}\n{up_err}");
    let replaced: serde_json::Value = serde_json::from_str(&up_out).unwrap();
    assert!(
        replaced["stacks"][0]["host"]["report"]["host_key"]["pin"]["repinned"]["replaced_server"]
            .is_i64(),
        "{up_out}"
    );
    // The new server's state is only what up delivers.
    let fresh = survey(&state_dir(&fx));
    assert!(fresh.len() < before.len(), "{fresh:?}");
    plant(&fx, "written-after-replace.txt", b"new server\n", 0o600);
    fx.clear_logs();

    let (code, rout, rerr) = node_command(&fx, &d, "restore", &[]);
    assert_eq!(
        code,
        0,
        "restore failed:\n{rout}\n{rerr}\n{}",
        fx.read("shim.log")
    );
    let restored: serde_json::Value = serde_json::from_str(&rout).expect("one JSON value");
    assert_eq!(restored["manifest"]["sha256"], manifest["sha256"]);
    assert_eq!(
        PathBuf::from(restored["archive"].as_str().unwrap()),
        archive
    );
    // Same entries, bytes and modes on disk, all owned by the service user.
    let after = survey(&state_dir(&fx));
    let uid = host_fixture::uid_of(&fx.service);
    assert!(after.values().all(|e| e.4 == uid), "{after:?}");
    let after_entries: BTreeMap<_, _> = after
        .iter()
        .map(|(k, (kind, mode, size, sha, _))| (k.clone(), (*kind, *mode, *size, sha.clone())))
        .collect();
    assert_eq!(after_entries, on_disk);
    // What it replaced is kept beside it.
    let previous = PathBuf::from(restored["previous"].as_str().expect("previous kept"));
    assert!(previous.join("written-after-replace.txt").is_file());
    // The gateway was stopped for the swap, then started again and probed.
    let shim = fx.read("shim.log");
    let stop = shim
        .find("--user stop clawprov-gateway.service")
        .expect(&shim);
    let start = shim
        .rfind("--user start clawprov-gateway.service")
        .expect(&shim);
    assert!(stop < start, "{shim}");
    assert_eq!(restored["host"]["service"], "started", "{rout}");
    assert!(fx.path("state/gateway.pid").exists(), "the gateway runs");

    let logs = [
        format!("{}{}", backup_logs[0], fx.read("commands.log")),
        format!("{}{}", backup_logs[1], fx.read("sudo.log")),
        format!("{}{shim}", backup_logs[2]),
    ];
    assert_no_canary(
        &fx,
        &[
            ("archive", &plain[..]),
            ("backup stdout", stdout.as_bytes()),
            ("backup stderr", stderr.as_bytes()),
            ("restore stdout", rout.as_bytes()),
            ("restore stderr", rerr.as_bytes()),
            ("remote command log", logs[0].as_bytes()),
            ("sudo log", logs[1].as_bytes()),
            ("shim log", logs[2].as_bytes()),
        ],
    );
    // backup's and restore's own commands (tar, and everything on the
    // extracted copy) ran as the service user, never as root.
    let as_service = format!("'sudo' '-n' '-u' '{}' '--'", fx.service);
    let mut theirs = 0;
    for line in logs[0].lines() {
        if ["'tar'", ".openclaw.restore-", ".openclaw.before-restore-"]
            .iter()
            .any(|p| line.contains(p))
        {
            theirs += 1;
            assert!(
                line.contains(&as_service),
                "not as the service user: {line}"
            );
        }
    }
    assert!(theirs >= 5, "{}", logs[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_refuses_links_and_secrets_and_leaves_no_archive() {
    let fx = HostFixture::start();
    let d = deployed(&fx).await;
    populate(&fx);
    let dir = backups(&d, &fx);
    let state = state_dir(&fx);

    // A symlink planted by the gateway's code.
    std::os::unix::fs::symlink("/etc/shadow", state.join("agents/evil")).unwrap();
    chown(&fx, &state);
    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}/agents/evil on the server is a symbolic link",
            state.display()
        )),
        "{stderr}"
    );
    assert!(
        files_in(&dir).is_empty(),
        "left behind: {:?}",
        files_in(&dir)
    );
    fs::remove_file(state.join("agents/evil")).unwrap();

    // A link whose name and target hold terminal escapes (OSC 52 to the
    // clipboard, an erased line, an OSC 8 link): the refusal names both,
    // escaped; not one control character reaches the terminal (the
    // security issue's item 5).
    let evil_name = "\u{1b}]52;c;ZXZpbA==\u{7}ok\r";
    let evil_target = "\u{1b}[2K/etc/\u{1b}]8;;http://evil\u{1b}\\shadow";
    std::os::unix::fs::symlink(evil_target, state.join("agents").join(evil_name)).unwrap();
    chown(&fx, &state);
    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("\\x1b]52;c;ZXZpbA==\\x07ok\\x0d"),
        "the name, escaped: {stderr:?}"
    );
    assert!(
        !stderr
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "control characters reach the terminal: {stderr:?}"
    );
    assert!(files_in(&dir).is_empty());
    fs::remove_file(state.join("agents").join(evil_name)).unwrap();

    // A state larger than --max-size: stopped at the file that passes it,
    // judged by its header before its content is read; nothing written.
    // A bad size is bad input.
    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &["--max-size", "1K"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("would pass its limit of 1024 bytes (--max-size)"),
        "{stderr}"
    );
    assert!(
        files_in(&dir).is_empty(),
        "left behind: {:?}",
        files_in(&dir)
    );
    let (code, _, stderr) = node_command(&fx, &d, "backup", &["--max-size", "lots"]);
    assert_eq!(code, 2, "{stderr}");

    // A hard link (a second name of a file).
    fs::hard_link(
        state.join("memory/notes with spaces.md"),
        state.join("memory/again.md"),
    )
    .unwrap();
    let (code, _, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is a hard link"), "{stderr}");
    assert!(files_in(&dir).is_empty());
    fs::remove_file(state.join("memory/again.md")).unwrap();

    // A file holding a vault value: refused by path and key name, never value.
    let token = fx.vault.get("gateway_token").unwrap().expose().to_string();
    let mut log = b"2026-12-02 debug: auth header ".to_vec();
    log.extend_from_slice(token.as_bytes());
    log.extend(std::iter::repeat_n(b'x', 200_000));
    plant(&fx, "logs/gateway.log", &log, 0o600);
    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}/logs/gateway.log on the server holds the vault's gateway_token",
            state.display()
        )),
        "{stderr}"
    );
    assert!(files_in(&dir).is_empty());
    assert_no_canary(
        &fx,
        &[("stdout", stdout.as_bytes()), ("stderr", stderr.as_bytes())],
    );
    fs::remove_file(state.join("logs/gateway.log")).unwrap();

    // The state directory itself a link.
    let real = fx.service_home().join("real-state");
    fs::rename(&state, &real).unwrap();
    std::os::unix::fs::symlink(&real, &state).unwrap();
    chown(&fx, &state);
    let (code, _, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("is a symbolic link, not a directory"),
        "{stderr}"
    );
    assert!(files_in(&dir).is_empty());
    // restore refuses it too, before stopping anything.
    fs::remove_file(&state).unwrap();
    fs::rename(&real, &state).unwrap();
    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    fs::rename(&state, &real).unwrap();
    std::os::unix::fs::symlink(&real, &state).unwrap();
    fx.clear_logs();
    let (code, _, stderr) = node_command(&fx, &d, "restore", &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("is a symbolic link, not a directory"),
        "{stderr}"
    );
    assert!(
        !fx.read("shim.log").contains("stop"),
        "{}",
        fx.read("shim.log")
    );
}

/// Decrypt `archive`, let `edit` rewrite its tar, seal it again to the
/// same recipient (as someone holding a vault key, or a careless tool, could).
fn tamper(
    d: &Deployed,
    archive: &Path,
    out: &Path,
    edit: impl Fn(&mut Vec<(tar::Header, Vec<u8>)>),
) {
    let ids = identity::load(&d.identity).unwrap();
    let decryptor = age::Decryptor::new(fs::File::open(archive).unwrap()).unwrap();
    let mut plain = vec![];
    decryptor
        .decrypt(ids.iter().map(|i| &**i))
        .unwrap()
        .read_to_end(&mut plain)
        .unwrap();
    let mut entries = vec![];
    let mut tar = tar::Archive::new(&plain[..]);
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let name = entry.path().unwrap().to_path_buf();
        header.set_path(&name).unwrap();
        let mut body = vec![];
        entry.read_to_end(&mut body).unwrap();
        entries.push((header, body));
    }
    edit(&mut entries);
    let mut builder = tar::Builder::new(vec![]);
    for (mut header, body) in entries {
        header.set_size(body.len() as u64);
        header.set_cksum();
        builder.append(&header, &body[..]).unwrap();
    }
    let plain = builder.into_inner().unwrap();
    let recipient = Recipient::parse(&d.recipient).unwrap();
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient.as_age() as &dyn age::Recipient))
            .unwrap();
    let mut w = encryptor
        .wrap_output(fs::File::create(out).unwrap())
        .unwrap();
    w.write_all(&plain).unwrap();
    w.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_an_altered_archive_before_touching_the_host() {
    let fx = HostFixture::start();
    let d = deployed(&fx).await;
    populate(&fx);
    let (code, stdout, stderr) = node_command(&fx, &d, "backup", &[]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let archive = PathBuf::from(report["archive"].as_str().unwrap());
    let before = survey(&state_dir(&fx));
    let home_before = files_in(&fx.service_home());

    let with_link = d.home.path().join("with-link.tar.age");
    tamper(&d, &archive, &with_link, |entries| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_path("state/agents/evil").unwrap();
        h.set_link_name("/etc/shadow").unwrap();
        h.set_mode(0o777);
        let at = entries.len() - 1;
        entries.insert(at, (h, vec![]));
    });
    let one_byte = d.home.path().join("one-byte.tar.age");
    tamper(&d, &archive, &one_byte, |entries| {
        let (_, body) = entries
            .iter_mut()
            .find(|(h, _)| h.path().unwrap().ends_with("big.bin"))
            .unwrap();
        body[4096] ^= 1;
    });
    let escaping = d.home.path().join("escaping.tar.age");
    tamper(&d, &archive, &escaping, |entries| {
        let (h, _) = entries
            .iter_mut()
            .find(|(h, _)| h.path().unwrap().ends_with("paired.json"))
            .unwrap();
        // set_path refuses `..`; write the name field as a hostile tool would.
        let name = b"state/../../.ssh/authorized_keys";
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.as_old_mut().name[name.len()..].fill(0);
    });
    // A consistent forgery, as anyone with the recipients' public keys can
    // make one: a file changed and the manifest rebuilt to match (its
    // digest too), without the signature, or with the original's kept.
    let forge = |keep_signature: bool| {
        move |entries: &mut Vec<(tar::Header, Vec<u8>)>| {
            let (_, body) = entries
                .iter_mut()
                .find(|(h, _)| h.path().unwrap().ends_with("big.bin"))
                .unwrap();
            body[4096] ^= 1;
            let sha = hex::encode(Sha256::digest(&body[..]));
            let (_, json) = entries.last_mut().unwrap();
            let old = clawprov::backup::Manifest::parse(json).unwrap();
            let mut list = old.entries.clone();
            list.iter_mut()
                .find(|e| e.path.ends_with("big.bin"))
                .unwrap()
                .sha256 = Some(sha);
            let mut forged = clawprov::backup::Manifest::new(
                &old.stack,
                &old.state_dir,
                old.created.clone(),
                list,
            );
            if keep_signature {
                forged.signature = old.signature.clone();
            }
            *json = serde_json::to_vec_pretty(&forged).unwrap();
        }
    };
    let unsigned = d.home.path().join("forged-unsigned.tar.age");
    tamper(&d, &archive, &unsigned, forge(false));
    let resigned = d.home.path().join("forged-old-signature.tar.age");
    tamper(&d, &archive, &resigned, forge(true));

    fx.clear_logs();
    for (file, why) in [
        (
            &unsigned,
            "it carries no signature (made before clawprov signed backups, or altered); \
             if you know it is an older backup of yours, restore it with --unsigned",
        ),
        (
            &resigned,
            "its signature does not verify with the vault's backup_signing_key",
        ),
        (
            &with_link,
            "entry state/agents/evil is a symbolic link (to /etc/shadow): refused",
        ),
        (
            &one_byte,
            "does not match its manifest: workspace/big.bin: content differs (sha256)",
        ),
        (&escaping, "not under state/"),
    ] {
        let (code, stdout, stderr) = node_command(&fx, &d, "restore", &[file.to_str().unwrap()]);
        assert_eq!(code, 2, "{}: {stdout}\n{stderr}", file.display());
        assert!(stderr.contains(why), "{}: {stderr}", file.display());
    }
    // Nothing on the host changed: the gateway was never stopped, no
    // directory was made, the state is as it was.
    let shim = fx.read("shim.log");
    assert!(!shim.contains(" stop "), "{shim}");
    assert!(
        !fx.read("commands.log").contains("tar"),
        "{}",
        fx.read("commands.log")
    );
    assert_eq!(files_in(&fx.service_home()), home_before);
    assert_eq!(survey(&state_dir(&fx)), before);
}

/// Fill the state directory with `mb` MiB: four large files (half of it)
/// and 10 KiB files for the rest, pseudo-random (no vault value in them).
fn fill(fx: &HostFixture, tag: &str, mb: usize) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ mb as u64;
    let mut bytes = |n: usize| -> Vec<u8> {
        let mut v = Vec::with_capacity(n);
        while v.len() < n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        v.truncate(n);
        v
    };
    let large = mb * 1024 * 1024 / 2 / 4;
    for i in 0..4 {
        plant(
            fx,
            &format!("{tag}/workspace/large-{i}.bin"),
            &bytes(large),
            0o600,
        );
    }
    let small = 10 * 1024;
    for i in 0..(mb * 1024 * 1024 / 2 / small) {
        plant(
            fx,
            &format!("{tag}/sessions/{}/s{i}.jsonl", i % 50),
            &bytes(small),
            0o600,
        );
    }
}

/// `clawprov backup` under `/usr/bin/time -v`: (content bytes/s as
/// backup measured it, bytes, peak RSS in KiB).
fn measured_backup(fx: &HostFixture, d: &Deployed) -> (u64, u64, u64) {
    let time = support::require_tool("time", "time");
    let out = Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_clawprov"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", d.home.path())
        .env("XDG_CONFIG_HOME", d.home.path().join(".config"))
        .current_dir(d.home.path())
        .arg("-s")
        .arg(&d.stack)
        .args(["--json", "--hcloud-endpoint", &d.sim.endpoint(), "backup"])
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .arg("--allow-non-tailnet")
        .args(["--host-root", fx.path("fs").to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rss = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS from time -v: {stderr}"));
    (
        report["bytes_per_second"].as_u64().unwrap(),
        report["manifest"]["bytes"].as_u64().unwrap(),
        rss,
    )
}

/// Memory stays flat: the peak RSS of a 100 MiB backup is under twice
/// that of a 10 MiB one (the archive streams; nothing holds a file). The
/// numbers it prints go to BENCHMARKS.md; no timing is asserted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_memory_stays_flat_from_10_to_100_mib() {
    let fx = HostFixture::start();
    let d = deployed(&fx).await;
    fill(&fx, "a", 10);
    let (rate10, bytes10, rss10) = measured_backup(&fx, &d);
    fill(&fx, "b", 90);
    let (rate100, bytes100, rss100) = measured_backup(&fx, &d);
    eprintln!(
        "backup 10 MiB: {bytes10} bytes, {rate10} bytes/s, peak RSS {rss10} KiB; \
         100 MiB: {bytes100} bytes, {rate100} bytes/s, peak RSS {rss100} KiB; \
         RSS ratio {:.2}, size ratio {:.2}",
        rss100 as f64 / rss10 as f64,
        bytes100 as f64 / bytes10 as f64
    );
    assert!(bytes100 >= 100 * 1024 * 1024 && bytes10 >= 10 * 1024 * 1024);
    assert!(
        rss100 < 2 * rss10,
        "peak RSS grew with the state: {rss10} KiB for 10 MiB, {rss100} KiB for 100 MiB"
    );
}

fn server_ids(d: &Deployed) -> Vec<i64> {
    d.sim.sim.with(|w| w.servers.keys().copied().collect())
}

/// `up` on a replace: off a terminal without --yes it refuses and says
/// how; a backup that fails (a planted link) stops the replace before
/// anything is deleted; with --yes the old server's state is backed up,
/// and restored into the new server after its host phase.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_carries_the_state_across_a_replace_or_does_not_replace() {
    let fx = HostFixture::start();
    let d = deployed(&fx).await;
    populate(&fx);
    let text = fs::read_to_string(&d.stack).unwrap();
    fs::write(
        &d.stack,
        text.replace(
            "  service_user:",
            "  reboot_time: \"05:00\"\n  service_user:",
        ),
    )
    .unwrap();
    let first = server_ids(&d);
    assert_eq!(first.len(), 1);

    // Off a terminal, no --yes: refused, with the way out.
    let out = support::clawprov(d.home.path())
        .current_dir(d.home.path())
        .arg("-s")
        .arg(&d.stack)
        .args([
            "--hcloud-endpoint",
            &d.sim.endpoint(),
            "up",
            "--replace",
            "--offline",
        ])
        .args(["--ssh-host", &format!("127.0.0.1:{}", fx.ssh_port)])
        .output()
        .unwrap();
    let (code, _, stderr) = outcome(out);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--yes also takes a backup") && stderr.contains("clawprov backup"),
        "{stderr}"
    );

    // A backup that fails stops the replace: the old server stays.
    let state = state_dir(&fx);
    std::os::unix::fs::symlink("/etc/shadow", state.join("evil")).unwrap();
    chown(&fx, &state);
    let (code, stdout, stderr) = up(&fx, &d, &["--replace"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("backup of the old server before the replace")
            && stdout.contains("is a symbolic link")
            && stdout.contains("Nothing was deleted"),
        "{stdout}"
    );
    assert_eq!(server_ids(&d), first);
    assert!(files_in(&backups(&d, &fx)).is_empty());
    fs::remove_file(state.join("evil")).unwrap();

    // --yes: backed up, replaced, restored.
    let before = survey(&state);
    fx.clear_logs();
    let (code, stdout, stderr) = up(&fx, &d, &["--replace"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let carried = &doc["stacks"][0]["carried"];
    assert_eq!(carried["restored"], true, "{stdout}");
    assert_eq!(carried["gateway"], "started", "{stdout}");
    let files = before.values().filter(|e| e.0 == 'f').count() as u64;
    assert_eq!(carried["files"], files, "{stdout}");
    let archive = PathBuf::from(carried["archive"].as_str().unwrap());
    assert_eq!(files_in(&backups(&d, &fx)), vec![archive]);
    let now = server_ids(&d);
    assert_eq!(now.len(), 1);
    assert_ne!(now, first);
    // The new server's state before the restore is kept beside it, and
    // the state is the old server's, file for file.
    assert!(Path::new(carried["previous"].as_str().expect("previous")).is_dir());
    assert_eq!(survey(&state), before);
    let shim = fx.read("shim.log");
    assert!(
        shim.contains("--user stop clawprov-gateway.service"),
        "{shim}"
    );
    assert_no_canary(
        &fx,
        &[
            ("up stdout", stdout.as_bytes()),
            ("up stderr", stderr.as_bytes()),
            ("remote command log", fx.read("commands.log").as_bytes()),
            ("sudo log", fx.read("sudo.log").as_bytes()),
        ],
    );
}
