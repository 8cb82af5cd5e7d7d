//! A vault write that fails at any stage keeps the previous vault readable
//! and unchanged, and leaves no temp file behind.

mod support;

use std::path::Path;
use std::process::Command;

use clawprov::secrets::{self, identity, Lock, Recipient, Secret, Unlock, Vault, WriteStage};

struct Fixture {
    dir: tempfile::TempDir,
    recipients: Vec<Recipient>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let r = identity::create(&dir.path().join("keys").join("identity.txt")).unwrap();
        Fixture {
            dir,
            recipients: vec![Recipient::parse(&r).unwrap()],
        }
    }

    fn vault_path(&self) -> std::path::PathBuf {
        self.dir.path().join("stacks").join("s.secrets.age")
    }

    fn unlock(&self) -> Unlock {
        Unlock::Identities(
            identity::load(&self.dir.path().join("keys").join("identity.txt")).unwrap(),
        )
    }

    fn lock(&self) -> Lock<'_> {
        Lock::Recipients(&self.recipients)
    }
}

fn vault_with(token: &str) -> Vault {
    let mut v = Vault::new();
    v.set("hcloud_token", Secret::new(token)).unwrap();
    v
}

/// Every file in `dir` other than the vault itself.
fn strays(dir: &Path, vault: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p != vault)
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn an_interrupted_write_at_any_stage_keeps_the_old_vault() {
    for stage in [
        WriteStage::BeforeWrite,
        WriteStage::MidWrite,
        WriteStage::BeforeRename,
    ] {
        let f = Fixture::new();
        let path = f.vault_path();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        secrets::write(&path, &vault_with("old-token"), &f.lock()).unwrap();
        let before = std::fs::read(&path).unwrap();

        let err = secrets::write_interrupted(&path, &vault_with("new-token"), &f.lock(), stage)
            .expect_err("the interrupted write must report failure");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        assert_eq!(
            clawprov::error::Error::from(err).exit_code(),
            1,
            "an I/O failure is exit 1"
        );

        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "{stage:?}: file changed"
        );
        let v = secrets::read(&path, &f.unlock()).unwrap();
        assert_eq!(
            v.get("hcloud_token").unwrap().expose(),
            "old-token",
            "{stage:?}"
        );
        assert_eq!(
            strays(path.parent().unwrap(), &path),
            Vec::<String>::new(),
            "{stage:?}"
        );
    }
}

#[test]
fn an_uninterrupted_write_replaces_the_vault_and_leaves_nothing_else() {
    let f = Fixture::new();
    let path = f.vault_path();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    secrets::write(&path, &vault_with("old-token"), &f.lock()).unwrap();
    secrets::write(&path, &vault_with("new-token"), &f.lock()).unwrap();
    let v = secrets::read(&path, &f.unlock()).unwrap();
    assert_eq!(v.get("hcloud_token").unwrap().expose(), "new-token");
    assert_eq!(strays(path.parent().unwrap(), &path), Vec::<String>::new());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Makes `dir` unwritable for the rest of its life. As root, permission
/// bits do not stop writes, so the directory is made immutable instead.
struct ReadOnlyDir<'a> {
    dir: &'a Path,
    immutable: bool,
}

impl<'a> ReadOnlyDir<'a> {
    fn new(dir: &'a Path) -> Self {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        let immutable = std::fs::write(dir.join("probe"), b"x").is_ok();
        if immutable {
            // Root: use the immutable attribute.
            std::fs::remove_file(dir.join("probe")).unwrap();
            let chattr = support::require_tool("chattr", "e2fsprogs");
            let st = Command::new(chattr).arg("+i").arg(dir).status().unwrap();
            assert!(st.success(), "chattr +i failed");
        }
        assert!(
            std::fs::write(dir.join("probe"), b"x").is_err(),
            "precondition: {} must be unwritable",
            dir.display()
        );
        ReadOnlyDir { dir, immutable }
    }
}

impl Drop for ReadOnlyDir<'_> {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(self.dir).status();
        }
        let _ = std::fs::set_permissions(self.dir, std::fs::Permissions::from_mode(0o755));
    }
}

#[test]
fn a_write_into_a_read_only_directory_fails_and_keeps_the_old_vault() {
    let f = Fixture::new();
    let path = f.vault_path();
    let dir = path.parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    secrets::write(&path, &vault_with("old-token"), &f.lock()).unwrap();
    let before = std::fs::read(&path).unwrap();

    let result = {
        let _ro = ReadOnlyDir::new(&dir);
        secrets::write(&path, &vault_with("new-token"), &f.lock())
    };
    let err = result.expect_err("writing into a read-only directory must fail");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let v = secrets::read(&path, &f.unlock()).unwrap();
    assert_eq!(v.get("hcloud_token").unwrap().expose(), "old-token");
    assert_eq!(strays(&dir, &path), Vec::<String>::new());
}
