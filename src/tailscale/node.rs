//! Which devices belong to a stack, and which one is the node of its
//! current server: matched by hostname, tags and creation time, never by
//! MagicDNS name alone (a redeploy while an old device holds the name gets
//! `<hostname>-1`, and MagicDNS keeps pointing at the old node).

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::Device;

/// Parse an API timestamp (RFC 3339).
pub fn timestamp(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// The stack's devices: registered with the stack's hostname and carrying
/// every one of its tags (an untagged device of the same name is a person's
/// machine, never touched). Oldest first.
pub fn of_stack<'a>(devices: &'a [Device], hostname: &str, tags: &[String]) -> Vec<&'a Device> {
    let mut out: Vec<&Device> = devices
        .iter()
        .filter(|d| d.hostname.eq_ignore_ascii_case(hostname))
        .filter(|d| !tags.is_empty() && tags.iter().all(|t| d.tags.contains(t)))
        .collect();
    out.sort_by_key(|d| (timestamp(&d.created), d.id.clone()));
    out
}

/// The node of a server that came to exist at `since`: the newest of the
/// stack's devices created at or after it (less `skew` for clocks that
/// disagree). `None`: it has not joined yet.
pub fn node_since<'a>(
    stack_devices: &[&'a Device],
    since: OffsetDateTime,
    skew: time::Duration,
) -> Option<&'a Device> {
    stack_devices
        .iter()
        .filter(|d| timestamp(&d.created).is_some_and(|c| c >= since - skew))
        .max_by_key(|d| timestamp(&d.created))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, host: &str, tags: &[&str], created: &str) -> Device {
        Device {
            id: id.into(),
            hostname: host.into(),
            name: format!("{host}.tail1234.ts.net"),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            created: created.into(),
            ..Device::default()
        }
    }

    #[test]
    fn only_tagged_devices_of_the_hostname_belong_to_the_stack() {
        let tags = vec!["tag:openclaw".to_string()];
        let all = vec![
            dev("3", "gw", &["tag:openclaw"], "2026-12-01T10:00:00Z"),
            dev(
                "1",
                "gw",
                &["tag:openclaw", "tag:x"],
                "2026-11-01T10:00:00Z",
            ),
            dev("2", "gw", &[], "2026-11-02T10:00:00Z"),
            dev("4", "gw2", &["tag:openclaw"], "2026-11-02T10:00:00Z"),
            dev("5", "GW", &["tag:other"], "2026-11-02T10:00:00Z"),
        ];
        let ids: Vec<&str> = of_stack(&all, "gw", &tags)
            .iter()
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(ids, ["1", "3"]);
        assert!(
            of_stack(&all, "gw", &[]).is_empty(),
            "no tags: nothing is ours"
        );
    }

    #[test]
    fn the_node_is_the_newest_device_created_after_the_server() {
        let all = vec![
            dev("old", "gw", &["tag:a"], "2026-12-01T09:00:00Z"),
            dev("new", "gw", &["tag:a"], "2026-12-01T10:00:05Z"),
            dev("newer", "gw", &["tag:a"], "2026-12-01T10:00:09Z"),
        ];
        let mine = of_stack(&all, "gw", &["tag:a".to_string()]);
        let since = timestamp("2026-12-01T10:00:00Z").unwrap();
        let skew = time::Duration::seconds(30);
        assert_eq!(node_since(&mine, since, skew).unwrap().id, "newer");
        let later = timestamp("2026-12-01T11:00:00Z").unwrap();
        assert!(node_since(&mine, later, skew).is_none());
    }
}
