//! List and get endpoints over the fixed catalog (locations, datacenters,
//! server types, images), with the same filters, sort and paging as the rest.

use serde_json::{json, Value};

use super::catalog::{Image, Location, ServerType, IMAGES, LOCATIONS, SERVER_TYPES};
use super::error::{ApiError, ApiResult};
use super::labels::Labels;
use super::query::{ListQuery, Listed, Listing, QueryPairs, SortValue};

macro_rules! listed {
    ($t:ty, $name:expr) => {
        impl Listed for $t {
            const SORT_FIELDS: &'static [&'static str] = &["id", "name"];
            fn id(&self) -> i64 {
                self.id
            }
            fn name(&self) -> Option<&str> {
                Some($name(self))
            }
            fn labels(&self) -> Option<&Labels> {
                None
            }
            fn sort_value(&self, field: &str) -> Option<SortValue> {
                Some(match field {
                    "id" => SortValue::Int(self.id),
                    "name" => SortValue::Text($name(self).to_string()),
                    _ => return None,
                })
            }
        }
    };
}

listed!(Location, |l: &Location| l.name);
listed!(ServerType, |t: &ServerType| t.name);
listed!(Image, |i: &Image| i.name);

/// A datacenter is a view of its location.
pub struct Datacenter(&'static Location);

impl Listed for Datacenter {
    const SORT_FIELDS: &'static [&'static str] = &["id", "name"];
    #[allow(clippy::misnamed_getters)] // a datacenter's id is its own, not its location's
    fn id(&self) -> i64 {
        self.0.datacenter_id
    }
    fn name(&self) -> Option<&str> {
        Some(self.0.datacenter)
    }
    fn labels(&self) -> Option<&Labels> {
        None
    }
    fn sort_value(&self, field: &str) -> Option<SortValue> {
        Some(match field {
            "id" => SortValue::Int(self.0.datacenter_id),
            "name" => SortValue::Text(self.0.datacenter.to_string()),
            _ => return None,
        })
    }
}

pub fn list_locations(q: &QueryPairs) -> ApiResult<Listing> {
    let (items, page) = ListQuery::parse(q)?.apply(LOCATIONS.iter())?;
    Ok(Listing {
        extra: Vec::new(),
        key: "locations",
        items: items.iter().map(|l| l.json()).collect(),
        page,
    })
}

pub fn get_location(id: i64) -> ApiResult<Value> {
    LOCATIONS
        .iter()
        .find(|l| l.id == id)
        .map(|l| json!({"location": l.json()}))
        .ok_or_else(|| ApiError::not_found("location"))
}

pub fn list_datacenters(q: &QueryPairs) -> ApiResult<Listing> {
    let dcs: Vec<Datacenter> = LOCATIONS.iter().map(Datacenter).collect();
    let (items, page) = ListQuery::parse(q)?.apply(dcs.iter())?;
    Ok(Listing {
        extra: vec![("recommendation", json!(LOCATIONS[0].datacenter_id))],
        key: "datacenters",
        items: items.iter().map(|d| d.0.datacenter_json()).collect(),
        page,
    })
}

pub fn get_datacenter(id: i64) -> ApiResult<Value> {
    LOCATIONS
        .iter()
        .find(|l| l.datacenter_id == id)
        .map(|l| json!({"datacenter": l.datacenter_json()}))
        .ok_or_else(|| ApiError::not_found("datacenter"))
}

pub fn list_server_types(q: &QueryPairs) -> ApiResult<Listing> {
    let (items, page) = ListQuery::parse(q)?.apply(SERVER_TYPES.iter())?;
    Ok(Listing {
        extra: Vec::new(),
        key: "server_types",
        items: items.iter().map(|t| t.json()).collect(),
        page,
    })
}

pub fn get_server_type(id: i64) -> ApiResult<Value> {
    SERVER_TYPES
        .iter()
        .find(|t| t.id == id)
        .map(|t| json!({"server_type": t.json()}))
        .ok_or_else(|| ApiError::not_found("server_type"))
}

/// `GET /images`: filters `architecture`, `type`, `os_flavor`, `status`.
pub fn list_images(q: &QueryPairs) -> ApiResult<Listing> {
    let archs = q.all("architecture");
    for a in &archs {
        if !["x86", "arm"].contains(a) {
            return Err(ApiError::invalid_field(
                "architecture",
                format!("unknown architecture '{a}'"),
            ));
        }
    }
    let types = q.all("type");
    let flavors = q.all("os_flavor");
    let statuses = q.all("status");
    let (items, page) = ListQuery::parse(q)?.apply(IMAGES.iter().filter(|i| {
        (archs.is_empty() || archs.contains(&i.architecture))
            && (types.is_empty() || types.contains(&"system"))
            && (flavors.is_empty() || flavors.contains(&i.os_flavor))
            && (statuses.is_empty() || statuses.contains(&"available"))
    }))?;
    Ok(Listing {
        extra: Vec::new(),
        key: "images",
        items: items.iter().map(|i| i.json()).collect(),
        page,
    })
}

pub fn get_image(id: i64) -> ApiResult<Value> {
    IMAGES
        .iter()
        .find(|i| i.id == id)
        .map(|i| json!({"image": i.json()}))
        .ok_or_else(|| ApiError::not_found("image"))
}
