//! The gateway's configuration in the stack file (`openclaw.model`,
//! `openclaw.channels`, `openclaw.tools`, `openclaw.settings`), through the
//! real binary: what a bad declaration is refused with (exit 2, file, line,
//! field, the fix), what a good one renders to, and that a refused stack
//! creates nothing.

mod support;

use std::path::{Path, PathBuf};

const BASE: &str = "name: gw\ntailscale:\n  tailnet: tail1.ts.net\n  hostname: gw\nopenclaw:\n";

fn write(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("gw.yaml");
    std::fs::write(&path, format!("{BASE}{body}")).expect("write stack");
    path
}

/// `clawprov validate -s FILE`: (exit code, stdout, stderr).
fn validate(body: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), body);
    let out = support::clawprov(dir.path())
        .args(["validate", "-s"])
        .arg(&path)
        .output()
        .expect("run clawprov");
    let stderr = String::from_utf8_lossy(&out.stderr).replace(&*path.to_string_lossy(), "FILE");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        stderr,
    )
}

/// Refused with exit 2 at `FILE:line:col: field: ...`, the message and hint
/// holding each of `says`.
fn refused(body: &str, line: usize, field: &str, says: &[&str]) -> String {
    let (code, stdout, stderr) = validate(body);
    assert_eq!(code, Some(2), "{body}\nstdout {stdout}\nstderr {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let prefix = format!("error: FILE:{line}:");
    assert!(
        stderr.starts_with(&prefix),
        "want {prefix}:\n{body}\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(": {field}: ")),
        "want field {field}:\n{stderr}"
    );
    for s in says {
        assert!(stderr.contains(s), "want {s:?}:\n{stderr}");
    }
    stderr
}

#[test]
fn an_unknown_settings_key_is_refused_at_its_line_with_the_schema_path() {
    refused(
        "  settings:\n    tools:\n      exec:\n        securty: deny\n",
        9,
        "openclaw.settings.tools.exec.securty",
        &["unknown key `securty`", "schema /properties/tools"],
    );
    refused(
        "  settings:\n    gatewy: {}\n",
        7,
        "openclaw.settings.gatewy",
        &["unknown key `gatewy`"],
    );
}

#[test]
fn a_wrong_type_in_settings_is_refused_at_its_line() {
    refused(
        "  settings:\n    tools:\n      fs:\n        workspaceOnly: sometimes\n",
        9,
        "openclaw.settings.tools.fs.workspaceOnly",
        &["openclaw.json `tools.fs.workspaceOnly`"],
    );
}

#[test]
fn an_owned_key_names_the_typed_field_to_use() {
    refused(
        "  settings:\n    gateway:\n      port: 9999\n",
        8,
        "openclaw.settings.gateway.port",
        &["set by clawprov", "openclaw.port"],
    );
    refused(
        "  settings:\n    agents:\n      defaults:\n        model: {primary: openai/gpt-5.4}\n",
        9,
        "openclaw.settings.agents.defaults.model",
        &["openclaw.model"],
    );
    refused(
        "  channels:\n    telegram: {}\n  settings:\n    channels:\n      telegram:\n        dmPolicy: open\n",
        11,
        "openclaw.settings.channels.telegram.dmPolicy",
        &["openclaw.channels"],
    );
}

#[test]
fn a_literal_secret_is_refused_without_being_echoed() {
    let canary = "sk-ant-api03-CANARYliteral0123456789abcdef";
    let err = refused(
        &format!("  settings:\n    talk:\n      apiKey: {canary}\n"),
        8,
        "openclaw.settings.talk.apiKey",
        &["literal credential", "{secret: KEY}"],
    );
    assert!(!err.contains("CANARY"), "{err}");
    let err = refused(
        "  settings:\n    hooks:\n      token: CANARYhookvalue\n",
        8,
        "openclaw.settings.hooks.token",
        &["literal credential"],
    );
    assert!(!err.contains("CANARY"), "{err}");
    refused(
        "  channels:\n    telegram:\n      token: '123456789:AAHCANARYzzzzzzzzzzzzzzzzzzzzzzzzzzz'\n",
        8,
        "openclaw.channels.telegram.token",
        &["mapping"],
    );
}

#[test]
fn an_unknown_provider_exits_2_with_the_known_ones() {
    refused(
        "  model:\n    primary: acme/brain-9\n",
        7,
        "openclaw.model.primary",
        &[
            "does not know the provider `acme`",
            "anthropic, openai, openrouter, google",
        ],
    );
    refused(
        "  model:\n    primary: anthropic/claude-opus-4-8\n    fallbacks: [nope]\n",
        8,
        "openclaw.model.fallbacks[0]",
        &["provider/model"],
    );
}

#[test]
fn a_model_missing_from_the_catalog_is_a_warning_naming_it() {
    let (code, stdout, stderr) = validate("  model:\n    primary: openai/gpt-4-imaginary\n");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("warning: openclaw.model.primary: `openai/gpt-4-imaginary` is not in OpenClaw 2026.9.6's model catalog"),
        "{stdout}"
    );
    let (code, stdout, _) = validate("  model:\n    primary: openai/gpt-5.4\n");
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("catalog"), "{stdout}");
    // What the real gateway does at start with an OpenAI model, said.
    assert!(stdout.contains("@openclaw/codex"), "{stdout}");
    let (_, stdout, _) = validate("  model:\n    primary: google/gemini-2.5-pro\n");
    assert!(
        !stdout.contains("codex") && !stdout.contains("catalog"),
        "{stdout}"
    );
}

#[test]
fn a_custom_endpoint_declares_its_models_and_key() {
    let (code, stdout, stderr) = validate(
        "  model:\n    primary: local/llama-3.3-70b\n  providers:\n    local:\n      base_url: https://llm.example.com/v1\n      models: [llama-3.3-70b]\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stdout.contains("catalog"), "{stdout}");
    refused(
        "  model:\n    primary: local/other\n  providers:\n    local:\n      base_url: https://llm.example.com/v1\n      models: [llama-3.3-70b]\n",
        7,
        "openclaw.model.primary",
        &["not among the models declared"],
    );
    let err = refused(
        "  providers:\n    local:\n      base_url: https://me:CANARYpw@llm.example.com/v1\n      models: [m]\n",
        8,
        "openclaw.providers.local.base_url",
        &["credentials"],
    );
    assert!(!err.contains("CANARY"), "{err}");
    refused(
        "  providers:\n    local:\n      base_url: http://llm.example.com/v1\n      models: [m]\n",
        8,
        "openclaw.providers.local.base_url",
        &["https://"],
    );
}

#[test]
fn channel_policies_are_checked() {
    refused(
        "  channels:\n    telegram:\n      dm: allowlist\n",
        8,
        "openclaw.channels.telegram.allow_from",
        &["allowlist", "allow_from"],
    );
    refused(
        "  channels:\n    telegram:\n      dm: everyone\n",
        8,
        "openclaw.channels.telegram.dm",
        &["unknown variant"],
    );
    let (code, stdout, _) = validate("  channels:\n    discord:\n      dm: open\n");
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("warning: channels.discord.dmPolicy: open"),
        "{stdout}"
    );
}

#[test]
fn loosening_the_baseline_is_a_warning_that_names_the_key() {
    let (code, stdout, stderr) = validate(
        "  tools:\n    allow: [group:runtime]\n  settings:\n    tools:\n      exec: {security: full}\n",
    );
    assert_eq!(code, Some(0), "{stderr}");
    for key in [
        "openclaw.tools.allow: `group:runtime`",
        "tools.exec.security",
    ] {
        assert!(stdout.contains(key), "{key}:\n{stdout}");
    }
}

/// `render` shows the merged openclaw.json: typed fields, baseline,
/// settings; the new secrets (Slack's two tokens, a `{secret: KEY}` of the
/// settings) only as SecretRefs, their canaries nowhere in the output.
#[test]
fn render_shows_the_merged_openclaw_json() {
    let home = tempfile::tempdir().expect("tempdir");
    let body = "  channels:\n    slack:\n      groups: {C0123: {}}\n  settings:\n    session:\n      notifyOnCreate: false\n    talk:\n      providers:\n        elevenlabs:\n          apiKey: {secret: elevenlabs_api_key}\n";
    let (path, canaries, _) = support::canary_stack(
        home.path(),
        "gw",
        &format!("{BASE}{body}"),
        &[
            "gateway_token",
            "anthropic_api_key",
            "tailscale_auth_key",
            "slack_bot_token",
            "slack_app_token",
            "elevenlabs_api_key",
        ],
    );
    let out = support::clawprov(home.path())
        .args(["render", "--json", "-s"])
        .arg(&path)
        .output()
        .expect("render");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for c in &canaries {
        assert!(
            !stdout.contains(c.as_str()) && !stderr.contains(c.as_str()),
            "{c} leaked"
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let file = |suffix: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix} rendered"))["content"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let c: serde_json::Value =
        serde_json::from_str(&file(".openclaw/openclaw.json")).expect("openclaw.json is JSON");
    assert_eq!(c["tools"]["profile"], "messaging");
    assert_eq!(c["tools"]["exec"]["security"], "deny");
    assert_eq!(c["session"]["dmScope"], "per-channel-peer");
    assert_eq!(c["session"]["notifyOnCreate"], false);
    assert_eq!(
        c["channels"]["slack"]["channels"]["C0123"]["requireMention"],
        true
    );
    assert_eq!(c["channels"]["slack"]["appToken"]["id"], "SLACK_APP_TOKEN");
    assert_eq!(
        c["talk"]["providers"]["elevenlabs"]["apiKey"]["id"],
        "CLAWPROV_SECRET_ELEVENLABS_API_KEY"
    );
    assert_eq!(c["gateway"]["bind"], "loopback");
    let env = file(".config/openclaw/gateway.env");
    for var in [
        "SLACK_BOT_TOKEN=",
        "SLACK_APP_TOKEN=",
        "CLAWPROV_SECRET_ELEVENLABS_API_KEY=",
    ] {
        assert!(env.contains(var), "{var} in\n{env}");
    }
}

/// A refused stack reaches no API: `up --sim` stops before creating
/// anything (the simulator's state stays empty).
#[test]
fn a_refused_stack_creates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "  settings:\n    gateway:\n      bind: lan\n");
    let out = support::clawprov(dir.path())
        .args(["up", "--sim", "--yes", "-s"])
        .arg(&path)
        .output()
        .expect("up");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("openclaw.settings.gateway.bind"),
        "{stderr}"
    );
    assert!(!stderr.contains("created"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != "gw.yaml" && n != ".config")
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn both_examples_validate() {
    for example in ["examples/personal.yaml", "examples/team.yaml"] {
        let stack = clawprov::stack::load(&support::repo_dir().join(example)).expect(example);
        let g = clawprov::gateway::build(&stack, "/home/openclaw").expect(example);
        assert!(
            g.warnings.iter().all(|w| !w.contains("tools.")),
            "{example}: {:?}",
            g.warnings
        );
    }
}

/// A declared channel whose token is not in the vault stops `plan` and
/// `up` before any request (exit 2, the key named), not the host phase on
/// a server already created.
#[test]
fn a_missing_channel_token_stops_up_before_anything_is_created() {
    let home = tempfile::tempdir().expect("tempdir");
    let body = "  channels:\n    slack: {}\n";
    let (path, _, _) = support::canary_stack(
        home.path(),
        "gw",
        &format!("{BASE}{body}"),
        &[
            "gateway_token",
            "anthropic_api_key",
            "tailscale_auth_key",
            "hcloud_token",
            "slack_app_token",
        ],
    );
    for command in [
        &["plan", "--offline"][..],
        &["up", "--yes", "--offline"][..],
    ] {
        let out = support::clawprov(home.path())
            .arg("-s")
            .arg(&path)
            // Nothing listens there: a request would fail differently.
            .args(["--hcloud-endpoint", "http://127.0.0.1:9/v1"])
            .args(command)
            .output()
            .expect("clawprov");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(
            stderr.contains("the vault has no slack_bot_token (the slack bot's token)"),
            "{command:?}: {stderr}"
        );
    }
}
