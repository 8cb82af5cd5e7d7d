//! A simulator running on its own thread and runtime, for tests that block
//! on external clients (hcloud CLI, python). Stops when dropped.
#![allow(dead_code)]

use std::net::SocketAddr;
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
