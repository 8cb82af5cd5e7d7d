//! The vendored schema and model catalog are what the real package says:
//! `scripts/openclaw-schema.sh --check` installs the pinned OpenClaw (the
//! contract test's cached tree), installs the channel plugins clawprov
//! installs into an empty state directory, prints `openclaw config schema
//! --json` and reads the bundled model catalog, and fails with a diff when
//! `vendor/openclaw/<version>/` differs. Needs npm and the npm registry:
//! under CI a missing tool fails the test.

mod support;

use std::process::Command;

#[test]
fn the_vendored_schema_and_catalog_match_the_real_package() {
    support::require_tool("npm", "npm");
    support::require_tool("flock", "util-linux");
    let script = support::repo_dir().join("scripts/openclaw-schema.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg("--check")
        .output()
        .expect("run openclaw-schema.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let diff: String = stdout.lines().take(80).collect::<Vec<_>>().join("\n");
    assert!(
        out.status.success(),
        "the vendored copies differ from what OpenClaw prints (regenerate with \
         scripts/openclaw-schema.sh and review the diff):\n{diff}\n{stderr}"
    );
}

/// The plugins the schema is taken with are the ones the host phase
/// installs: one list, checked here against the script's.
#[test]
fn the_script_installs_the_plugins_clawprov_installs() {
    let script =
        std::fs::read_to_string(support::repo_dir().join("scripts/openclaw-schema.sh")).unwrap();
    let line = script
        .lines()
        .find(|l| l.starts_with("plugins=("))
        .expect("plugins=( in the script");
    let mut listed: Vec<&str> = line
        .trim_start_matches("plugins=(")
        .trim_end_matches(')')
        .split_whitespace()
        .collect();
    listed.sort();
    let mut ours: Vec<&str> = ["telegram", "discord", "slack"]
        .into_iter()
        .filter_map(clawprov::gateway::channels::plugin_package)
        .collect();
    ours.sort();
    assert_eq!(listed, ours);
}
