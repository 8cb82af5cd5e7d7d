//! The locked dependency tree of an OpenClaw release: the exact packages a
//! server installs (`npm ci --ignore-scripts`, src/host/release.rs), the
//! contract test proves, and `verify` compares the installed tree with.
//!
//! A lock is two files, `package.json` (one dependency: `openclaw` at the
//! release's exact version) and `package-lock.json` (lockfileVersion 3:
//! every package's version, registry tarball and sha512 integrity), made
//! by scripts/openclaw-lock.sh from the real registry. clawprov vendors the
//! lock of each supported release (`vendor/openclaw/<version>/lock/`); a
//! stack may name its own (`openclaw.lock`, a directory holding the two
//! files), made by the same script. OpenClaw ships no lockfile of its own
//! (its docs/gateway/security/dependency-locking.md), so without one every
//! server would resolve its ~375 transitive packages anew at install time.

pub mod diff;
pub mod installed;
pub mod record;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

pub use diff::LockDiff;

/// The vendored locks: (OpenClaw version, package.json, package-lock.json).
const VENDORED: &[(&str, &str, &str)] = &[(
    "2026.9.6",
    include_str!("../../vendor/openclaw/2026.9.6/lock/package.json"),
    include_str!("../../vendor/openclaw/2026.9.6/lock/package-lock.json"),
)];

/// The only registry a locked package may come from.
pub const REGISTRY: &str = "https://registry.npmjs.org/";

/// Hex digits of [`Lock::hash`]: 48 bits, enough to tell locks apart in a
/// directory name and a Hetzner label.
pub const HASH_LEN: usize = 12;

/// One locked package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Shipped inside its parent's tarball (bundleDependencies): covered by
    /// the parent's integrity, no tarball of its own.
    pub bundled: bool,
    /// Installed only on some platforms (npm skips it elsewhere).
    pub optional: bool,
}

/// A parsed, checked lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The OpenClaw version it locks.
    pub openclaw: String,
    package_json: String,
    lock_json: String,
    hash: String,
    /// By install path (`node_modules/a/node_modules/b`).
    packages: BTreeMap<String, Package>,
}

/// Why a lock was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LockError(pub String);

fn fail(why: impl Into<String>) -> LockError {
    LockError(why.into())
}

impl Lock {
    /// The lock clawprov vendors for OpenClaw `version`, if any (parsed
    /// once per process; a vendored lock that does not parse is none, and
    /// the unit test below fails on it).
    pub fn vendored(version: &str) -> Option<Arc<Lock>> {
        static PARSED: OnceLock<Vec<Arc<Lock>>> = OnceLock::new();
        PARSED
            .get_or_init(|| {
                VENDORED
                    .iter()
                    .filter_map(|(v, p, l)| Lock::parse(p, l, v).ok().map(Arc::new))
                    .collect()
            })
            .iter()
            .find(|l| l.openclaw == version)
            .cloned()
    }

    /// The vendored lock whose [`hash`](Self::hash) is `hash`.
    pub fn vendored_by_hash(hash: &str) -> Option<Arc<Lock>> {
        VENDORED
            .iter()
            .filter_map(|(v, _, _)| Lock::vendored(v))
            .find(|l| l.hash == hash)
    }

    /// The versions clawprov vendors a lock for.
    pub fn vendored_versions() -> Vec<&'static str> {
        VENDORED.iter().map(|(v, _, _)| *v).collect()
    }

    /// Read a lock directory (`package.json`, `package-lock.json`) for
    /// OpenClaw `version`. Each file is read up to 8 MiB.
    pub fn read(dir: &Path, version: &str) -> Result<Lock, LockError> {
        let read = |name: &str| -> Result<String, LockError> {
            use std::io::Read;
            let path = dir.join(name);
            let file = std::fs::File::open(&path)
                .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
            let mut text = String::new();
            file.take(8 << 20)
                .read_to_string(&mut text)
                .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?;
            Ok(text)
        };
        Lock::parse(&read("package.json")?, &read("package-lock.json")?, version)
    }

    /// Parse and check the two files: lockfileVersion 3, the root depends
    /// on exactly `openclaw@version` and nothing else, that version is what
    /// is locked, and every package comes from [`REGISTRY`] with a sha512
    /// integrity (or inside its parent's tarball).
    pub fn parse(package_json: &str, lock_json: &str, version: &str) -> Result<Lock, LockError> {
        let manifest: serde_json::Value = serde_json::from_str(package_json)
            .map_err(|e| fail(format!("package.json is not JSON: {e}")))?;
        let want = serde_json::json!({ "openclaw": version });
        if manifest["dependencies"] != want {
            return Err(fail(format!(
                "package.json must depend on exactly openclaw {version} and nothing else"
            )));
        }
        let lock: serde_json::Value = serde_json::from_str(lock_json)
            .map_err(|e| fail(format!("package-lock.json is not JSON: {e}")))?;
        if lock["lockfileVersion"] != 3 {
            return Err(fail(
                "package-lock.json: lockfileVersion must be 3 (the npm that Node 24 bundles writes it)",
            ));
        }
        let entries = lock["packages"]
            .as_object()
            .ok_or_else(|| fail("package-lock.json has no \"packages\""))?;
        if entries.get("").map(|root| &root["dependencies"]) != Some(&want) {
            return Err(fail(format!(
                "package-lock.json was not made for openclaw {version} (its root dependencies differ from package.json's)"
            )));
        }
        let mut packages = BTreeMap::new();
        for (path, entry) in entries.iter().filter(|(p, _)| !p.is_empty()) {
            let name = entry["name"]
                .as_str()
                .map(str::to_string)
                .or_else(|| {
                    path.rsplit_once("node_modules/")
                        .map(|(_, n)| n.to_string())
                })
                .filter(|n| !n.is_empty())
                .ok_or_else(|| fail(format!("package-lock.json: {path:?} names no package")))?;
            let version = entry["version"]
                .as_str()
                .ok_or_else(|| fail(format!("package-lock.json: {path} has no version")))?;
            let bundled = entry["inBundle"] == true;
            if !bundled {
                let resolved = entry["resolved"].as_str().unwrap_or_default();
                let integrity = entry["integrity"].as_str().unwrap_or_default();
                if !resolved.starts_with(REGISTRY) || !integrity.starts_with("sha512-") {
                    return Err(fail(format!(
                        "package-lock.json: {path} is not a {REGISTRY} tarball with a sha512 integrity"
                    )));
                }
            }
            packages.insert(
                path.clone(),
                Package {
                    name,
                    version: version.to_string(),
                    bundled,
                    optional: entry["optional"] == true,
                },
            );
        }
        match packages.get("node_modules/openclaw") {
            Some(p) if p.version == version => {}
            _ => {
                return Err(fail(format!(
                    "package-lock.json does not lock node_modules/openclaw at {version}"
                )))
            }
        }
        let digest = Sha256::new()
            .chain_update(package_json.as_bytes())
            .chain_update(lock_json.as_bytes())
            .finalize();
        let mut hash = hex::encode(digest);
        hash.truncate(HASH_LEN);
        Ok(Lock {
            openclaw: version.to_string(),
            package_json: package_json.to_string(),
            lock_json: lock_json.to_string(),
            hash,
            packages,
        })
    }

    /// The first [`HASH_LEN`] hex digits of the sha256 of the two files:
    /// the lock's identity (release directory, `clawprov/lock` label).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    pub fn package_json(&self) -> &str {
        &self.package_json
    }

    pub fn lock_json(&self) -> &str {
        &self.lock_json
    }

    /// Every locked package, by install path.
    pub fn packages(&self) -> &BTreeMap<String, Package> {
        &self.packages
    }

    /// Every locked package as `path -> name@version`.
    pub fn tree(&self) -> diff::Tree {
        self.packages
            .iter()
            .map(|(path, p)| (path.clone(), format!("{}@{}", p.name, p.version)))
            .collect()
    }

    /// How the tree changes from `self` to `next` (plan: the size of the
    /// supply-chain change an upgrade brings).
    pub fn changes_to(&self, next: &Lock) -> LockDiff {
        diff::diff(&self.tree(), &next.tree(), |_| false)
    }

    /// The packages with install scripts npm would run, by path: none runs
    /// (`--ignore-scripts`), and the README says why none is needed.
    pub fn with_install_scripts(&self) -> Vec<String> {
        let lock: serde_json::Value = serde_json::from_str(&self.lock_json).unwrap_or_default();
        lock["packages"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(_, e)| e["hasInstallScript"] == true)
                    .map(|(p, _)| p.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKAGE: &str =
        r#"{"name":"r","version":"1.0.0","private":true,"dependencies":{"openclaw":"1.0.0"}}"#;

    fn lock_json(extra: &str) -> String {
        format!(
            r#"{{"lockfileVersion":3,"packages":{{
              "":{{"dependencies":{{"openclaw":"1.0.0"}}}},
              "node_modules/openclaw":{{"version":"1.0.0","resolved":"https://registry.npmjs.org/openclaw/-/openclaw-1.0.0.tgz","integrity":"sha512-AAAA"}}{extra}}}}}"#
        )
    }

    #[test]
    fn a_lock_for_the_version_parses_and_hashes_both_files() {
        let l = Lock::parse(PACKAGE, &lock_json(""), "1.0.0").unwrap();
        assert_eq!(l.packages().len(), 1);
        assert_eq!(l.hash().len(), HASH_LEN);
        let other = Lock::parse(PACKAGE, &lock_json(" "), "1.0.0").unwrap();
        assert_ne!(l.hash(), other.hash(), "every byte counts");
    }

    #[test]
    fn what_is_not_locked_from_the_registry_is_refused() {
        let refused =
            |lock: &str, version: &str| Lock::parse(PACKAGE, lock, version).unwrap_err().0;
        assert!(refused(&lock_json(""), "1.0.1").contains("exactly openclaw 1.0.1"));
        let git = r#","node_modules/x":{"version":"1.0.0","resolved":"git+ssh://git@github.com/x/x.git#abc","integrity":"sha512-B"}"#;
        assert!(refused(&lock_json(git), "1.0.0").contains("node_modules/x is not"));
        let sha1 = r#","node_modules/x":{"version":"1.0.0","resolved":"https://registry.npmjs.org/x/-/x-1.0.0.tgz","integrity":"sha1-B"}"#;
        assert!(refused(&lock_json(sha1), "1.0.0").contains("sha512"));
        let bundled =
            r#","node_modules/openclaw/node_modules/y":{"version":"2.0.0","inBundle":true}"#;
        assert!(Lock::parse(PACKAGE, &lock_json(bundled), "1.0.0").is_ok());
        let v2 = lock_json("").replace("\"lockfileVersion\":3", "\"lockfileVersion\":2");
        assert!(refused(&v2, "1.0.0").contains("lockfileVersion"));
        let extra_dep = PACKAGE.replace(r#""openclaw":"1.0.0""#, r#""openclaw":"1.0.0","x":"1""#);
        assert!(Lock::parse(&extra_dep, &lock_json(""), "1.0.0").is_err());
    }

    #[test]
    fn the_vendored_lock_is_the_default_pin_and_runs_no_script() {
        let default = crate::stack::DEFAULT_OPENCLAW_VERSION;
        let lock = Lock::vendored(default)
            .unwrap_or_else(|| panic!("no vendored lock for the default pin {default}"));
        assert_eq!(lock.openclaw, default);
        // The size the issue measured (376 packages with the root).
        assert!(lock.packages().len() > 300, "{}", lock.packages().len());
        // The four packages that declare install scripts; none is run.
        assert_eq!(
            lock.with_install_scripts(),
            [
                "node_modules/@google/genai",
                "node_modules/koffi",
                "node_modules/openclaw",
                "node_modules/protobufjs"
            ]
        );
        for v in Lock::vendored_versions() {
            let lock = Lock::vendored(v)
                .unwrap_or_else(|| panic!("the vendored lock of {v} does not parse"));
            assert_eq!(Lock::vendored_by_hash(lock.hash()), Some(lock));
        }
    }
}
