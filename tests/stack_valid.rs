//! Every stack the project ships validates through the real binary, and so
//! does what `init_document` writes; discovery works as the CLI promises.

mod support;

use std::path::{Path, PathBuf};

fn shipped_stacks() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["stacks", "examples"] {
        for e in std::fs::read_dir(support::repo_dir().join(dir))
            .expect("dir")
            .flatten()
        {
            if e.path().extension().is_some_and(|x| x == "yaml") {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn validate_json(
    home: &Path,
    cwd: &Path,
    stack: Option<&Path>,
    env: Option<&Path>,
) -> (i32, serde_json::Value, String) {
    let mut cmd = support::clawprov(home);
    cmd.current_dir(cwd).arg("--json").arg("validate");
    if let Some(s) = stack {
        cmd.arg("--stack").arg(s);
    }
    if let Some(e) = env {
        cmd.env("CLAWPROV_STACK", e);
    }
    let out = cmd.output().expect("run clawprov");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn every_shipped_stack_validates() {
    let stacks = shipped_stacks();
    assert!(stacks.len() >= 5, "{stacks:?}");
    let home = tempfile::tempdir().expect("tempdir");
    for path in stacks {
        let (code, json, stderr) = validate_json(home.path(), home.path(), Some(&path), None);
        assert_eq!(code, 0, "{}: {stderr}", path.display());
        assert_eq!(json["valid"], true, "{}", path.display());
        assert_eq!(json["stack"], path.display().to_string());
        let stack = clawprov::stack::load(&path).expect("loads");
        assert_eq!(json["name"], stack.name);
    }
}

#[test]
fn human_output_summarises_the_stack() {
    let home = tempfile::tempdir().expect("tempdir");
    let out = support::clawprov(home.path())
        .args(["validate", "-s"])
        .arg(support::repo_dir().join("examples/team.yaml"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for want in [
        "valid",
        "team-gateway",
        "cax31 in nbg1",
        "team-openclaw.tail5678.ts.net",
        "127.0.0.1:18789",
    ] {
        assert!(stdout.contains(want), "missing {want:?} in:\n{stdout}");
    }
}

#[test]
fn init_documents_validate_through_the_binary() {
    let home = tempfile::tempdir().expect("tempdir");
    let age = "age1h07kvhgy6uc29vwgfdsnu0tj3ymgq8hspln7sgfyx80rzjsjtaksy2ehw5".to_string();
    let cases = [
        ("alpha", "tail1234.ts.net", "alpha-claw", vec![], false),
        ("b", "corp.example.com", "b", vec![age], false),
        ("solo-9", "tail9.ts.net", "solo", vec![], true),
    ];
    for (name, tailnet, host, recipients, pass) in cases {
        let doc = clawprov::stack::init_document(name, tailnet, host, &recipients, pass);
        // Every field is written out (or shown commented) for the reader.
        for key in [
            "name:",
            "location:",
            "server_type:",
            "image:",
            "backups:",
            "delete:",
            "rebuild:",
            "public_ipv4:",
            "public_ipv6:",
            "tailnet:",
            "hostname:",
            "tags:",
            "auth:",
            "version:",
            "port:",
            "nvm_version:",
            "nvm_sha256:",
            "admin_user:",
            "service_user:",
            "authorized_keys:",
            "# file:",
            "recipients:",
            "passphrase:",
        ] {
            assert!(doc.contains(key), "{key} missing:\n{doc}");
        }
        let path = home.path().join(format!("{name}.yaml"));
        std::fs::write(&path, &doc).expect("write");
        let (code, json, stderr) = validate_json(home.path(), home.path(), Some(&path), None);
        assert_eq!(code, 0, "{stderr}\n{doc}");
        assert_eq!(json["name"], name);
    }
}

#[test]
fn discovery_follows_flag_env_then_the_only_stack() {
    let home = tempfile::tempdir().expect("tempdir");
    let project = tempfile::tempdir().expect("tempdir");
    let stacks = project.path().join("stacks");
    std::fs::create_dir(&stacks).expect("mkdir");

    // None: exit 2 and say how to create one.
    let (code, _, stderr) = validate_json(home.path(), project.path(), None, None);
    assert_eq!(code, 2);
    assert!(stderr.contains("clawprov init NAME"), "{stderr}");

    // One: found without flags.
    let example = std::fs::read(support::repo_dir().join("stacks/example.yaml")).expect("example");
    std::fs::write(stacks.join("example.yaml"), &example).expect("write");
    let (code, json, stderr) = validate_json(home.path(), project.path(), None, None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["name"], "example");

    // Several: exit 2 listing them.
    let team = std::fs::read(support::repo_dir().join("examples/team.yaml")).expect("team");
    std::fs::write(stacks.join("team.yaml"), &team).expect("write");
    let (code, _, stderr) = validate_json(home.path(), project.path(), None, None);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("example.yaml") && stderr.contains("team.yaml"),
        "{stderr}"
    );

    // $CLAWPROV_STACK picks one (relative to the working directory); --stack wins over it.
    let (code, json, _) = validate_json(
        home.path(),
        project.path(),
        None,
        Some(Path::new("stacks/team.yaml")),
    );
    assert_eq!((code, json["name"].as_str()), (0, Some("team-gateway")));
    let (code, json, _) = validate_json(
        home.path(),
        project.path(),
        Some(Path::new("stacks/example.yaml")),
        Some(Path::new("stacks/team.yaml")),
    );
    assert_eq!((code, json["name"].as_str()), (0, Some("example")));

    // A missing file is bad input, not a crash.
    let (code, _, stderr) = validate_json(
        home.path(),
        project.path(),
        Some(Path::new("nope.yaml")),
        None,
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("nope.yaml") && stderr.contains("(file)"),
        "{stderr}"
    );
}

#[test]
fn vault_path_is_beside_the_stack() {
    let team =
        clawprov::stack::load(&support::repo_dir().join("examples/team.yaml")).expect("team");
    assert_eq!(
        clawprov::stack::vault_path(&team, Path::new("/p/stacks/team.yaml")),
        Path::new("/p/stacks/team-gateway.secrets.age")
    );
    let mut example =
        clawprov::stack::load(&support::repo_dir().join("stacks/example.yaml")).expect("example");
    assert_eq!(
        clawprov::stack::vault_path(&example, Path::new("stacks/example.yaml")),
        Path::new("stacks/example.secrets.age")
    );
    assert_eq!(
        clawprov::stack::vault_path(&example, Path::new("example.yaml")),
        Path::new("example.secrets.age")
    );
    example.secrets.file = Some("vaults/x.age".into());
    assert_eq!(
        clawprov::stack::vault_path(&example, Path::new("/a/s.yaml")),
        Path::new("/a/vaults/x.age")
    );
}

#[test]
fn stack_errors_are_bad_input() {
    let err = clawprov::stack::parse(b"name: [", Path::new("x.yaml")).expect_err("bad");
    let err: clawprov::error::Error = err.into();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().starts_with("x.yaml:1:"), "{err}");
}
