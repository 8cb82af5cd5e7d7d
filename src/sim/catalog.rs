//! The fixed catalog: locations, datacenters, server types, images, prices.
//! Close to Hetzner's real one so that a stack valid here is valid there.

use serde_json::{json, Value};

#[derive(Debug)]
pub struct Location {
    pub id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub country: &'static str,
    pub city: &'static str,
    pub latitude: f64,
    pub longitude: f64,
    pub network_zone: &'static str,
    pub datacenter_id: i64,
    pub datacenter: &'static str,
}

pub const LOCATIONS: &[Location] = &[
    Location {
        id: 1,
        name: "fsn1",
        description: "Falkenstein DC Park 1",
        country: "DE",
        city: "Falkenstein",
        latitude: 50.47612,
        longitude: 12.370071,
        network_zone: "eu-central",
        datacenter_id: 4,
        datacenter: "fsn1-dc14",
    },
    Location {
        id: 2,
        name: "nbg1",
        description: "Nuremberg DC Park 1",
        country: "DE",
        city: "Nuremberg",
        latitude: 49.452102,
        longitude: 11.076665,
        network_zone: "eu-central",
        datacenter_id: 2,
        datacenter: "nbg1-dc3",
    },
    Location {
        id: 3,
        name: "hel1",
        description: "Helsinki DC Park 1",
        country: "FI",
        city: "Helsinki",
        latitude: 60.169855,
        longitude: 24.938379,
        network_zone: "eu-central",
        datacenter_id: 3,
        datacenter: "hel1-dc2",
    },
    Location {
        id: 4,
        name: "ash",
        description: "Ashburn, VA",
        country: "US",
        city: "Ashburn, VA",
        latitude: 39.045821,
        longitude: -77.487073,
        network_zone: "us-east",
        datacenter_id: 5,
        datacenter: "ash-dc1",
    },
    Location {
        id: 5,
        name: "hil",
        description: "Hillsboro, OR",
        country: "US",
        city: "Hillsboro, OR",
        latitude: 45.54222,
        longitude: -122.951924,
        network_zone: "us-west",
        datacenter_id: 6,
        datacenter: "hil-dc1",
    },
    Location {
        id: 6,
        name: "sin",
        description: "Singapore",
        country: "SG",
        city: "Singapore",
        latitude: 1.283333,
        longitude: 103.833333,
        network_zone: "ap-southeast",
        datacenter_id: 7,
        datacenter: "sin-dc1",
    },
];

const EU: &[&str] = &["fsn1", "nbg1", "hel1"];
const ALL: &[&str] = &["fsn1", "nbg1", "hel1", "ash", "hil", "sin"];

#[derive(Debug)]
pub struct ServerType {
    pub id: i64,
    pub name: &'static str,
    pub cores: i32,
    pub memory: f64,
    pub disk: i32,
    pub cpu_type: &'static str,
    pub architecture: &'static str,
    pub category: &'static str,
    /// Net monthly price in EUR in the EU locations.
    pub monthly_eur: f64,
    pub locations: &'static [&'static str],
}

macro_rules! st {
    ($id:expr, $name:expr, $cores:expr, $mem:expr, $disk:expr, $cpu:expr, $arch:expr, $cat:expr, $price:expr, $locs:expr) => {
        ServerType {
            id: $id,
            name: $name,
            cores: $cores,
            memory: $mem,
            disk: $disk,
            cpu_type: $cpu,
            architecture: $arch,
            category: $cat,
            monthly_eur: $price,
            locations: $locs,
        }
    };
}

pub const SERVER_TYPES: &[ServerType] = &[
    st!(
        22,
        "cx22",
        2,
        4.0,
        40,
        "shared",
        "x86",
        "cost_optimized",
        3.79,
        EU
    ),
    st!(
        23,
        "cx32",
        4,
        8.0,
        80,
        "shared",
        "x86",
        "cost_optimized",
        6.80,
        EU
    ),
    st!(
        24,
        "cx42",
        8,
        16.0,
        160,
        "shared",
        "x86",
        "cost_optimized",
        16.40,
        EU
    ),
    st!(
        25,
        "cx52",
        16,
        32.0,
        320,
        "shared",
        "x86",
        "cost_optimized",
        32.40,
        EU
    ),
    st!(
        45,
        "cax11",
        2,
        4.0,
        40,
        "shared",
        "arm",
        "cost_optimized",
        3.79,
        EU
    ),
    st!(
        93,
        "cax21",
        4,
        8.0,
        80,
        "shared",
        "arm",
        "cost_optimized",
        6.49,
        EU
    ),
    st!(
        94,
        "cax31",
        8,
        16.0,
        160,
        "shared",
        "arm",
        "cost_optimized",
        12.49,
        EU
    ),
    st!(
        95,
        "cax41",
        16,
        32.0,
        320,
        "shared",
        "arm",
        "cost_optimized",
        24.49,
        EU
    ),
    st!(
        11,
        "cpx11",
        2,
        2.0,
        40,
        "shared",
        "x86",
        "regular_purpose",
        4.35,
        ALL
    ),
    st!(
        12,
        "cpx21",
        3,
        4.0,
        80,
        "shared",
        "x86",
        "regular_purpose",
        7.55,
        ALL
    ),
    st!(
        13,
        "cpx31",
        4,
        8.0,
        160,
        "shared",
        "x86",
        "regular_purpose",
        13.60,
        ALL
    ),
    st!(
        14,
        "cpx41",
        8,
        16.0,
        240,
        "shared",
        "x86",
        "regular_purpose",
        25.20,
        ALL
    ),
    st!(
        15,
        "cpx51",
        16,
        32.0,
        360,
        "shared",
        "x86",
        "regular_purpose",
        54.90,
        ALL
    ),
    st!(
        96,
        "ccx13",
        2,
        8.0,
        80,
        "dedicated",
        "x86",
        "general_purpose",
        12.49,
        ALL
    ),
    st!(
        97,
        "ccx23",
        4,
        16.0,
        160,
        "dedicated",
        "x86",
        "general_purpose",
        24.49,
        ALL
    ),
    st!(
        98,
        "ccx33",
        8,
        32.0,
        240,
        "dedicated",
        "x86",
        "general_purpose",
        48.49,
        ALL
    ),
    st!(
        99,
        "ccx43",
        16,
        64.0,
        360,
        "dedicated",
        "x86",
        "general_purpose",
        96.49,
        ALL
    ),
    st!(
        100,
        "ccx53",
        32,
        128.0,
        600,
        "dedicated",
        "x86",
        "general_purpose",
        192.49,
        ALL
    ),
    st!(
        101,
        "ccx63",
        48,
        192.0,
        960,
        "dedicated",
        "x86",
        "general_purpose",
        288.49,
        ALL
    ),
];

#[derive(Debug)]
pub struct Image {
    pub id: i64,
    pub name: &'static str,
    pub description: &'static str,
    pub os_flavor: &'static str,
    pub os_version: &'static str,
    pub architecture: &'static str,
}

pub const IMAGES: &[Image] = &[
    Image {
        id: 161547269,
        name: "ubuntu-24.04",
        description: "Ubuntu 24.04",
        os_flavor: "ubuntu",
        os_version: "24.04",
        architecture: "x86",
    },
    Image {
        id: 161547270,
        name: "ubuntu-24.04",
        description: "Ubuntu 24.04",
        os_flavor: "ubuntu",
        os_version: "24.04",
        architecture: "arm",
    },
    Image {
        id: 67794396,
        name: "ubuntu-22.04",
        description: "Ubuntu 22.04",
        os_flavor: "ubuntu",
        os_version: "22.04",
        architecture: "x86",
    },
    Image {
        id: 103907373,
        name: "ubuntu-22.04",
        description: "Ubuntu 22.04",
        os_flavor: "ubuntu",
        os_version: "22.04",
        architecture: "arm",
    },
    Image {
        id: 114690387,
        name: "debian-12",
        description: "Debian 12",
        os_flavor: "debian",
        os_version: "12",
        architecture: "x86",
    },
    Image {
        id: 114690389,
        name: "debian-12",
        description: "Debian 12",
        os_flavor: "debian",
        os_version: "12",
        architecture: "arm",
    },
];

pub fn location(name_or_id: &str) -> Option<&'static Location> {
    LOCATIONS
        .iter()
        .find(|l| l.name == name_or_id || l.id.to_string() == name_or_id)
}

pub fn location_by_datacenter(name_or_id: &str) -> Option<&'static Location> {
    LOCATIONS
        .iter()
        .find(|l| l.datacenter == name_or_id || l.datacenter_id.to_string() == name_or_id)
}

pub fn server_type(name_or_id: &str) -> Option<&'static ServerType> {
    SERVER_TYPES
        .iter()
        .find(|t| t.name == name_or_id || t.id.to_string() == name_or_id)
}

/// An image by id, or by name for the server type's architecture (as the
/// real API resolves `"image": "ubuntu-24.04"`).
pub fn image(name_or_id: &str, architecture: Option<&str>) -> Option<&'static Image> {
    IMAGES.iter().find(|i| {
        i.id.to_string() == name_or_id
            || (i.name == name_or_id && architecture.is_none_or(|a| a == i.architecture))
    })
}

fn money(x: f64) -> String {
    format!("{x:.10}")
}

fn price(net: f64) -> Value {
    json!({"net": money(net), "gross": money(net * 1.19)})
}

fn traffic_bytes(loc: &str) -> i64 {
    const TB: i64 = 1 << 40;
    match loc {
        "ash" | "hil" => TB,
        "sin" => TB / 2,
        _ => 20 * TB,
    }
}

fn location_factor(loc: &str) -> f64 {
    match loc {
        "ash" | "hil" => 1.1,
        "sin" => 1.3,
        _ => 1.0,
    }
}

impl ServerType {
    pub fn prices(&self) -> Value {
        let v: Vec<Value> = self
            .locations
            .iter()
            .map(|loc| {
                let monthly = self.monthly_eur * location_factor(loc);
                json!({
                    "location": loc,
                    "price_hourly": price((monthly / 730.0 * 10000.0).ceil() / 10000.0),
                    "price_monthly": price(monthly),
                    "included_traffic": traffic_bytes(loc),
                    "price_per_tb_traffic": price(1.0),
                })
            })
            .collect();
        Value::Array(v)
    }

    pub fn json(&self) -> Value {
        let locations: Vec<Value> = self
            .locations
            .iter()
            .filter_map(|n| location(n))
            .map(|l| json!({"id": l.id, "name": l.name, "deprecation": null, "available": true, "recommended": true}))
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.name.to_uppercase(),
            "category": self.category,
            "cores": self.cores,
            "memory": self.memory,
            "disk": self.disk,
            "deprecated": false,
            "deprecation": null,
            "prices": self.prices(),
            "storage_type": "local",
            "cpu_type": self.cpu_type,
            "architecture": self.architecture,
            "included_traffic": traffic_bytes("fsn1"),
            "locations": locations,
        })
    }
}

impl Location {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "country": self.country,
            "city": self.city,
            "latitude": self.latitude,
            "longitude": self.longitude,
            "network_zone": self.network_zone,
        })
    }

    pub fn datacenter_json(&self) -> Value {
        let ids: Vec<i64> = SERVER_TYPES
            .iter()
            .filter(|t| t.locations.contains(&self.name))
            .map(|t| t.id)
            .collect();
        json!({
            "id": self.datacenter_id,
            "name": self.datacenter,
            "description": format!("{} virtual DC", self.city),
            "location": self.json(),
            "server_types": {"supported": ids, "available": ids, "available_for_migration": ids},
        })
    }
}

impl Image {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "type": "system",
            "status": "available",
            "name": self.name,
            "description": self.description,
            "image_size": null,
            "disk_size": 5,
            "created": "2024-04-25T00:00:00+00:00",
            "created_from": null,
            "bound_to": null,
            "os_flavor": self.os_flavor,
            "os_version": self.os_version,
            "rapid_deploy": true,
            "protection": {"delete": false},
            "deprecated": null,
            "deleted": null,
            "labels": {},
            "architecture": self.architecture,
        })
    }
}

/// `GET /pricing`.
pub fn pricing_json() -> Value {
    let per_location = |monthly: f64| -> Vec<Value> {
        ALL.iter()
            .map(|l| json!({"location": l, "price_hourly": price(monthly / 730.0), "price_monthly": price(monthly)}))
            .collect()
    };
    let server_types: Vec<Value> = SERVER_TYPES
        .iter()
        .map(|t| json!({"id": t.id, "name": t.name, "prices": t.prices()}))
        .collect();
    json!({"pricing": {
        "currency": "EUR",
        "vat_rate": "19.00",
        "image": {"price_per_gb_month": price(0.0119)},
        "floating_ip": {"price_monthly": price(3.57)},
        "floating_ips": [
            {"type": "ipv4", "prices": ALL.iter().map(|l| json!({"location": l, "price_monthly": price(3.57)})).collect::<Vec<_>>()},
            {"type": "ipv6", "prices": ALL.iter().map(|l| json!({"location": l, "price_monthly": price(0.0)})).collect::<Vec<_>>()},
        ],
        "primary_ips": [
            {"type": "ipv4", "prices": per_location(0.50)},
            {"type": "ipv6", "prices": per_location(0.0)},
        ],
        "server_backup": {"percentage": "20.00"},
        "server_types": server_types,
        "load_balancer_types": [],
        "volume": {"price_per_gb_month": price(0.044)},
    }})
}
