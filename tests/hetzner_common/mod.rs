//! Shared setup for the Hetzner client tests: a simulator on a free port and
//! a client tuned to retry fast (same logic, shorter waits).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use clawprov::hetzner::{
    Backoff, ClientOptions, Direction, FirewallRule, Hetzner, Protocol, RetryPolicy, ServerSpec,
};
use clawprov::secrets::Secret;
use clawprov::sim::{serve, SimConfig, SimServer, DEFAULT_TOKEN};

/// The fault budget the tests assert against.
pub const MAX_ATTEMPTS: u32 = 10;
pub const MAX_RATE_LIMITED: u32 = 60;

pub fn fast_options(seed: u64) -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            max_rate_limited: MAX_RATE_LIMITED,
            backoff: Backoff {
                base: Duration::from_millis(5),
                cap: Duration::from_millis(80),
            },
        },
        action_poll: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(100),
        },
        action_deadline: Duration::from_secs(30),
        request_timeout: Duration::from_secs(10),
        jitter_seed: Some(seed),
    }
}

pub async fn start(config: SimConfig) -> SimServer {
    serve(config, "127.0.0.1:0".parse().expect("address"))
        .await
        .expect("start the simulator")
}

pub fn client(server: &SimServer, seed: u64) -> Hetzner {
    Hetzner::with_options(
        Some(server.endpoint()),
        Secret::new(DEFAULT_TOKEN),
        fast_options(seed),
    )
    .expect("client")
}

pub fn labels(stack: &str) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("clawprov/stack".to_string(), stack.to_string());
    l.insert("clawprov/managed".to_string(), "true".to_string());
    l
}

/// A fresh ed25519 public key in OpenSSH form.
pub fn public_key() -> String {
    let key = ssh_key::PrivateKey::random(&mut rand::rngs::OsRng, ssh_key::Algorithm::Ed25519)
        .expect("generate key");
    key.public_key().to_openssh().expect("encode key")
}

/// Outbound-only rules: the firewall has zero inbound rules.
pub fn outbound_rules() -> Vec<FirewallRule> {
    vec![FirewallRule {
        direction: Direction::Out,
        protocol: Protocol::Tcp,
        port: Some("443".into()),
        source_ips: vec![],
        destination_ips: vec!["0.0.0.0/0".into(), "::/0".into()],
        description: None,
    }]
}

/// A small server with the given key, firewall and labels.
pub fn server_spec<'a>(
    name: &'a str,
    ssh_key_ids: Vec<i64>,
    firewall_ids: Vec<i64>,
    labels: BTreeMap<String, String>,
) -> ServerSpec<'a> {
    ServerSpec {
        name,
        server_type: "cx22",
        location: "fsn1",
        image: "ubuntu-24.04",
        user_data: "#cloud-config\n{}\n",
        ssh_key_ids,
        firewall_ids,
        labels,
        public_ipv4: true,
        public_ipv6: true,
    }
}
