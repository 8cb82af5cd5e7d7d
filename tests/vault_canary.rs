//! Secret values never show up where they should not: Debug of the vault,
//! its values and its errors, the file on disk, and error messages.

mod support;

use std::process::Command;

use clawprov::secrets::{
    self, identity, Lock, Recipient, Secret, Unlock, Vault, VaultError, KNOWN_KEYS,
};

/// One unique marker per known key, so a leak points at its source.
fn canary(key: &str) -> String {
    format!("CANARY-{}-7f3e9a", key.replace('_', "-"))
}

fn canary_vault() -> Vault {
    let mut v = Vault::new();
    for key in KNOWN_KEYS {
        let value = if *key == "ssh_private_key" {
            format!("-----BEGIN X-----\n{}\n-----END X-----\n", canary(key))
        } else {
            canary(key)
        };
        v.set(key, Secret::new(value)).unwrap();
    }
    v
}

fn assert_no_canary(what: &str, text: &str) {
    for key in KNOWN_KEYS {
        assert!(!text.contains(&canary(key)), "{what} leaks {key}: {text}");
    }
    assert!(!text.contains("CANARY"), "{what} leaks a canary: {text}");
}

/// Display and Debug of the layer error and of the crate error.
fn error_texts(e: VaultError) -> String {
    let layer = format!("{e}\n{e:?}");
    let top = clawprov::error::Error::from(e);
    format!("{layer}\n{top}\n{top:?}")
}

#[test]
fn debug_of_vault_secret_and_unlock_shows_no_value() {
    let v = canary_vault();
    assert_no_canary("Debug of Vault", &format!("{v:?} {v:#?}"));
    for key in KNOWN_KEYS {
        let s = v.get(key).unwrap();
        assert_no_canary("Secret", &format!("{s:?} {s}"));
    }
    let unlock = Unlock::Passphrase(Secret::new(canary("passphrase")));
    assert_no_canary("Debug of Unlock", &format!("{unlock:?}"));
    let pass = Secret::new(canary("passphrase"));
    assert_no_canary("Debug of Lock", &format!("{:?}", Lock::Passphrase(&pass)));
    // The values are really there: the check above is not vacuous.
    assert_eq!(
        v.get("hcloud_token").unwrap().expose(),
        canary("hcloud_token")
    );
}

#[test]
fn the_file_on_disk_is_ciphertext_only() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id.txt");
    let r = [Recipient::parse(&identity::create(&id).unwrap()).unwrap()];
    let path = dir.path().join("s.secrets.age");
    secrets::write(&path, &canary_vault(), &Lock::Recipients(&r)).unwrap();

    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    assert_no_canary("vault file", &text);
    assert!(
        !text.contains("hcloud_token"),
        "key names are encrypted too"
    );
    // And it decrypts back to the canaries.
    let v = secrets::read(&path, &Unlock::Identities(identity::load(&id).unwrap())).unwrap();
    assert_eq!(v, canary_vault());

    // A passphrase vault: neither values nor the passphrase are in the file.
    let pass = Secret::new(canary("passphrase"));
    secrets::write(&path, &canary_vault(), &Lock::Passphrase(&pass)).unwrap();
    assert_no_canary(
        "passphrase vault file",
        &std::fs::read_to_string(&path).unwrap(),
    );
    // Nothing else was written beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn errors_name_the_file_but_never_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id.txt");
    let other = dir.path().join("other.txt");
    let r = [Recipient::parse(&identity::create(&id).unwrap()).unwrap()];
    identity::create(&other).unwrap();
    let path = dir.path().join("s.secrets.age");
    secrets::write(&path, &canary_vault(), &Lock::Recipients(&r)).unwrap();

    // Wrong identity.
    let err = secrets::read(&path, &Unlock::Identities(identity::load(&other).unwrap()))
        .expect_err("another identity cannot decrypt");
    assert!(
        matches!(err, VaultError::NoMatchingIdentity { .. }),
        "{err:?}"
    );
    let text = error_texts(err);
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert_no_canary("wrong-identity error", &text);

    // Passphrase given for a recipient vault.
    let err = secrets::read(
        &path,
        &Unlock::Passphrase(Secret::new(canary("passphrase"))),
    )
    .expect_err("not a passphrase vault");
    assert_no_canary("needs-identity error", &error_texts(err));

    // Wrong passphrase.
    let pass = Secret::new("right passphrase");
    secrets::write(&path, &canary_vault(), &Lock::Passphrase(&pass)).unwrap();
    let err = secrets::read(
        &path,
        &Unlock::Passphrase(Secret::new(canary("passphrase"))),
    )
    .expect_err("wrong passphrase");
    assert!(matches!(err, VaultError::WrongPassphrase { .. }), "{err:?}");
    assert_eq!(
        clawprov::error::Error::from(VaultError::WrongPassphrase { path: path.clone() })
            .exit_code(),
        2
    );
    assert_no_canary("wrong-passphrase error", &error_texts(err));

    // Bad values and names handed to set().
    let mut v = Vault::new();
    let err = v
        .set(
            "hcloud_token",
            Secret::new(format!("{}\nsecond line", canary("hcloud_token"))),
        )
        .unwrap_err();
    assert_no_canary("invalid-value error", &error_texts(err));
    let err = v
        .set(&canary("hcloud_token"), Secret::new("x"))
        .unwrap_err();
    assert_no_canary("invalid-name error", &error_texts(err));
}

#[test]
fn a_malformed_vault_from_the_age_cli_is_reported_without_its_contents() {
    let age = support::require_tool("age", "age");
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id.txt");
    let recipient = identity::create(&id).unwrap();
    let unlock = Unlock::Identities(identity::load(&id).unwrap());
    let path = dir.path().join("s.secrets.age");
    for plaintext in [
        format!("hcloud_token: {{nested: {}}}\n", canary("hcloud_token")),
        format!("hcloud_token: \"{}\\nline two\"\n", canary("hcloud_token")),
        format!(
            "hcloud_token: a\nhcloud_token: {}\n",
            canary("hcloud_token")
        ),
        format!("- {}\n", canary("hcloud_token")),
        format!("hcloud_token: \"{}\n", canary("hcloud_token")),
    ] {
        let plain = dir.path().join("plain.yaml");
        std::fs::write(&plain, &plaintext).unwrap();
        let st = Command::new(&age)
            .arg("-r")
            .arg(&recipient)
            .arg("-a")
            .arg("-o")
            .arg(&path)
            .arg(&plain)
            .status()
            .unwrap();
        assert!(st.success());
        let err = secrets::read(&path, &unlock).expect_err(&format!("accepted {plaintext:?}"));
        assert!(matches!(err, VaultError::Malformed { .. }), "{err:?}");
        let text = error_texts(err);
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("BadInput"), "{text}");
        assert_no_canary("malformed-vault error", &text);
    }
}
