//! The common list query: `name`, `label_selector`, `sort`, `page`,
//! `per_page`, plus per-endpoint filters (`id`, `status`, `architecture`...).

use std::cmp::Ordering;
use std::time::SystemTime;

use serde_json::Value;

use super::error::{ApiError, ApiResult};
use super::labels::{Labels, Selector};
use super::pagination::{Page, PageRequest};

/// A raw query string decoded into ordered `(key, value)` pairs.
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn parse(raw: Option<&str>) -> Self {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((percent_decode(k), percent_decode(v)));
        }
        QueryPairs(pairs)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The pairs without paging, re-encoded (for `Link` targets).
    pub fn without_paging(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|(k, _)| k != "page" && k != "per_page")
            .cloned()
            .collect()
    }
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A value a list can be sorted by.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortValue {
    Int(i64),
    Text(String),
    Time(Option<SystemTime>),
}

/// Something a list endpoint returns.
pub trait Listed {
    fn id(&self) -> i64;
    fn name(&self) -> Option<&str>;
    fn labels(&self) -> Option<&Labels>;
    /// Fields `sort=` accepts for this resource.
    const SORT_FIELDS: &'static [&'static str];
    /// The value of sort field `field` (one of [`Listed::SORT_FIELDS`]).
    fn sort_value(&self, field: &str) -> Option<SortValue>;
}

/// [`Listed`] for a project resource with `id`, `name`, `labels` and
/// `created` fields, which the API sorts by `id`, `name` and `created`
/// (ssh keys, firewalls, servers).
macro_rules! listed_resource {
    ($resource:ty) => {
        impl $crate::sim::query::Listed for $resource {
            const SORT_FIELDS: &'static [&'static str] = &["id", "name", "created"];
            fn id(&self) -> i64 {
                self.id
            }
            fn name(&self) -> Option<&str> {
                Some(&self.name)
            }
            fn labels(&self) -> Option<&$crate::sim::labels::Labels> {
                Some(&self.labels)
            }
            fn sort_value(&self, field: &str) -> Option<$crate::sim::query::SortValue> {
                use $crate::sim::query::SortValue;
                Some(match field {
                    "id" => SortValue::Int(self.id),
                    "name" => SortValue::Text(self.name.clone()),
                    "created" => SortValue::Time(Some(self.created)),
                    _ => return None,
                })
            }
        }
    };
}
pub(crate) use listed_resource;

/// A parsed list request.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub name: Option<String>,
    pub selector: Option<Selector>,
    pub sort: Vec<(String, bool)>,
    pub page: PageRequest,
}

impl ListQuery {
    pub fn parse(q: &QueryPairs) -> ApiResult<Self> {
        let selector = match q.get("label_selector") {
            Some(s) => Some(Selector::parse(s)?),
            None => None,
        };
        let mut sort = Vec::new();
        for s in q.all("sort") {
            for item in s.split(',') {
                let (field, desc) = match item.split_once(':') {
                    Some((f, "asc")) => (f, false),
                    Some((f, "desc")) => (f, true),
                    Some(_) => {
                        return Err(ApiError::invalid_field(
                            "sort",
                            format!("invalid sort '{item}'"),
                        ))
                    }
                    None => (item, false),
                };
                sort.push((field.to_string(), desc));
            }
        }
        Ok(ListQuery {
            name: q.get("name").map(str::to_string),
            selector,
            sort,
            page: PageRequest::parse(q.get("page"), q.get("per_page"))?,
        })
    }

    /// Filters, sorts and pages `items`; returns the page's items and the page.
    pub fn apply<'a, T: Listed + 'a>(
        &self,
        items: impl Iterator<Item = &'a T>,
    ) -> ApiResult<(Vec<&'a T>, Page)> {
        let mut v: Vec<&T> = items
            .filter(|i| self.name.as_deref().is_none_or(|n| i.name() == Some(n)))
            .filter(|i| match (&self.selector, i.labels()) {
                (None, _) => true,
                (Some(s), Some(l)) => s.matches(l),
                (Some(s), None) => s.matches(&Labels::new()),
            })
            .collect();
        for (field, _) in &self.sort {
            if !T::SORT_FIELDS.contains(&field.as_str()) {
                return Err(ApiError::invalid_field(
                    "sort",
                    format!("cannot sort by '{field}'"),
                ));
            }
        }
        v.sort_by(|a, b| {
            for (field, desc) in &self.sort {
                let o = a
                    .sort_value(field)
                    .partial_cmp(&b.sort_value(field))
                    .unwrap_or(Ordering::Equal);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            a.id().cmp(&b.id())
        });
        let page = Page::of(self.page, v.len());
        let slice = v[page.range()].to_vec();
        Ok((slice, page))
    }
}

/// A list answer: the collection key, the page's items, and the page.
#[derive(Debug, Clone)]
pub struct Listing {
    pub key: &'static str,
    pub items: Vec<Value>,
    pub page: Page,
    /// Endpoint-specific top-level fields (e.g. `recommendation`).
    pub extra: Vec<(&'static str, Value)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_repeated_and_encoded_pairs() {
        let q = QueryPairs::parse(Some(
            "id=1&id=2&label_selector=env%3Dprod%2Ctier+in+(a%2Cb)",
        ));
        assert_eq!(q.all("id"), ["1", "2"]);
        assert_eq!(q.get("label_selector"), Some("env=prod,tier in (a,b)"));
        assert_eq!(percent_encode("a=b c"), "a%3Db%20c");
    }
}
