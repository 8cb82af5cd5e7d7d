//! A vault sealed to several recipients (X25519 and ssh-ed25519) opens with
//! any one of their identities alone, and with no other.

mod support;

use std::path::PathBuf;
use std::process::Command;

use clawprov::secrets::{self, identity, Lock, Recipient, Secret, Unlock, Vault, VaultError};

fn ssh_keygen(dir: &std::path::Path) -> (PathBuf, String) {
    let key = dir.join("id_ed25519");
    let st = Command::new(support::require_tool("ssh-keygen", "openssh-client"))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "teammate", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(st.success());
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

#[test]
fn each_recipient_decrypts_alone_and_outsiders_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let alice = dir.path().join("alice.txt");
    let bob = dir.path().join("bob.txt");
    let outsider = dir.path().join("outsider.txt");
    let alice_r = identity::create(&alice).unwrap();
    let bob_r = identity::create(&bob).unwrap();
    identity::create(&outsider).unwrap();
    let (carol_key, carol_r) = ssh_keygen(dir.path());

    let recipients: Vec<Recipient> = [&alice_r, &bob_r, &carol_r]
        .iter()
        .map(|r| Recipient::parse(r).unwrap())
        .collect();
    let mut v = Vault::new();
    v.set("hcloud_token", Secret::new("team-token")).unwrap();
    let path = dir.path().join("team.secrets.age");
    secrets::write(&path, &v, &Lock::Recipients(&recipients)).unwrap();
    assert!(!secrets::is_passphrase_vault(&path).unwrap());

    for id in [&alice, &bob, &carol_key] {
        let got = secrets::read(&path, &Unlock::Identities(identity::load(id).unwrap()))
            .unwrap_or_else(|e| panic!("{} cannot decrypt: {e}", id.display()));
        assert_eq!(got, v);
    }

    // The age CLI agrees for each one too.
    let age = support::require_tool("age", "age");
    for id in [&alice, &bob, &carol_key] {
        let out = Command::new(&age)
            .arg("-d")
            .arg("-i")
            .arg(id)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The secret, and the record of when it was set (no secret in it).
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!(
                "clawprov_record: '{}'\nhcloud_token: team-token\n",
                v.record().text()
            )
        );
    }

    let err = secrets::read(
        &path,
        &Unlock::Identities(identity::load(&outsider).unwrap()),
    )
    .unwrap_err();
    assert!(
        matches!(err, VaultError::NoMatchingIdentity { .. }),
        "{err:?}"
    );
}

#[test]
fn dropping_a_recipient_on_rewrite_locks_it_out() {
    let dir = tempfile::tempdir().unwrap();
    let alice = dir.path().join("alice.txt");
    let bob = dir.path().join("bob.txt");
    let alice_r = Recipient::parse(&identity::create(&alice).unwrap()).unwrap();
    let bob_r = Recipient::parse(&identity::create(&bob).unwrap()).unwrap();
    let path = dir.path().join("v.age");
    let mut v = Vault::new();
    v.set("gateway_token", secrets::generate_gateway_token())
        .unwrap();

    let both = [alice_r, bob_r];
    secrets::write(&path, &v, &Lock::Recipients(&both)).unwrap();
    secrets::read(&path, &Unlock::Identities(identity::load(&bob).unwrap())).unwrap();

    secrets::write(&path, &v, &Lock::Recipients(&both[..1])).unwrap();
    secrets::read(&path, &Unlock::Identities(identity::load(&alice).unwrap())).unwrap();
    let err = secrets::read(&path, &Unlock::Identities(identity::load(&bob).unwrap())).unwrap_err();
    assert!(
        matches!(err, VaultError::NoMatchingIdentity { .. }),
        "{err:?}"
    );
}

#[test]
fn no_recipients_is_bad_input_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.age");
    let err = secrets::write(&path, &Vault::new(), &Lock::Recipients(&[])).unwrap_err();
    assert!(matches!(err, VaultError::NoRecipients { .. }), "{err:?}");
    assert_eq!(clawprov::error::Error::from(err).exit_code(), 2);
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_identity_for_a_passphrase_vault_gets_a_pointed_error() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("id.txt");
    identity::create(&id).unwrap();
    let path = dir.path().join("v.age");
    let pass = Secret::new("pw");
    secrets::write(&path, &Vault::new(), &Lock::Passphrase(&pass)).unwrap();
    let err = secrets::read(&path, &Unlock::Identities(identity::load(&id).unwrap())).unwrap_err();
    assert!(matches!(err, VaultError::NeedsPassphrase { .. }), "{err:?}");
    assert!(err.to_string().contains("CLAWPROV_PASSPHRASE"));
    // An empty vault round-trips.
    assert!(secrets::read(&path, &Unlock::Passphrase(pass))
        .unwrap()
        .is_empty());
}
