//! Allowlists for every value in a stack file (invariant 6).
//!
//! Each function accepts only the narrow form the value needs downstream
//! (a Hetzner label, an RFC 1123 hostname, an exact version...). Values that
//! pass contain no shell, YAML, template or URL metacharacters, so a later
//! layer can never be tricked by them -- it still quotes them for its own
//! context. Rejections carry a message and a hint; the caller adds the
//! file, position and field.

use super::error::shown;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub message: String,
    pub hint: Option<String>,
}

pub type Verdict = Result<(), Rejection>;

fn reject(message: impl Into<String>, hint: impl Into<String>) -> Verdict {
    Err(Rejection {
        message: message.into(),
        hint: Some(hint.into()),
    })
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// An RFC 1123 label, lowercase: `[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?`.
/// Safe as a DNS label, a hostname and a Hetzner label value.
fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars().all(|c| is_lower_alnum(c) || c == '-')
        && s.starts_with(is_lower_alnum)
        && s.ends_with(is_lower_alnum)
}

/// `name`: a lowercase RFC 1123 label (<= 63). It names every Hetzner
/// resource and goes into label values and file names, so it must be safe in
/// all three.
pub fn stack_name(s: &str) -> Verdict {
    if is_label(s) {
        return Ok(());
    }
    reject(
        format!("{} is not a valid stack name", shown(s)),
        "use 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit (e.g. `my-claw`)",
    )
}

/// Known Hetzner locations, for hints. New ones that fit the pattern pass.
pub const LOCATIONS: &str = "fsn1, nbg1, hel1, ash, hil, sin";
/// Known Hetzner server types, for hints.
pub const SERVER_TYPES: &str = "cx22..cx52, cax11..cax41, cpx11..cpx51, ccx13..ccx63";

/// `hetzner.location`: `[a-z]{3}[0-9]?` (fsn1, ash...).
pub fn location(s: &str) -> Verdict {
    let b = s.as_bytes();
    let ok = (b.len() == 3 || b.len() == 4)
        && b[..3].iter().all(u8::is_ascii_lowercase)
        && b[3..].iter().all(u8::is_ascii_digit);
    if ok {
        return Ok(());
    }
    reject(
        format!("{} is not a Hetzner location", shown(s)),
        format!("one of {LOCATIONS}"),
    )
}

/// `hetzner.server_type`: `[a-z]+[0-9]+[a-z0-9]*`, at most 16 characters.
pub fn server_type(s: &str) -> Verdict {
    let letters = s.chars().take_while(char::is_ascii_lowercase).count();
    let rest = &s[letters..];
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let ok = s.len() <= 16 && letters > 0 && digits > 0 && rest.chars().all(is_lower_alnum);
    if ok {
        return Ok(());
    }
    reject(
        format!("{} is not a Hetzner server type", shown(s)),
        format!("e.g. {SERVER_TYPES}"),
    )
}

/// `hetzner.image`: `[a-z0-9][a-z0-9.-]{0,62}` (ubuntu-24.04).
pub fn image(s: &str) -> Verdict {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.starts_with(is_lower_alnum)
        && s.chars().all(|c| is_lower_alnum(c) || c == '.' || c == '-');
    if ok {
        return Ok(());
    }
    reject(
        format!("{} is not a Hetzner image name", shown(s)),
        "e.g. ubuntu-24.04 (the image clawprov is tested with)",
    )
}

/// `tailscale.tailnet`: a lowercase RFC 1123 domain name, at least two
/// labels, at most 253 characters, no trailing dot (tail1234.ts.net).
pub fn tailnet(s: &str) -> Verdict {
    let hint = "your tailnet's MagicDNS suffix, e.g. tail1234.ts.net (admin console: DNS)";
    if s.ends_with('.') && s.len() > 1 {
        return reject(
            format!("{} ends with a dot", shown(s)),
            "drop the trailing dot",
        );
    }
    let labels: Vec<&str> = s.split('.').collect();
    if s.len() <= 253 && labels.len() >= 2 && labels.iter().all(|l| is_label(l)) {
        return Ok(());
    }
    reject(format!("{} is not a tailnet domain name", shown(s)), hint)
}

/// `tailscale.hostname`: one lowercase RFC 1123 label (<= 63).
pub fn hostname(s: &str) -> Verdict {
    if is_label(s) {
        return Ok(());
    }
    reject(
        format!("{} is not a valid hostname", shown(s)),
        "one DNS label: 1-63 lowercase letters, digits and '-', not starting or ending with '-'",
    )
}

/// Most tags a node may advertise.
pub const MAX_TAGS: usize = 16;

/// One `tailscale.tags` item: `tag:` + `[a-z0-9]([a-z0-9-]*[a-z0-9])?` (<= 63).
pub fn tag(s: &str) -> Verdict {
    match s.strip_prefix("tag:") {
        Some(name) if is_label(name) => Ok(()),
        Some(_) => reject(
            format!("{} is not a valid tag", shown(s)),
            "after `tag:` use lowercase letters, digits and '-'",
        ),
        None => reject(
            format!("{} is not a tag", shown(s)),
            "tags start with `tag:`, e.g. tag:openclaw",
        ),
    }
}

/// A dotted numeric core `MAJOR.MINOR.PATCH`: three parts of 1-9 digits,
/// no leading zeros.
fn is_core_version(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 9
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

fn version_rejection(s: &str, example: &str) -> Verdict {
    if let Some(rest) = s.strip_prefix('v') {
        if is_core_version(rest) {
            return reject(
                format!("{} starts with `v`", shown(s)),
                format!("drop the v: `{rest}`"),
            );
        }
    }
    reject(
        format!("{} is not an exact version", shown(s)),
        format!("pin an exact MAJOR.MINOR.PATCH version such as {example}; no `latest`, ranges or wildcards"),
    )
}

/// `node.version` and `node.nvm_version`: exactly `MAJOR.MINOR.PATCH`.
/// Ranges, tags (`latest`, `lts`), wildcards and a leading `v` are refused:
/// what runs on the server must be pinned (invariant 10).
pub fn exact_version(s: &str, example: &str) -> Verdict {
    if is_core_version(s) {
        return Ok(());
    }
    version_rejection(s, example)
}

/// `openclaw.version`: `MAJOR.MINOR.PATCH` with an optional `-prerelease`
/// of dot-separated non-empty `[0-9A-Za-z-]` identifiers (npm semver).
pub fn package_version(s: &str) -> Verdict {
    let (core, pre) = match s.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (s, None),
    };
    let pre_ok = pre.is_none_or(|p| {
        p.len() <= 64
            && p.split('.').all(|id| {
                !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
    });
    if is_core_version(core) && pre_ok {
        return Ok(());
    }
    version_rejection(s, "2026.9.6")
}

/// The OpenClaw releases clawprov's gateway config is made for: from the
/// release the contract test proves (2026.9.6) to the end of its line.
/// The lines differ in config shape (2026.9 wants SecretRef objects for
/// secret fields, 2026.2 rejects them; 2026.9.3+ need Node 24.16+), so a
/// version outside this range would boot a gateway that refuses its config.
pub const OPENCLAW_SUPPORTED: (&str, &str) = ("2026.9.6", "2026.10.0");

/// `openclaw.version` within [`OPENCLAW_SUPPORTED`] (`>= low` in npm's order,
/// where a prerelease sorts before its release; `< high` by MAJOR.MINOR.PATCH).
pub fn supported_openclaw(s: &str) -> Verdict {
    let (low, high) = OPENCLAW_SUPPORTED;
    let v = sort_key(s);
    // Compared on the core only at the top, so the next line's
    // prereleases (2026.10.0-beta.1) stay outside.
    if v >= sort_key(low) && v.0 < sort_key(high).0 {
        return Ok(());
    }
    reject(
        format!("openclaw {s} is outside the range clawprov supports (>={low} <{high})"),
        format!("pin a release in that range, e.g. {low}; its gateway config and service are what clawprov's contract test proves"),
    )
}

/// Orders `MAJOR.MINOR.PATCH[-pre]` (already validated) as npm does, up to
/// comparing prerelease identifiers as text.
fn sort_key(s: &str) -> (Vec<u64>, bool, String) {
    let (core, pre) = match s.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (s, None),
    };
    let nums = core.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    (nums, pre.is_none(), pre.unwrap_or("").to_string())
}

/// `node.nvm_sha256`: exactly 64 lowercase hex digits.
pub fn sha256_hex(s: &str) -> Verdict {
    if s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    {
        return Ok(());
    }
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        return reject(
            "the checksum has uppercase letters",
            format!("write it in lowercase: {}", s.to_ascii_lowercase()),
        );
    }
    reject(
        format!("{} is not a sha256 checksum", shown(s)),
        "64 lowercase hex digits: `curl -fsSL <install.sh url> | sha256sum`",
    )
}

/// `host.reboot_time`: `HH:MM` (24-hour, UTC on the server) or `off`.
pub fn reboot_time(s: &str) -> Verdict {
    if s == "off" {
        return Ok(());
    }
    let ok = s.len() == 5
        && s.as_bytes()[2] == b':'
        && s[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && s[3..].parse::<u8>().is_ok_and(|m| m < 60)
        && s.chars().filter(|c| c.is_ascii_digit()).count() == 4;
    if ok {
        return Ok(());
    }
    reject(
        format!("{} is not a time of day", shown(s)),
        "use HH:MM in 24-hour form, UTC on the server (e.g. 04:00), or `off` to never reboot automatically",
    )
}

/// A key of `rotation:`: a secret the vault stores (not one of clawprov's
/// own), or the node's tailnet key.
pub fn rotation_key(s: &str) -> Verdict {
    if s == super::model::TAILSCALE_NODE_KEY || crate::secrets::check_key(s).is_ok() {
        return Ok(());
    }
    reject(
        format!("{} is not a credential clawprov keeps", shown(s)),
        format!(
            "a vault key ({}, or a name of your own ending in _token, _key, _secret or _password), \
             or {}",
            crate::secrets::KNOWN_KEYS.join(", "),
            super::model::TAILSCALE_NODE_KEY
        ),
    )
}

/// Longest maximum age `rotation:` takes: ten years.
pub const MAX_ROTATION_DAYS: u32 = 3650;

/// A value of `rotation:`: `<days>d` (1 to 3650) or `off`.
pub fn rotation_age(s: &str) -> Verdict {
    if s == "off" {
        return Ok(());
    }
    let days = s
        .strip_suffix('d')
        .filter(|d| !d.is_empty() && d.len() <= 4 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u32>().ok());
    if days.is_some_and(|d| (1..=MAX_ROTATION_DAYS).contains(&d)) {
        return Ok(());
    }
    reject(
        format!("{} is not a maximum age", shown(s)),
        format!("days with a `d` (e.g. 90d, 1 to {MAX_ROTATION_DAYS}), or `off` for no limit"),
    )
}

/// `openclaw.port`: an unprivileged port, 1024..=65535.
pub fn port(p: u16) -> Verdict {
    if p >= 1024 {
        return Ok(());
    }
    reject(
        format!("port {p} is privileged or invalid"),
        "use a port from 1024 to 65535 (default 18789)",
    )
}

/// Account names that already exist on Ubuntu 24.04 (users or groups), or
/// that clawprov's own setup uses. Reusing one would hand the gateway, or the
/// admin login, an existing account's rights.
const RESERVED_USERS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "nogroup",
    "sshd",
    "messagebus",
    "syslog",
    "_apt",
    "tailscale",
    "uuidd",
    "tcpdump",
    "tss",
    "landscape",
    "pollinate",
    "polkitd",
    "usbmux",
    "dnsmasq",
    "lxd",
    "ubuntu",
    "admin",
    "adm",
    "sudo",
    "staff",
    "users",
    "operator",
    "dhcpcd",
    "fwupd-refresh",
    "netdev",
    "plugdev",
    "docker",
    "shadow",
    "utmp",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "cdrom",
    "floppy",
    "audio",
    "video",
    "input",
    "render",
    "kvm",
    "crontab",
    "ssh",
    "_chrony",
    "chrony",
    "ntp",
    "postfix",
    "ftp",
];

/// `host.admin_user` / `host.service_user`: `[a-z_][a-z0-9_-]{0,31}` (the
/// portable Linux user name) and not an account the image already has.
pub fn user_name(s: &str) -> Verdict {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && s.chars().all(|c| is_lower_alnum(c) || c == '_' || c == '-');
    if !ok {
        return reject(
            format!("{} is not a valid user name", shown(s)),
            "1-32 characters: lowercase letters, digits, '_' and '-', starting with a letter or '_'",
        );
    }
    if RESERVED_USERS.contains(&s) || s.starts_with("systemd-") {
        return reject(
            format!("`{s}` is a system account or group"),
            "choose a new name, e.g. clawadmin or openclaw",
        );
    }
    Ok(())
}

/// Most entries in `host.authorized_keys` / `secrets.recipients`.
pub const MAX_KEYS: usize = 64;

/// An OpenSSH `ssh-ed25519 <base64> [comment]` line: one space between
/// parts, a key blob that parses as ed25519, and a comment (if any) of at
/// most 64 characters from `[A-Za-z0-9@._+-]`, so the line is inert in
/// YAML, shell and authorized_keys contexts.
pub fn ssh_ed25519_key(s: &str) -> Verdict {
    let hint = "paste the one line from your `~/.ssh/id_ed25519.pub` (comment: letters, digits, @ . _ + -)";
    let parts: Vec<&str> = s.split(' ').collect();
    if parts.first() != Some(&"ssh-ed25519") {
        return reject(
            format!("{} is not an ssh-ed25519 public key", shown(s)),
            "only ssh-ed25519 keys are accepted",
        );
    }
    if !(2..=3).contains(&parts.len()) {
        return reject(
            "an ssh-ed25519 key is `ssh-ed25519 <base64> [comment]`, one space apart",
            hint,
        );
    }
    let blob_ok = parts[1].len() <= 128
        && parts[1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=');
    if !blob_ok {
        return reject("the key's base64 part has invalid characters", hint);
    }
    if let Some(comment) = parts.get(2) {
        let ok = !comment.is_empty()
            && comment.len() <= 64
            && comment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "@._+-".contains(c));
        if !ok {
            return reject(
                format!(
                    "the key comment {} has characters that are not allowed",
                    shown(comment)
                ),
                hint,
            );
        }
    }
    match ssh_key::PublicKey::from_openssh(&format!("{} {}", parts[0], parts[1])) {
        Ok(k) if k.algorithm() == ssh_key::Algorithm::Ed25519 => Ok(()),
        Ok(_) => reject("not an ssh-ed25519 key", hint),
        Err(e) => reject(format!("the key does not parse ({e})"), hint),
    }
}

/// `secrets.file`: a relative path of `[A-Za-z0-9._-]` components (none
/// starting with '.', so no `..` and no hidden files), at most 255
/// characters, ending in `.age`; it stays beside the stack file.
pub fn vault_file(s: &str) -> Verdict {
    let hint = "a file name (or relative path) beside the stack file, ending in .age, e.g. prod.secrets.age";
    if s.starts_with('/') {
        return reject("the vault path must be relative to the stack file", hint);
    }
    let parts_ok = s.split('/').all(|part| {
        !part.is_empty()
            && !part.starts_with('.')
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    });
    if !parts_ok || s.len() > 255 {
        return reject(format!("{} is not an allowed vault path", shown(s)), hint);
    }
    if !s.ends_with(".age") || s.ends_with("/.age") || s == ".age" {
        return reject(format!("{} does not end in .age", shown(s)), hint);
    }
    Ok(())
}

/// One `secrets.recipients` item: exactly as written (no surrounding
/// spaces), parses as an age recipient, and an ssh-ed25519 one also meets
/// [`ssh_ed25519_key`]'s narrow form.
pub fn recipient(s: &str) -> Verdict {
    let hint = "an age public key (age1...) or one ssh-ed25519 public key line";
    if s.trim() != s || s.is_empty() {
        return reject("the recipient has surrounding spaces or is empty", hint);
    }
    if s.starts_with("ssh-") {
        ssh_ed25519_key(s)?;
    } else if !(s.len() <= 128 && s.chars().all(is_lower_alnum)) {
        return reject(format!("{} is not an age recipient", shown(s)), hint);
    }
    match crate::secrets::Recipient::parse(s) {
        Ok(_) => Ok(()),
        Err(why) => reject(why, hint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(rule: impl Fn(&str) -> Verdict, accept: &[&str], refuse: &[&str]) {
        for s in accept {
            assert_eq!(rule(s), Ok(()), "should accept {s:?}");
        }
        for s in refuse {
            assert!(rule(s).is_err(), "should refuse {s:?}");
        }
    }

    /// Metacharacters every string rule must refuse.
    const HOSTILE: &[&str] = &[
        "",
        " ",
        "$(reboot)",
        "`id`",
        "a;b",
        "a|b",
        "a&b",
        "a'b",
        "a\"b",
        "{{x}}",
        "&anchor",
        "!!python/object",
        "a\nb",
        "a\rb",
        "a b",
        "a\tb",
        "а",
        "ｏ",
        "a\u{0}",
        "a#b",
        "a\\b",
        "*",
    ];

    #[test]
    fn stack_names() {
        let long = "a".repeat(63);
        let too_long = "a".repeat(64);
        check(
            stack_name,
            &["a", "example", "team-gateway", "x86", "0", &long],
            &["A", "-a", "a-", "a_b", "a.b", &too_long],
        );
        check(stack_name, &[], HOSTILE);
    }

    #[test]
    fn locations() {
        check(
            location,
            &["fsn1", "nbg1", "hel1", "ash", "hil", "sin"],
            &["FSN1", "fsn12", "fs", "fsn-1", "1fsn"],
        );
        check(location, &[], HOSTILE);
    }

    #[test]
    fn server_types() {
        check(
            server_type,
            &["cax21", "cx22", "cpx51", "ccx63", "cax11"],
            &["cax", "21", "CAX21", "cax-21", "cax21cax21cax21cax21"],
        );
        check(server_type, &[], HOSTILE);
    }

    #[test]
    fn images() {
        check(
            image,
            &["ubuntu-24.04", "debian-12", "rocky-9"],
            &["Ubuntu-24.04", "-ubuntu", ".x", "ubuntu_24", "a/b"],
        );
        check(image, &[], HOSTILE);
    }

    #[test]
    fn tailnets() {
        check(
            tailnet,
            &["tail1234.ts.net", "example.com", "a.b"],
            &[
                "ts",
                "tail1234.ts.net.",
                "Tail.ts.net",
                "a..b",
                "-a.b",
                "a.b-",
                "a_b.net",
            ],
        );
        check(tailnet, &[], HOSTILE);
        assert!(tailnet(&format!("{}.net", vec!["a".repeat(63); 4].join("."))).is_err());
    }

    #[test]
    fn hostnames() {
        check(
            hostname,
            &["openclaw-example", "a", "x86-claw"],
            &["a.b", "Host", "-a", "a-", "a_b"],
        );
        check(hostname, &[], HOSTILE);
    }

    #[test]
    fn tags() {
        check(
            tag,
            &["tag:openclaw", "tag:team", "tag:a1-b"],
            &[
                "openclaw", "tag:", "tag:A", "tag:a_b", "tag:-a", "Tag:x", "tag:a b",
            ],
        );
        check(tag, &[], HOSTILE);
    }

    #[test]
    fn versions() {
        let node = |s: &str| exact_version(s, "22.12.0");
        check(
            node,
            &["22.12.0", "0.40.3", "0.0.0"],
            &[
                "latest",
                "lts",
                "^1.2.3",
                "~1.2.3",
                "1.x",
                "1.2",
                ">=1.2.3",
                "*",
                "v22.12.0",
                "01.2.3",
                "1.2.3.4",
                "1.2.3-rc1",
                "1..3",
            ],
        );
        check(node, &[], HOSTILE);
        check(
            package_version,
            &["2026.2.14", "1.0.0-beta.1", "1.0.0-rc-2"],
            &[
                "latest",
                "next",
                "^2026.2.14",
                "2026.2",
                "v2026.2.14",
                "1.0.0-",
                "1.0.0-a..b",
                "1.0.0-a$b",
                "1.0.0+build",
            ],
        );
        check(package_version, &[], HOSTILE);
        check(
            supported_openclaw,
            &[
                "2026.9.6",
                "2026.9.7",
                "2026.9.10",
                "2026.9.7-beta.1",
                "2026.9.99",
            ],
            &[
                "2026.2.14",
                "2026.2.26",
                "2026.9.5",
                "2026.9.6-beta.1",
                "2026.10.0",
                "2026.10.0-beta.1",
                "2027.1.1",
                "2026.10.1",
            ],
        );
        assert_eq!(
            node("v22.12.0").err().and_then(|r| r.hint),
            Some("drop the v: `22.12.0`".into())
        );
    }

    #[test]
    fn rotation_keys_and_ages() {
        check(
            rotation_key,
            &[
                "gateway_token",
                "hcloud_token",
                "my_llm_key",
                "tailscale_node_key",
            ],
            &[
                "gateway",
                "pending_gateway_token",
                "clawprov_record",
                "Gateway_token",
                "",
            ],
        );
        check(
            rotation_age,
            &["off", "1d", "90d", "3650d"],
            &[
                "0d", "90", "90 d", "3651d", "d", "-1d", "1w", "09x", "99999d", "OFF",
            ],
        );
    }

    #[test]
    fn reboot_times() {
        check(
            reboot_time,
            &["04:00", "00:00", "23:59", "off"],
            &[
                "4:00", "24:00", "12:60", "noon", "04:00 ", "0400", "+4:00", "Off", "04:0x",
            ],
        );
        check(reboot_time, &[], HOSTILE);
    }

    #[test]
    fn checksums() {
        let good = "2d8359a64a3cb07c02389ad88ceecd43f2fa469c06104f92f98df5b6f315275f";
        check(
            sha256_hex,
            &[good],
            &[
                &good.to_uppercase(),
                &good[1..],
                &format!("{good}0"),
                &good.replace('2', "g"),
            ],
        );
        check(sha256_hex, &[], HOSTILE);
    }

    #[test]
    fn ports() {
        assert_eq!(port(18789), Ok(()));
        assert_eq!(port(1024), Ok(()));
        assert_eq!(port(65535), Ok(()));
        assert!(port(0).is_err());
        assert!(port(80).is_err());
        assert!(port(1023).is_err());
    }

    #[test]
    fn user_names() {
        check(
            user_name,
            &["clawadmin", "openclaw", "ops", "_svc", "a-b_c1"],
            &[
                "root",
                "ubuntu",
                "systemd-network",
                "sudo",
                "www-data",
                "Admin",
                "1abc",
                "-a",
                &"a".repeat(33),
            ],
        );
        check(user_name, &[], HOSTILE);
    }

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICbAq2p5L4g5907fL9lRcd2FvZF44gmr2yPxD4+EGQzu";

    #[test]
    fn ssh_keys() {
        let with_comment = format!("{KEY} alice@laptop");
        check(
            ssh_ed25519_key,
            &[KEY, &with_comment],
            &[
                &format!("{KEY} a b"),
                &format!("{KEY} $(reboot)"),
                &format!("{KEY} a;b"),
                &format!("{KEY}  alice"),
                &format!(" {KEY}"),
                &KEY.replace("ed25519", "rsa"),
                &KEY.replace("2p5L4g59", ""),
                "ssh-ed25519 AAAA",
                "ssh-ed25519",
            ],
        );
        check(ssh_ed25519_key, &[], HOSTILE);
    }

    #[test]
    fn vault_files() {
        check(
            vault_file,
            &["x.secrets.age", "vaults/prod.age", "a-b_c.age"],
            &[
                "/etc/x.age",
                "../x.age",
                "a/../x.age",
                ".x.age",
                "x.txt",
                "x",
                "a//b.age",
                "a b.age",
                "$(x).age",
                "x.age/",
            ],
        );
        check(vault_file, &[], HOSTILE);
    }

    #[test]
    fn recipients() {
        let age = "age1h07kvhgy6uc29vwgfdsnu0tj3ymgq8hspln7sgfyx80rzjsjtaksy2ehw5";
        check(
            recipient,
            &[age, KEY, &format!("{KEY} alice@laptop")],
            &[
                &format!(" {age}"),
                &format!("{age}x"),
                "age1",
                &format!("{KEY} $(reboot)"),
                "ssh-rsa AAAAB3NzaC1yc2E",
            ],
        );
        check(recipient, &[], HOSTILE);
    }
}
