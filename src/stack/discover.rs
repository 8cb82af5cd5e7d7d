//! Which stack file a command works on: `--stack`, else `$CLAWPROV_STACK`,
//! else the only `stacks/*.yaml` under the working directory. Guessing
//! between several would risk deploying (or destroying) the wrong one.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::error::{StackError, FILE};

/// Resolve the stack file path. An explicit or environment path is returned
/// as given (relative paths are relative to `cwd`); whether it exists is
/// [`super::load`]'s concern.
pub fn discover(
    explicit: Option<&Path>,
    env: Option<&OsStr>,
    cwd: &Path,
) -> Result<PathBuf, StackError> {
    if let Some(p) = explicit {
        return Ok(cwd.join(p));
    }
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        return Ok(cwd.join(p));
    }
    let dir = cwd.join("stacks");
    let mut found: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension() == Some(OsStr::new("yaml")) && p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(StackError::new(&dir, (0, 0), FILE, "no stack file found (looked for stacks/*.yaml)")
            .with_hint("create one with `clawprov init NAME`, or name one with --stack FILE or $CLAWPROV_STACK")),
        _ => {
            let names: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
            Err(StackError::new(&dir, (0, 0), FILE, format!("several stack files found: {}", names.join(", ")))
                .with_hint("choose one with --stack FILE or $CLAWPROV_STACK"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(stacks: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("stacks")).expect("mkdir");
        for s in stacks {
            std::fs::write(dir.path().join("stacks").join(s), "name: x\n").expect("write");
        }
        dir
    }

    #[test]
    fn no_stack_says_how_to_create_one() {
        let dir = project(&[]);
        let err = discover(None, None, dir.path()).expect_err("none");
        assert!(err.to_string().contains("clawprov init NAME"), "{err}");
        let bare = tempfile::tempdir().expect("tempdir");
        assert!(discover(None, None, bare.path()).is_err());
    }

    #[test]
    fn the_only_stack_is_chosen() {
        let dir = project(&["a.yaml", "a.secrets.age", "notes.txt"]);
        assert_eq!(
            discover(None, None, dir.path()).expect("one"),
            dir.path().join("stacks/a.yaml")
        );
    }

    #[test]
    fn several_stacks_are_listed() {
        let dir = project(&["a.yaml", "b.yaml"]);
        let err = discover(None, None, dir.path())
            .expect_err("several")
            .to_string();
        assert!(
            err.contains("a.yaml") && err.contains("b.yaml") && err.contains("--stack"),
            "{err}"
        );
    }

    #[test]
    fn env_then_explicit_take_precedence() {
        let dir = project(&["a.yaml", "b.yaml"]);
        let env = OsStr::new("stacks/b.yaml");
        assert_eq!(
            discover(None, Some(env), dir.path()).expect("env"),
            dir.path().join("stacks/b.yaml")
        );
        let explicit = Path::new("/elsewhere/c.yaml");
        assert_eq!(
            discover(Some(explicit), Some(env), dir.path()).expect("explicit"),
            explicit
        );
        assert!(
            discover(None, Some(OsStr::new("")), dir.path()).is_err(),
            "empty env is unset"
        );
    }
}
