//! Contract: the hcloud crate's generated models deserialize every response
//! the simulator gives, for every endpoint it implements. Each call below
//! goes through `hcloud::apis::*` exactly as the client layer will.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use hcloud::apis::configuration::Configuration;
use hcloud::apis::{
    actions_api, datacenters_api, firewalls_api, images_api, locations_api, pricing_api,
    server_types_api, servers_api, ssh_keys_api,
};
use hcloud::models;

use clawprov::sim::{self, SimConfig};

mod sim_common;

fn config(endpoint: &str, token: &str) -> Configuration {
    let mut cfg = Configuration::new();
    cfg.bearer_access_token = Some(token.to_string());
    cfg.base_path_mapping
        .insert("https://api.hetzner.cloud/v1".into(), endpoint.to_string());
    cfg
}

fn labels(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
    Some(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

/// The HTTP status of a failed call, so tests can check documented errors.
fn status_of<T: std::fmt::Debug>(e: hcloud::apis::Error<T>) -> u16 {
    match e {
        hcloud::apis::Error::ResponseError(r) => r.status.as_u16(),
        other => panic!("expected an API error response, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hcloud_crate_models_deserialize_every_response() {
    let server = sim::serve(
        SimConfig {
            action_duration: Duration::from_millis(20),
            ..SimConfig::default()
        },
        SocketAddr::from(([127, 0, 0, 1], 0)),
    )
    .await
    .expect("simulator binds");
    let token = server.sim.world().config.tokens[0].clone();
    let cfg = config(&server.endpoint(), &token);

    // catalog
    let locs = locations_api::list_locations(&cfg, Default::default())
        .await
        .expect("locations");
    assert_eq!(locs.locations.len(), 6);
    locations_api::get_location(
        &cfg,
        locations_api::GetLocationParams {
            id: locs.locations[0].id,
        },
    )
    .await
    .expect("location");
    let dcs = datacenters_api::list_data_centers(&cfg, Default::default())
        .await
        .expect("datacenters");
    datacenters_api::get_data_center(
        &cfg,
        datacenters_api::GetDataCenterParams {
            id: dcs.datacenters[0].id,
        },
    )
    .await
    .expect("datacenter");
    let types = server_types_api::list_server_types(
        &cfg,
        server_types_api::ListServerTypesParams {
            per_page: Some(50),
            ..Default::default()
        },
    )
    .await
    .expect("server types");
    assert!(types.server_types.iter().any(|t| t.name == "cax11"));
    server_types_api::get_server_type(
        &cfg,
        server_types_api::GetServerTypeParams {
            id: types.server_types[0].id,
        },
    )
    .await
    .expect("server type");
    let images = images_api::list_images(
        &cfg,
        images_api::ListImagesParams {
            name: Some("ubuntu-24.04".into()),
            architecture: Some("arm".into()),
            ..Default::default()
        },
    )
    .await
    .expect("images");
    assert_eq!(images.images.len(), 1);
    assert_eq!(images.images[0].architecture, models::Architecture::Arm);
    images_api::get_image(
        &cfg,
        images_api::GetImageParams {
            id: images.images[0].id,
        },
    )
    .await
    .expect("image");
    let prices = pricing_api::list_prices(&cfg).await.expect("pricing");
    assert!(prices
        .pricing
        .server_types
        .iter()
        .any(|t| t.name == "ccx63"));

    // ssh keys
    let mut req = models::CreateSshKeyRequest::new("k1".into(), sim_common::fake_ed25519(1));
    req.labels = labels(&[("stack", "demo")]);
    let key = ssh_keys_api::create_ssh_key(
        &cfg,
        ssh_keys_api::CreateSshKeyParams {
            create_ssh_key_request: req,
        },
    )
    .await
    .expect("create key")
    .ssh_key;
    ssh_keys_api::get_ssh_key(&cfg, ssh_keys_api::GetSshKeyParams { id: key.id })
        .await
        .expect("get key");
    let mut rep = models::ReplaceSshKeyRequest::new();
    rep.labels = labels(&[("stack", "demo"), ("x", "y")]);
    ssh_keys_api::replace_ssh_key(
        &cfg,
        ssh_keys_api::ReplaceSshKeyParams {
            id: key.id,
            replace_ssh_key_request: rep,
        },
    )
    .await
    .expect("replace key");
    let listed = ssh_keys_api::list_ssh_keys(
        &cfg,
        ssh_keys_api::ListSshKeysParams {
            label_selector: Some("stack=demo,x".into()),
            ..Default::default()
        },
    )
    .await
    .expect("list keys");
    assert_eq!(listed.ssh_keys.len(), 1);
    assert_eq!(listed.meta.pagination.total_entries, Some(1));

    // firewalls
    let mut rule = models::Rule::new(models::rule::Direction::In, models::rule::Protocol::Tcp);
    rule.port = Some(Some("22".into()));
    rule.source_ips = Some(vec!["100.64.0.0/10".into()]);
    let mut req = models::CreateFirewallRequest::new("fw".into());
    req.rules = Some(vec![rule]);
    req.labels = labels(&[("stack", "demo")]);
    let created = firewalls_api::create_firewall(
        &cfg,
        firewalls_api::CreateFirewallParams {
            create_firewall_request: req,
        },
    )
    .await
    .expect("create firewall");
    let fw = created.firewall.expect("firewall in response");
    firewalls_api::get_firewall(&cfg, firewalls_api::GetFirewallParams { id: fw.id })
        .await
        .expect("get fw");
    firewalls_api::list_firewalls(&cfg, Default::default())
        .await
        .expect("list fw");
    let mut rep = models::ReplaceFirewallRequest::new();
    rep.name = Some("fw-renamed".into());
    firewalls_api::replace_firewall(
        &cfg,
        firewalls_api::ReplaceFirewallParams {
            id: fw.id,
            replace_firewall_request: rep,
        },
    )
    .await
    .expect("replace fw");
    firewalls_api::set_rules(
        &cfg,
        firewalls_api::SetRulesParams {
            id: fw.id,
            set_rules_request: models::SetRulesRequest::new(vec![]),
        },
    )
    .await
    .expect("set rules");

    // servers
    let mut req =
        models::CreateServerRequest::new("ubuntu-24.04".into(), "gw".into(), "cx22".into());
    req.location = Some("hel1".into());
    req.ssh_keys = Some(vec![key.id.to_string()]);
    req.firewalls = Some(vec![models::CreateServerRequestFirewalls::new(fw.id)]);
    req.labels = labels(&[("stack", "demo")]);
    req.user_data = Some("#cloud-config\n".into());
    let created = servers_api::create_server(
        &cfg,
        servers_api::CreateServerParams {
            create_server_request: req,
        },
    )
    .await
    .expect("create server");
    let srv = created.server;
    assert_eq!(srv.status, models::server::Status::Initializing);
    assert_eq!(created.next_actions.len(), 1);
    let mut rep = models::ReplaceServerRequest::new();
    rep.labels = labels(&[("stack", "demo"), ("role", "gw")]);
    servers_api::replace_server(
        &cfg,
        servers_api::ReplaceServerParams {
            id: srv.id,
            replace_server_request: rep,
        },
    )
    .await
    .expect("replace server");
    servers_api::list_servers(
        &cfg,
        servers_api::ListServersParams {
            label_selector: Some("role in (gw)".into()),
            ..Default::default()
        },
    )
    .await
    .expect("list servers");

    // actions, every way the API offers to read them
    let ids = vec![created.action.id, created.next_actions[0].id];
    actions_api::get_action(&cfg, actions_api::GetActionParams { id: ids[0] })
        .await
        .expect("get action");
    let multi = actions_api::get_multiple_actions(
        &cfg,
        actions_api::GetMultipleActionsParams { id: ids.clone() },
    )
    .await
    .expect("get actions");
    assert_eq!(multi.actions.len(), 2);
    servers_api::list_actions_for_server(
        &cfg,
        servers_api::ListActionsForServerParams {
            id: srv.id,
            ..Default::default()
        },
    )
    .await
    .expect("server actions");
    servers_api::list_server_actions(&cfg, Default::default())
        .await
        .expect("all server actions");
    servers_api::get_server_action(&cfg, servers_api::GetServerActionParams { id: ids[0] })
        .await
        .expect("server action");
    servers_api::get_action_for_server(
        &cfg,
        servers_api::GetActionForServerParams {
            id: srv.id,
            action_id: ids[0],
        },
    )
    .await
    .expect("action for server");
    firewalls_api::list_actions_for_firewall(
        &cfg,
        firewalls_api::ListActionsForFirewallParams {
            id: fw.id,
            ..Default::default()
        },
    )
    .await
    .expect("firewall actions");
    let fw_actions = firewalls_api::list_firewall_actions(&cfg, Default::default())
        .await
        .expect("all fw actions");
    let fa = fw_actions.actions[0].id;
    firewalls_api::get_firewall_action(&cfg, firewalls_api::GetFirewallActionParams { id: fa })
        .await
        .expect("fw action");
    firewalls_api::get_action_for_firewall(
        &cfg,
        firewalls_api::GetActionForFirewallParams {
            id: fw.id,
            action_id: fa,
        },
    )
    .await
    .expect("action for fw");

    // wait for boot, then the rest of the lifecycle
    let mut running = None;
    for _ in 0..100 {
        let s = servers_api::get_server(&cfg, servers_api::GetServerParams { id: srv.id })
            .await
            .expect("get server")
            .server;
        if s.as_ref()
            .is_some_and(|s| s.status == models::server::Status::Running)
        {
            running = s;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = running.expect("server reached running");
    assert!(s.public_net.ipv4.is_some() && s.public_net.ipv6.is_some());
    assert_eq!(s.public_net.firewalls.as_ref().map(Vec::len), Some(1));

    let mut prot = models::ChangeServerProtectionRequest::new();
    prot.delete = Some(true);
    prot.rebuild = Some(true);
    servers_api::change_server_protection(
        &cfg,
        servers_api::ChangeServerProtectionParams {
            id: srv.id,
            change_server_protection_request: prot,
        },
    )
    .await
    .expect("protect");
    tokio::time::sleep(Duration::from_millis(40)).await;
    let e = servers_api::delete_server(&cfg, servers_api::DeleteServerParams { id: srv.id })
        .await
        .expect_err("protected server");
    assert_eq!(status_of(e), 423);
    let mut prot = models::ChangeServerProtectionRequest::new();
    prot.delete = Some(false);
    prot.rebuild = Some(false);
    servers_api::change_server_protection(
        &cfg,
        servers_api::ChangeServerProtectionParams {
            id: srv.id,
            change_server_protection_request: prot,
        },
    )
    .await
    .expect("unprotect");
    tokio::time::sleep(Duration::from_millis(40)).await;
    servers_api::power_off_server(&cfg, servers_api::PowerOffServerParams { id: srv.id })
        .await
        .expect("poweroff");
    tokio::time::sleep(Duration::from_millis(40)).await;

    let target = |id: i64| {
        let mut r = models::FirewallResource::new(models::firewall_resource::Type::Server);
        r.server = Some(Box::new(models::ResourceId::new(id)));
        r
    };
    let e = firewalls_api::delete_firewall(&cfg, firewalls_api::DeleteFirewallParams { id: fw.id })
        .await
        .expect_err("applied firewall");
    assert_eq!(status_of(e), 409);
    firewalls_api::remove_from_resources(
        &cfg,
        firewalls_api::RemoveFromResourcesParams {
            id: fw.id,
            remove_from_resources_request: models::RemoveFromResourcesRequest::new(vec![target(
                srv.id,
            )]),
        },
    )
    .await
    .expect("remove fw");
    firewalls_api::apply_to_resources(
        &cfg,
        firewalls_api::ApplyToResourcesParams {
            id: fw.id,
            apply_to_resources_request: models::ApplyToResourcesRequest::new(vec![target(srv.id)]),
        },
    )
    .await
    .expect("apply fw");
    tokio::time::sleep(Duration::from_millis(40)).await;

    let deleted = servers_api::delete_server(&cfg, servers_api::DeleteServerParams { id: srv.id })
        .await
        .expect("delete server");
    assert!(deleted.action.is_some());
    firewalls_api::delete_firewall(&cfg, firewalls_api::DeleteFirewallParams { id: fw.id })
        .await
        .expect("firewall detached by the server delete");
    ssh_keys_api::delete_ssh_key(&cfg, ssh_keys_api::DeleteSshKeyParams { id: key.id })
        .await
        .expect("delete key");

    // every answer above was a 2xx or one of the documented errors
    let log = server.request_log();
    assert!(
        log.iter()
            .all(|r| r.status < 300 || [409, 423].contains(&r.status)),
        "{log:#?}"
    );
    server.shutdown().await;
}
