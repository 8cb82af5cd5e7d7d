//! Contract: the official hcloud-python library (pinned in
//! .ci/sim-contract-setup.sh) runs tests/contract/hcloud_python_cycle.py
//! against the simulator: create, list with selectors over 120+ items,
//! describe, protect, delete, and the documented errors.

mod sim_common;
mod support;

use std::path::PathBuf;
use std::process::Command;

use sim_common::{contract_config, RunningSim, READONLY_TOKEN};

fn venv_python() -> PathBuf {
    let venv = std::env::var_os("CLAWPROV_CONTRACT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_dir().join("target").join("contract-venv"));
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "the hcloud-python venv is missing at {}: run `sh .ci/sim-contract-setup.sh` \
         (it is what .ci/run does) and re-run this test",
        venv.display()
    );
    python
}

#[test]
fn hcloud_python_full_cycle() {
    let python = venv_python();
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
