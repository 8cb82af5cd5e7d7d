//! The rendered user-data of every example stack is accepted by cloud-init's
//! own schema (26.1 via ../shared/tools/validate-cloud-config, and Debian's
//! `cloud-init schema`), and every shell part passes shellcheck.

mod render_fixture;
mod support;

use std::path::Path;
use std::process::Command;

use clawprov::render::quote::sh_quote;
use render_fixture::*;
use serde_yaml::Value;

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The shell parts of a rendered document: every write_files entry with a
/// shebang, and the runcmd entries as the `/bin/sh` script cloud-init makes.
fn shell_parts(doc: &Value) -> Vec<(String, String)> {
    let mut parts: Vec<(String, String)> = write_files(doc)
        .into_iter()
        .filter(|f| f.content.starts_with("#!"))
        .map(|f| (f.path, f.content))
        .collect();
    let mut runcmd = String::from("#!/bin/sh\n");
    for entry in doc["runcmd"].as_sequence().expect("runcmd is a list") {
        match entry {
            Value::String(line) => runcmd.push_str(line),
            Value::Sequence(argv) => {
                let words: Vec<String> = argv
                    .iter()
                    .map(|w| sh_quote(w.as_str().expect("runcmd argv is strings")))
                    .collect();
                runcmd.push_str(&words.join(" "));
            }
            other => panic!("unexpected runcmd entry {other:?}"),
        }
        runcmd.push('\n');
    }
    parts.push(("runcmd".into(), runcmd));
    parts
}

fn check_stack(name: &str, dir: &Path) {
    let stack = all_stacks()
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, s)| s)
        .expect("stack exists");
    let user_data = render_embedded(&stack);
    let file = dir.join(format!("{name}.user-data"));
    std::fs::write(&file, user_data.expose()).expect("write user-data");

    let validator = support::shared_dir().join("tools/validate-cloud-config");
    assert!(validator.is_file(), "missing {}", validator.display());
    let (ok, out) = run(Command::new(&validator).arg(&file));
    assert!(ok, "{name}: validate-cloud-config rejected it:\n{out}");

    let cloud_init = support::require_tool("cloud-init", "cloud-init");
    let (ok, out) = run(Command::new(cloud_init).args(["schema", "-c"]).arg(&file));
    assert!(ok, "{name}: cloud-init schema rejected it:\n{out}");

    let shellcheck = support::require_tool("shellcheck", "shellcheck");
    let parts = shell_parts(&parse(user_data.expose()));
    let paths: Vec<&str> = parts.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        BOOTSTRAP_PATH,
        "/usr/local/sbin/clawprov-metadata-block",
        "runcmd",
    ] {
        assert!(
            paths.contains(&expected),
            "{name}: no shell part {expected} in {paths:?}"
        );
    }
    for (i, (path, script)) in parts.iter().enumerate() {
        let script_file = dir.join(format!("{name}.part{i}.sh"));
        std::fs::write(&script_file, script).expect("write script");
        let (ok, out) = run(Command::new(&shellcheck).arg(&script_file));
        assert!(ok, "{name}: shellcheck failed on {path}:\n{out}");
    }
}

#[test]
fn every_example_stack_renders_valid_cloud_config_and_clean_shell() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names: Vec<String> = all_stacks().into_iter().map(|(n, _)| n).collect();
    assert!(names.iter().any(|n| n == "example.yaml"));
    assert!(names.len() >= 3, "{names:?}");
    for name in &names {
        check_stack(name, dir.path());
    }
}

#[test]
fn the_checks_reject_a_broken_document() {
    // Guards against a validator that always says yes.
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.user-data");
    std::fs::write(&bad, "#cloud-config\nusers: 5\nno_such_module: true\n").expect("write");
    let validator = support::shared_dir().join("tools/validate-cloud-config");
    let (ok, _) = run(Command::new(&validator).arg(&bad));
    assert!(!ok, "validate-cloud-config accepted an invalid document");
    let cloud_init = support::require_tool("cloud-init", "cloud-init");
    let (ok, _) = run(Command::new(cloud_init).args(["schema", "-c"]).arg(&bad));
    assert!(!ok, "cloud-init schema accepted an invalid document");
    let shellcheck = support::require_tool("shellcheck", "shellcheck");
    let script = dir.path().join("bad.sh");
    std::fs::write(&script, "#!/bin/bash\nrm -rf $1/*\n").expect("write");
    let (ok, _) = run(Command::new(shellcheck).arg(&script));
    assert!(!ok, "shellcheck accepted an unquoted expansion");
}
