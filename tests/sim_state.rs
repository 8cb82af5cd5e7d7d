//! The simulator's state model, poked directly (no HTTP): uniqueness,
//! protection, locks, firewall-in-use, boot progression and action progress,
//! all driven by a manual clock so nothing sleeps or races.

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use clawprov::sim::query::QueryPairs;
use clawprov::sim::{Clock, Sim, SimConfig, World};

mod sim_common;

fn sim() -> (Sim, Clock) {
    let clock = Clock::manual(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let sim = Sim::new(SimConfig {
        action_duration: Duration::from_secs(10),
        clock: clock.clone(),
        ..SimConfig::default()
    });
    (sim, clock)
}

fn server_body(name: &str) -> Value {
    json!({"name": name, "server_type": "cx22", "image": "ubuntu-24.04", "location": "fsn1"})
}

fn create_server(w: &mut World, name: &str) -> i64 {
    w.create_server(&server_body(name)).expect("create")["server"]["id"]
        .as_i64()
        .expect("id")
}

fn status(w: &mut World, id: i64) -> String {
    w.get_server(id).expect("server")["server"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn ssh_keys_are_unique_by_name_and_fingerprint() {
    let (sim, _) = sim();
    sim.with(|w| {
        w.create_ssh_key(&json!({"name": "a", "public_key": sim_common::fake_ed25519(1)}))
            .expect("first");
        let same_name = w
            .create_ssh_key(&json!({"name": "a", "public_key": sim_common::fake_ed25519(2)}))
            .unwrap_err();
        assert_eq!(
            (same_name.code, same_name.status),
            ("uniqueness_error", 409)
        );
        assert_eq!(same_name.details["fields"][0]["name"], "name");
        let same_key = w
            .create_ssh_key(&json!({"name": "b", "public_key": sim_common::fake_ed25519(1)}))
            .unwrap_err();
        assert_eq!(same_key.details["fields"][0]["name"], "public_key");
        let bad = w
            .create_ssh_key(&json!({"name": "c", "public_key": "ssh-rsa AAAA"}))
            .unwrap_err();
        assert_eq!(bad.code, "invalid_input");
    });
}

#[test]
fn server_boots_through_initializing_starting_running() {
    let (sim, clock) = sim();
    let id = sim.with(|w| create_server(w, "s1"));
    assert_eq!(sim.with(|w| status(w, id)), "initializing");
    clock.advance(Duration::from_secs(5));
    let action = sim
        .with(|w| {
            w.list_actions(
                &QueryPairs::parse(Some("sort=id")),
                Some("server"),
                Some(id),
            )
        })
        .expect("actions");
    assert_eq!(action.items[0]["progress"], 50);
    assert_eq!(action.items[0]["status"], "running");
    assert!(action.items[0]["finished"].is_null());
    clock.advance(Duration::from_secs(5));
    assert_eq!(sim.with(|w| status(w, id)), "starting");
    clock.advance(Duration::from_secs(10));
    assert_eq!(sim.with(|w| status(w, id)), "running");
    let done = sim
        .with(|w| w.get_action(action.items[0]["id"].as_i64().unwrap_or(0)))
        .expect("action");
    assert_eq!(done["action"]["status"], "success");
    assert_eq!(done["action"]["progress"], 100);
}

#[test]
fn a_running_action_locks_the_server() {
    let (sim, clock) = sim();
    let id = sim.with(|w| create_server(w, "s1"));
    let e = sim.with(|w| w.delete_server(id)).unwrap_err();
    assert_eq!((e.code, e.status), ("locked", 423));
    let e = sim
        .with(|w| w.change_server_protection(id, &json!({"delete": true})))
        .unwrap_err();
    assert_eq!(e.code, "locked");
    clock.advance(Duration::from_secs(20));
    assert_eq!(
        sim.with(|w| w.get_server(id)).expect("get")["server"]["locked"],
        false
    );
    sim.with(|w| w.delete_server(id)).expect("unlocked now");
}

#[test]
fn delete_protection_is_enforced() {
    let (sim, clock) = sim();
    let id = sim.with(|w| create_server(w, "s1"));
    clock.advance(Duration::from_secs(20));
    sim.with(|w| w.change_server_protection(id, &json!({"delete": true, "rebuild": true})))
        .expect("protect");
    clock.advance(Duration::from_secs(10));
    let e = sim.with(|w| w.delete_server(id)).unwrap_err();
    assert_eq!((e.code, e.status), ("protected", 423));
    sim.with(|w| w.change_server_protection(id, &json!({"delete": false})))
        .expect("unprotect");
    clock.advance(Duration::from_secs(10));
    sim.with(|w| w.delete_server(id)).expect("delete");
    assert_eq!(sim.with(|w| status(w, id)), "deleting");
    clock.advance(Duration::from_secs(10));
    assert_eq!(
        sim.with(|w| w.get_server(id)).unwrap_err().code,
        "not_found"
    );
}

#[test]
fn an_applied_firewall_is_in_use_until_its_server_is_gone() {
    let (sim, clock) = sim();
    sim.with(|w| {
        let fw = w
            .create_firewall(&json!({"name": "fw", "rules": []}))
            .expect("fw")["firewall"]["id"]
            .as_i64()
            .unwrap_or(0);
        let mut body = server_body("s1");
        body["firewalls"] = json!([{"firewall": fw}]);
        let srv = w.create_server(&body).expect("server")["server"].clone();
        assert_eq!(srv["public_net"]["firewalls"][0]["id"], fw);
        let e = w.delete_firewall(fw).unwrap_err();
        assert_eq!((e.code, e.status), ("resource_in_use", 409));
        let again = json!({"apply_to": [{"type": "server", "server": {"id": srv["id"]}}]});
        assert_eq!(
            w.apply_firewall(fw, &again).unwrap_err().code,
            "firewall_already_applied"
        );
        clock.advance(Duration::from_secs(20));
        w.delete_server(srv["id"].as_i64().unwrap_or(0))
            .expect("delete server");
        w.delete_firewall(fw)
            .expect("detached by the server delete");
    });
}

#[test]
fn firewall_rules_are_validated() {
    let (sim, _) = sim();
    let cases = [
        json!({"direction": "in", "protocol": "tcp", "source_ips": ["0.0.0.0/0"]}),
        json!({"direction": "in", "protocol": "tcp", "port": "0", "source_ips": ["0.0.0.0/0"]}),
        json!({"direction": "in", "protocol": "tcp", "port": "90-80", "source_ips": ["0.0.0.0/0"]}),
        json!({"direction": "in", "protocol": "icmp", "port": "80", "source_ips": ["0.0.0.0/0"]}),
        json!({"direction": "in", "protocol": "tcp", "port": "22", "source_ips": []}),
        json!({"direction": "in", "protocol": "tcp", "port": "22", "source_ips": ["10.0.0.1"]}),
        json!({"direction": "out", "protocol": "udp", "port": "53", "source_ips": ["0.0.0.0/0"]}),
        json!({"direction": "sideways", "protocol": "tcp", "port": "22", "source_ips": ["0.0.0.0/0"]}),
        json!({"direction": "in", "protocol": "sctp", "source_ips": ["0.0.0.0/0"]}),
    ];
    sim.with(|w| {
        for (i, rule) in cases.iter().enumerate() {
            let e = w
                .create_firewall(&json!({"name": format!("fw{i}"), "rules": [rule]}))
                .expect_err(&rule.to_string());
            assert_eq!(e.code, "invalid_input", "{rule}");
            assert_eq!(e.details["fields"][0]["name"], "rules");
        }
        let ok = json!({"name": "ok", "rules": [
            {"direction": "in", "protocol": "tcp", "port": "80-85", "source_ips": ["::/0"]},
            {"direction": "out", "protocol": "icmp", "destination_ips": ["0.0.0.0/0"]}]});
        w.create_firewall(&ok).expect("valid rules");
    });
}

#[test]
fn server_create_is_validated_against_the_catalog() {
    let (sim, _) = sim();
    sim.with(|w| {
        let with = |k: &str, v: Value| {
            let mut b = server_body("x");
            b[k] = v;
            b
        };
        for (body, field) in [
            (with("server_type", json!("cx99")), "server_type"),
            (with("image", json!("windows-11")), "image"),
            (with("location", json!("ash")), "server_type"),
            (with("location", json!("mars1")), "location"),
            (with("user_data", json!("x".repeat(32 * 1024 + 1))), "user_data"),
            (with("labels", json!({"hetzner.cloud/x": "1"})), "labels"),
            (with("name", json!("not a hostname")), "name"),
            (with("ssh_keys", json!(["missing"])), "ssh_keys"),
            (with("firewalls", json!([{"firewall": 404}])), "firewalls"),
        ] {
            let e = w.create_server(&body).expect_err(field);
            assert_eq!(e.code, "invalid_input", "{field}");
            assert_eq!(e.details["fields"][0]["name"], field);
        }
        w.create_server(&with("user_data", json!("x".repeat(32 * 1024)))).expect("exactly 32 KiB is fine");
        let arm = w
            .create_server(&json!({"name": "arm", "server_type": "cax21", "image": "ubuntu-24.04", "location": "nbg1",
                                   "public_net": {"enable_ipv4": false, "enable_ipv6": true}}))
            .expect("arm");
        assert_eq!(arm["server"]["image"]["architecture"], "arm");
        assert!(arm["server"]["public_net"]["ipv4"].is_null());
        assert!(arm["root_password"].is_string(), "no ssh key: a root password is generated");
        assert_eq!(w.create_server(&server_body("arm")).unwrap_err().code, "uniqueness_error");
    });
}

#[test]
fn lists_filter_sort_and_page() {
    let (sim, _) = sim();
    sim.with(|w| {
        for i in 0..7 {
            let env = if i < 3 { "prod" } else { "dev" };
            w.create_ssh_key(
                &json!({"name": format!("k{i}"), "public_key": sim_common::fake_ed25519(i),
                                     "labels": {"env": env}}),
            )
            .expect("key");
        }
        let l = w
            .list_ssh_keys(&QueryPairs::parse(Some(
                "label_selector=env%3Dprod&sort=name:desc",
            )))
            .expect("list");
        let names: Vec<&str> = l.items.iter().filter_map(|k| k["name"].as_str()).collect();
        assert_eq!(names, ["k2", "k1", "k0"]);
        let l = w
            .list_ssh_keys(&QueryPairs::parse(Some("per_page=3&page=3")))
            .expect("list");
        assert_eq!(l.items.len(), 1);
        assert_eq!(l.page.last_page, 3);
        let l = w
            .list_ssh_keys(&QueryPairs::parse(Some("name=k4")))
            .expect("list");
        assert_eq!(l.items.len(), 1);
        let e = w
            .list_ssh_keys(&QueryPairs::parse(Some("sort=color")))
            .unwrap_err();
        assert_eq!(e.details["fields"][0]["name"], "sort");
        let e = w
            .list_ssh_keys(&QueryPairs::parse(Some("label_selector=env%20in%20(a")))
            .unwrap_err();
        assert_eq!(e.details["fields"][0]["name"], "label_selector");
    });
}

#[test]
fn injected_action_errors_are_reported_on_the_action() {
    let clock = Clock::manual(SystemTime::UNIX_EPOCH);
    let sim = Sim::new(SimConfig {
        clock: clock.clone(),
        action_duration: Duration::from_secs(1),
        faults: clawprov::sim::Faults {
            action_error_rate: 1.0,
            ..Default::default()
        },
        ..SimConfig::default()
    });
    let created = sim
        .with(|w| w.create_server(&server_body("s")))
        .expect("create");
    clock.advance(Duration::from_secs(5));
    let id = created["action"]["id"].as_i64().unwrap_or(0);
    let a = sim.with(|w| w.get_action(id)).expect("action");
    assert_eq!(a["action"]["status"], "error");
    assert!(a["action"]["error"]["code"].is_string());
    let sid = created["server"]["id"].as_i64().unwrap_or(0);
    assert_eq!(sim.with(|w| status(w, sid)), "off");
}

#[test]
fn firewalls_follow_label_selector_targets() {
    let (sim, _) = sim();
    sim.with(|w| {
        let fw = w
            .create_firewall(&json!({"name": "fw", "apply_to": [
                {"type": "label_selector", "label_selector": {"selector": "role=gw"}}]}))
            .expect("fw")["firewall"]["id"]
            .as_i64()
            .unwrap_or(0);
        let mut body = server_body("gw1");
        body["labels"] = json!({"role": "gw"});
        let gw = w.create_server(&body).expect("gw")["server"].clone();
        assert_eq!(gw["public_net"]["firewalls"][0]["id"], fw);
        let other = w.create_server(&server_body("db1")).expect("db")["server"].clone();
        assert_eq!(other["public_net"]["firewalls"], json!([]));
        let f = w.get_firewall(fw).expect("fw")["firewall"].clone();
        assert_eq!(f["applied_to"][0]["applied_to_resources"], json!([{"type": "server", "server": {"id": gw["id"]}}]));
        let bad = json!({"apply_to": [{"type": "label_selector", "label_selector": {"selector": "role in (gw"}}]});
        assert_eq!(w.apply_firewall(fw, &bad).unwrap_err().code, "invalid_input");
        let remove = json!({"remove_from": [{"type": "label_selector", "label_selector": {"selector": "role=gw"}}]});
        w.remove_firewall(fw, &remove).expect("removed");
        assert_eq!(w.remove_firewall(fw, &remove).unwrap_err().code, "firewall_already_removed");
        w.delete_firewall(fw).expect("no longer in use");
    });
}
