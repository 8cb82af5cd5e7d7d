//! The operator identity file and the secrets clawprov generates.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use clawprov::secrets::{self, identity, Lock, Recipient, Secret, Unlock, Vault, VaultError};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn create_writes_a_0600_file_in_a_0700_dir_in_age_keygen_format() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(".config").join("clawprov");
    let path = dir.join("identity.txt");
    let recipient = identity::create(&path).unwrap();

    assert!(recipient.starts_with("age1"), "{recipient}");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(
        mode(dir.parent().unwrap()),
        0o700,
        "created parents are 0700 too"
    );

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("# created: "), "{text}");
    assert_eq!(lines[1], format!("# public key: {recipient}"));
    assert!(lines[2].starts_with("AGE-SECRET-KEY-1"), "{text}");

    // The age CLI agrees on the public key.
    let out = Command::new(support::require_tool("age-keygen", "age"))
        .arg("-y")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), recipient);
    assert_eq!(identity::recipient_of(&path).unwrap(), recipient);
}

#[test]
fn create_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("identity.txt");
    let first = identity::create(&path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let err = identity::create(&path).unwrap_err();
    assert!(matches!(err, VaultError::IdentityExists { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(clawprov::error::Error::from(err).exit_code(), 2);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(identity::recipient_of(&path).unwrap(), first);
}

#[test]
fn a_created_identity_loads_back_and_decrypts_what_was_sealed_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("identity.txt");
    let recipient = identity::create(&path).unwrap();
    let ids = identity::load(&path).unwrap();
    assert_eq!(ids.len(), 1);

    let vault_path = dir.path().join("v.age");
    let mut v = Vault::new();
    v.set("gateway_token", secrets::generate_gateway_token())
        .unwrap();
    let r = [Recipient::parse(&recipient).unwrap()];
    secrets::write(&vault_path, &v, &Lock::Recipients(&r)).unwrap();
    assert_eq!(
        secrets::read(&vault_path, &Unlock::Identities(ids)).unwrap(),
        v
    );
}

#[test]
fn loading_a_missing_or_foreign_file_is_bad_input_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.txt");
    let err = identity::load(&missing).err().unwrap();
    assert!(
        matches!(err, VaultError::IdentityNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&missing.display().to_string()));

    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# only a comment\n").unwrap();
    let err = identity::load(&empty).err().unwrap();
    assert!(
        matches!(err, VaultError::IdentityMalformed { .. }),
        "{err:?}"
    );
    assert_eq!(clawprov::error::Error::from(err).exit_code(), 2);
}

#[test]
fn gateway_tokens_are_64_lowercase_hex_and_differ() {
    let tokens: Vec<Secret> = (0..3).map(|_| secrets::generate_gateway_token()).collect();
    for t in &tokens {
        let s = t.expose();
        assert_eq!(s.len(), 64, "{}", s.len());
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }
    assert_ne!(tokens[0], tokens[1]);
    assert_ne!(tokens[1], tokens[2]);
    // And the vault accepts it.
    Vault::new()
        .set("gateway_token", tokens[0].clone())
        .unwrap();
}

#[test]
fn a_generated_ssh_key_matches_what_ssh_keygen_derives() {
    let (private, public) = secrets::generate_ssh_key("clawprov-test").unwrap();
    assert_eq!(secrets::public_key_of(&private).unwrap(), public);

    // ssh-keygen -y reads the private key from a file; use a 0600 temp file.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, private.expose()).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = Command::new(support::require_tool("ssh-keygen", "openssh-client"))
        .arg("-y")
        .arg("-f")
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let derived = String::from_utf8(out.stdout).unwrap();
    assert_eq!(derived.trim(), public);
    assert!(public.starts_with("ssh-ed25519 AAAA"));

    // The vault stores it and age can use it as a recipient.
    Vault::new().set("ssh_private_key", private).unwrap();
    Recipient::parse(&public).unwrap();

    // Two keys differ.
    let (_, other) = secrets::generate_ssh_key("clawprov-test").unwrap();
    assert_ne!(other, public);
}
