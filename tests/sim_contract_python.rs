//! Contract: the official hcloud-python library (pinned in
//! .ci/sim-contract-setup.sh) runs tests/contract/hcloud_python_cycle.py
//! against the simulator: create, list with selectors over 120+ items,
//! describe, protect, delete, and the documented errors.

mod sim_common;
mod support;

use std::process::Command;

use sim_common::{contract_config, contract_python, RunningSim, READONLY_TOKEN};

#[test]
fn hcloud_python_full_cycle() {
    let python = contract_python("hcloud");
    let running = RunningSim::start(contract_config());
    let token = running.sim.world().config.tokens[0].clone();
    let out = Command::new(python)
        .arg(support::repo_dir().join("tests/contract/hcloud_python_cycle.py"))
        .env("SIM_ENDPOINT", &running.endpoint)
        .env("SIM_TOKEN", token)
        .env("SIM_READONLY_TOKEN", READONLY_TOKEN)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("contract ok"),
        "hcloud-python contract failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The library really talked to the simulator, across pages.
    let log = running.sim.request_log();
    assert!(
        log.iter().any(|r| r.path.contains("page=3")),
        "no third page requested"
    );
    assert!(
        log.iter().any(|r| r.status == 423),
        "no protected/locked answer seen"
    );
}
