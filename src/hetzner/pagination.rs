//! Lists that follow every page, and label selectors.
//!
//! A lookup that reads only the first page misses resources once a project
//! holds more than 25 of them (a mistake hetzner-k3s made); every list here
//! asks for 50 per page (the maximum) and follows `next_page` to the end.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::client::{Call, Hetzner};
use super::error::HetznerError;

pub const PER_PAGE: u32 = 50;

/// Upper bound on pages, so a server that always says "next" cannot keep a
/// list going forever (50 * 1000 = 50,000 resources).
const MAX_PAGES: i64 = 1000;

/// A list answer: the items of one page and the number of the next.
pub(crate) trait Page: DeserializeOwned {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Option<i64>);
}

macro_rules! page {
    ($resp:ty, $field:ident, $item:ty) => {
        impl Page for $resp {
            type Item = $item;
            fn into_parts(self) -> (Vec<$item>, Option<i64>) {
                (self.$field, self.meta.pagination.next_page)
            }
        }
    };
}

page!(
    hcloud::models::ListSshKeysResponse,
    ssh_keys,
    hcloud::models::SshKey
);
page!(
    hcloud::models::ListFirewallsResponse,
    firewalls,
    hcloud::models::Firewall
);
page!(
    hcloud::models::ListServersResponse,
    servers,
    hcloud::models::Server
);

/// Filters for a list.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListFilter<'a> {
    pub label_selector: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl Hetzner {
    /// Every item of a list, over all pages.
    pub(crate) async fn list_all<P: Page>(
        &self,
        operation: &str,
        path: &str,
        filter: ListFilter<'_>,
    ) -> Result<Vec<P::Item>, HetznerError> {
        let mut items = Vec::new();
        let mut page: i64 = 1;
        loop {
            let mut call = Call::get(operation, path)
                .query("page", page.to_string())
                .query("per_page", PER_PAGE.to_string());
            if let Some(sel) = filter.label_selector.filter(|s| !s.is_empty()) {
                call = call.query("label_selector", sel);
            }
            if let Some(name) = filter.name {
                call = call.query("name", name);
            }
            let answer: P = self.request(&call).await?;
            let (mut batch, next) = answer.into_parts();
            items.append(&mut batch);
            match next {
                Some(n) if n > page && n <= MAX_PAGES => page = n,
                _ => return Ok(items),
            }
        }
    }
}

/// The label selector matching all of `labels` exactly (`k=v,k2=v2`),
/// in key order so the same labels always give the same selector.
pub fn selector_for(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// True when `have` carries every label of `want` with the same value.
pub fn labels_match(have: &BTreeMap<String, String>, want: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_is_sorted_and_exact() {
        let mut labels = BTreeMap::new();
        labels.insert("clawprov/stack".to_string(), "demo".to_string());
        labels.insert("clawprov/managed".to_string(), "true".to_string());
        assert_eq!(
            selector_for(&labels),
            "clawprov/managed=true,clawprov/stack=demo"
        );
        assert_eq!(selector_for(&BTreeMap::new()), "");
    }

    #[test]
    fn labels_match_requires_every_wanted_label() {
        let mut want = BTreeMap::new();
        want.insert("a".to_string(), "1".to_string());
        let mut have = BTreeMap::new();
        assert!(!labels_match(&have, &want));
        have.insert("a".to_string(), "2".to_string());
        assert!(!labels_match(&have, &want));
        have.insert("a".to_string(), "1".to_string());
        have.insert("b".to_string(), "x".to_string());
        assert!(labels_match(&have, &want));
    }
}
