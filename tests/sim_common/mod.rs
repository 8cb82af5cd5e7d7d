//! A simulator running on its own thread and runtime, for tests that block
//! on external clients (hcloud CLI, python). Stops when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use clawprov::sim::{self, Sim, SimConfig};

pub const READONLY_TOKEN: &str = "readonlyreadonlyreadonlyreadonlyreadonlyreadonlyreadonlyreadonly";

pub struct RunningSim {
    pub endpoint: String,
    pub sim: Sim,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl RunningSim {
    pub fn start(config: SimConfig) -> Self {
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test runtime");
            rt.block_on(async move {
                let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
                let server = sim::serve(config, addr).await.expect("simulator binds");
                ready_tx
                    .send((server.endpoint(), server.sim.clone()))
                    .expect("test waits");
                let _ = stop_rx.await;
                server.shutdown().await;
            });
        });
        let (endpoint, sim) = ready_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("simulator started");
        RunningSim {
            endpoint,
            sim,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A config for contract tests: fast actions, a read-only token too.
pub fn contract_config() -> SimConfig {
    SimConfig {
        readonly_tokens: vec![READONLY_TOKEN.to_string()],
        action_duration: Duration::from_millis(30),
        ..SimConfig::default()
    }
}

/// A well-formed `ssh-ed25519` public key, unique per `i`.
pub fn fake_ed25519(i: u32) -> String {
    use base64::Engine;
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    for _ in 0..8 {
        blob.extend_from_slice(&i.to_be_bytes());
    }
    format!(
        "ssh-ed25519 {} key{i}",
        base64::engine::general_purpose::STANDARD.encode(blob)
    )
}

/// The python of the venv `.ci/sim-contract-setup.sh` makes, once it is
/// known to import `module`. Panics (never skips) saying how to make it.
pub fn contract_python(module: &str) -> PathBuf {
    let venv = std::env::var_os("CLAWPROV_CONTRACT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join("contract-venv")
        });
    let python = venv.join("bin").join("python");
    let fix = "run `sh .ci/sim-contract-setup.sh` (it is what .ci/run does) and re-run this test";
    assert!(
        python.is_file(),
        "the contract venv is missing at {}: {fix}",
        venv.display()
    );
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .current_dir(std::env::temp_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        imports,
        "the contract venv at {} cannot import {module}: {fix}",
        venv.display()
    );
    python
}

/// A `clawprov sim serve` process, killed when dropped (even when an
/// assertion fails).
pub struct Served(pub std::process::Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `cmd` (a `clawprov --json sim serve ...`) and reads the one JSON
/// object it prints first.
pub fn serve_hello(mut cmd: Command) -> (Served, serde_json::Value) {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("clawprov starts");
    let mut served = Served(child);
    let stdout = served.0.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let hello = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    (served, hello)
}
