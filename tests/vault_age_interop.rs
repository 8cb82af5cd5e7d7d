//! The `age` CLI (Debian package `age`) and clawprov read each other's
//! vaults: X25519 identities, passphrases and ssh-ed25519 keys, both ways.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clawprov::secrets::{self, identity, Lock, Recipient, Secret, Unlock, Vault};
use support::require_tool;

/// Drives a command that reads a passphrase from its terminal (the age CLI
/// reads only from /dev/tty) through a pseudo-terminal, answering every
/// passphrase prompt with $PW.
const PTY_DRIVER: &str = r#"
import os, pty, sys
pw = os.environ["PW"].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
seen, answered = b"", 0
while True:
    try:
        data = os.read(fd, 1024)
    except OSError:
        break
    if not data:
        break
    seen += data
    prompts = seen.count(b"Enter passphrase") + seen.count(b"Confirm passphrase")
    while answered < prompts:
        os.write(fd, pw + b"\n")
        answered += 1
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(seen)
sys.exit(os.waitstatus_to_exitcode(status))
"#;

fn age() -> PathBuf {
    require_tool("age", "age")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// Run `args` under a pty, answering passphrase prompts with `pw`.
fn with_pty(args: &[&Path], pw: &str) -> Output {
    let python = require_tool("python3", "python3");
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(PTY_DRIVER).args(args).env("PW", pw);
    run(&mut cmd)
}

fn sample_vault() -> Vault {
    let mut v = Vault::new();
    v.set("hcloud_token", Secret::new("hc-0123456789abcdef"))
        .unwrap();
    v.set("gateway_token", Secret::new("42")).unwrap();
    v.set("telegram_bot_token", Secret::new("12345:AA-x: y # z"))
        .unwrap();
    v.set(
        "ssh_private_key",
        Secret::new(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        ),
    )
    .unwrap();
    v
}

/// The plaintext map clawprov writes for `v`: its secrets, and its record
/// of dates (`clawprov_record`, one line of JSON) when it has one.
fn as_map(v: &Vault) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = v
        .keys()
        .map(|k| (k.to_string(), v.get(k).unwrap().expose().to_string()))
        .collect();
    if *v.record() != clawprov::secrets::Record::default() {
        map.insert(
            clawprov::secrets::record::RECORD_KEY.to_string(),
            v.record().text(),
        );
    }
    map
}

fn yaml_map(plaintext: &[u8]) -> BTreeMap<String, String> {
    serde_yaml::from_slice(plaintext).expect("age's plaintext is a YAML map of strings")
}

fn new_identity(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("identity.txt");
    let recipient = identity::create(&path).unwrap();
    (path, recipient)
}

#[test]
fn age_cli_decrypts_an_x25519_vault_clawprov_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (id_path, recipient) = new_identity(dir.path());
    let vault_path = dir.path().join("s.secrets.age");
    let recipients = [Recipient::parse(&recipient).unwrap()];
    let vault = sample_vault();
    secrets::write(&vault_path, &vault, &Lock::Recipients(&recipients)).unwrap();

    let text = std::fs::read_to_string(&vault_path).unwrap();
    assert!(
        text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"),
        "{text}"
    );

    let out = run(Command::new(age())
        .arg("-d")
        .arg("-i")
        .arg(&id_path)
        .arg(&vault_path));
    assert_eq!(yaml_map(&out.stdout), as_map(&vault));
}

#[test]
fn clawprov_reads_an_x25519_vault_the_age_cli_wrote() {
    let dir = tempfile::tempdir().unwrap();
    // The identity comes from age-keygen, so clawprov's loader is checked
    // against the reference format too.
    let id_path = dir.path().join("keygen.txt");
    run(Command::new(require_tool("age-keygen", "age"))
        .arg("-o")
        .arg(&id_path));
    let recipient = identity::recipient_of(&id_path).unwrap();
    assert!(recipient.starts_with("age1"));

    let plain = dir.path().join("plain.yaml");
    std::fs::write(
        &plain,
        "hcloud_token: from-age-cli\ndiscord_bot_token: \"007\"\nssh_private_key: |\n  a\n  b\n",
    )
    .unwrap();
    let vault_path = dir.path().join("s.secrets.age");
    run(Command::new(age())
        .arg("-r")
        .arg(&recipient)
        .arg("-a")
        .arg("-o")
        .arg(&vault_path)
        .arg(&plain));

    let unlock = Unlock::Identities(identity::load(&id_path).unwrap());
    let v = secrets::read(&vault_path, &unlock).unwrap();
    assert_eq!(v.get("hcloud_token").unwrap().expose(), "from-age-cli");
    assert_eq!(v.get("discord_bot_token").unwrap().expose(), "007");
    assert_eq!(v.get("ssh_private_key").unwrap().expose(), "a\nb\n");
    assert_eq!(v.keys().count(), 3);
}

#[test]
fn age_cli_decrypts_a_passphrase_vault_clawprov_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let vault_path = dir.path().join("s.secrets.age");
    let pass = Secret::new("correct horse battery staple");
    let vault = sample_vault();
    secrets::write(&vault_path, &vault, &Lock::Passphrase(&pass)).unwrap();
    assert!(secrets::is_passphrase_vault(&vault_path).unwrap());

    let out_path = dir.path().join("out.yaml");
    with_pty(
        &[
            &age(),
            Path::new("-d"),
            Path::new("-o"),
            &out_path,
            &vault_path,
        ],
        pass.expose(),
    );
    let plaintext = std::fs::read(&out_path).unwrap();
    assert_eq!(yaml_map(&plaintext), as_map(&vault));
}

#[test]
fn clawprov_reads_a_passphrase_vault_the_age_cli_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, "anthropic_api_key: sk-ant-from-cli\n").unwrap();
    let vault_path = dir.path().join("s.secrets.age");
    with_pty(
        &[
            &age(),
            Path::new("-p"),
            Path::new("-a"),
            Path::new("-o"),
            &vault_path,
            &plain,
        ],
        "pass from the cli",
    );
    assert!(secrets::is_passphrase_vault(&vault_path).unwrap());

    let v = secrets::read(
        &vault_path,
        &Unlock::Passphrase(Secret::new("pass from the cli")),
    )
    .unwrap();
    assert_eq!(
        v.get("anthropic_api_key").unwrap().expose(),
        "sk-ant-from-cli"
    );

    let wrong = secrets::read(&vault_path, &Unlock::Passphrase(Secret::new("nope")));
    assert!(
        matches!(wrong, Err(secrets::VaultError::WrongPassphrase { .. })),
        "{wrong:?}"
    );
}

fn ssh_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    run(Command::new(require_tool("ssh-keygen", "openssh-client"))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "op@test", "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

#[test]
fn age_cli_decrypts_with_an_ssh_key_a_vault_clawprov_wrote_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = ssh_keygen(dir.path(), "id_ed25519");
    let vault_path = dir.path().join("s.secrets.age");
    let recipients = [Recipient::parse(&public).unwrap()];
    let vault = sample_vault();
    secrets::write(&vault_path, &vault, &Lock::Recipients(&recipients)).unwrap();

    let out = run(Command::new(age())
        .arg("-d")
        .arg("-i")
        .arg(&key)
        .arg(&vault_path));
    assert_eq!(yaml_map(&out.stdout), as_map(&vault));
}

#[test]
fn clawprov_decrypts_with_an_ssh_key_a_vault_the_age_cli_wrote_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = ssh_keygen(dir.path(), "id_ed25519");
    let plain = dir.path().join("plain.yaml");
    std::fs::write(&plain, "gateway_token: via-ssh\n").unwrap();
    let vault_path = dir.path().join("s.secrets.age");
    run(Command::new(age())
        .arg("-R")
        .arg(key.with_extension("pub"))
        .arg("-a")
        .arg("-o")
        .arg(&vault_path)
        .arg(&plain));

    let v = secrets::read(
        &vault_path,
        &Unlock::Identities(identity::load(&key).unwrap()),
    )
    .unwrap();
    assert_eq!(v.get("gateway_token").unwrap().expose(), "via-ssh");
    // recipient_of gives the key's public half, usable as a recipient.
    let own = identity::recipient_of(&key).unwrap();
    assert!(public.starts_with(&own), "{own} vs {public}");
    Recipient::parse(&own).unwrap();
}
