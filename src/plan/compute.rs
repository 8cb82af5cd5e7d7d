//! Desired vs observed -> steps. A pure function: the same inputs always
//! give the same plan, and everything `up` will do is in it.

use crate::hetzner::{Direction, Firewall, FirewallRule, Server, ServerStatus, SshKey};

use super::desired::{Desired, DesiredServer, BOOTSTRAP_LABEL, USER_DATA_LABEL};
use super::observed::Observed;
use super::step::{Change, Op, Resource, Step};

/// The steps that take `observed` to `desired`, in execution order:
/// duplicates of a server first, then SSH key and firewall (independent),
/// then the server, then leftover duplicate keys and firewalls.
pub fn steps(desired: &Desired, observed: &Observed) -> Vec<Step> {
    let mut out = Vec::new();
    let (server, extra_servers) = pick(&observed.servers, |s| s.name == desired.server.name);
    for s in extra_servers {
        out.push(
            Step::new(Resource::Server, &s.name, Some(s.id), Op::Delete)
                .because("a second server with the stack's labels (duplicate)"),
        );
    }
    let (key, extra_keys) = pick(&observed.ssh_keys, |k| k.name == desired.ssh_key.name);
    out.push(ssh_key_step(desired, key));
    let (firewall, extra_firewalls) = pick(&observed.firewalls, |f| {
        f.name == desired.firewall.name || server.is_some_and(|s| s.firewall_ids.contains(&f.id))
    });
    out.push(firewall_step(desired, firewall));
    out.push(server_step(desired, server, firewall));
    for k in extra_keys {
        out.push(
            Step::new(Resource::SshKey, &k.name, Some(k.id), Op::Delete)
                .because("a second ssh key with the stack's labels (duplicate)"),
        );
    }
    for f in extra_firewalls {
        out.push(
            Step::new(Resource::Firewall, &f.name, Some(f.id), Op::Delete)
                .because("a second firewall with the stack's labels (duplicate)"),
        );
    }
    out
}

/// The resource to keep (the first matching `preferred`, else the oldest)
/// and the rest.
fn pick<T>(all: &[T], preferred: impl Fn(&T) -> bool) -> (Option<&T>, Vec<&T>) {
    let keep = all
        .iter()
        .position(&preferred)
        .or(if all.is_empty() { None } else { Some(0) });
    let rest = all
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != keep)
        .map(|(_, t)| t)
        .collect();
    (keep.map(|i| &all[i]), rest)
}

/// `ssh-ed25519 AAAA... comment` -> `ssh-ed25519 AAAA...`: the comment is
/// not part of the key.
fn key_material(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

fn ssh_key_step(desired: &Desired, key: Option<&SshKey>) -> Step {
    let want = &desired.ssh_key;
    match key {
        None => Step::new(Resource::SshKey, &want.name, None, Op::Create)
            .because("no ssh key with the stack's labels"),
        Some(k) if key_material(&k.public_key) != key_material(&want.public_key) => {
            Step::new(Resource::SshKey, &k.name, Some(k.id), Op::Replace)
                .because("the key differs from the vault's ssh_private_key")
        }
        Some(k) => Step::new(Resource::SshKey, &k.name, Some(k.id), Op::NoOp)
            .because("matches the vault's key"),
    }
}

/// "tcp 22 from 0.0.0.0/0" for a reason text.
fn describe_rule(r: &FirewallRule) -> String {
    let proto = format!("{:?}", r.protocol).to_lowercase();
    let port = r
        .port
        .as_deref()
        .map(|p| format!(" {p}"))
        .unwrap_or_default();
    match r.direction {
        Direction::In => format!("in {proto}{port} from {}", r.source_ips.join(",")),
        Direction::Out => format!("out {proto}{port} to {}", r.destination_ips.join(",")),
    }
}

fn firewall_step(desired: &Desired, firewall: Option<&Firewall>) -> Step {
    let want = &desired.firewall;
    let Some(f) = firewall else {
        return Step::new(Resource::Firewall, &want.name, None, Op::Create)
            .because("no firewall with the stack's labels");
    };
    let mut have = f.rules.clone();
    let mut wanted = want.rules.clone();
    have.sort();
    wanted.sort();
    if have == wanted {
        return Step::new(Resource::Firewall, &f.name, Some(f.id), Op::NoOp)
            .because("zero inbound rules");
    }
    let inbound: Vec<String> = have
        .iter()
        .filter(|r| r.direction == Direction::In && !wanted.contains(r))
        .map(describe_rule)
        .collect();
    let reason = if inbound.is_empty() {
        "rules drifted from the stack's".to_string()
    } else {
        format!(
            "{} foreign inbound rule(s) to remove: {}",
            inbound.len(),
            inbound.join("; ")
        )
    };
    Step::new(Resource::Firewall, &f.name, Some(f.id), Op::Update)
        .with(vec![Change::SetRules])
        .because(reason)
}

/// Why the server must be replaced, if it must.
fn replace_reason(desired: &Desired, s: &Server) -> Option<String> {
    let want = &desired.server;
    if let Some(reason) = user_data_reason(want, s) {
        return Some(reason);
    }
    if s.server_type != want.server_type {
        return Some(format!(
            "server type {} -> {}",
            s.server_type, want.server_type
        ));
    }
    if s.location != want.location {
        return Some(format!("location {} -> {}", s.location, want.location));
    }
    if let Some(image) = &s.image {
        if *image != want.image {
            return Some(format!("image {image} -> {}", want.image));
        }
    }
    None
}

/// Whether the server's user-data is the stack's, under the bootstrap
/// generation that set it up (label [`BOOTSTRAP_LABEL`], none: 1): the
/// current one's fingerprint, or the previous one's for a server that
/// generation set up (kept: the host phase brings it into line).
fn user_data_reason(want: &DesiredServer, s: &Server) -> Option<String> {
    use crate::render::{BOOTSTRAP_GENERATION, PREVIOUS_GENERATION};
    let have_fp = s.labels.get(USER_DATA_LABEL).map(String::as_str);
    let label = s.labels.get(BOOTSTRAP_LABEL);
    let generation = match label {
        None => PREVIOUS_GENERATION,
        Some(g) => match g.parse::<u32>() {
            Ok(g) => g,
            Err(_) => {
                return Some(format!(
                    "label {BOOTSTRAP_LABEL}={g} is not a generation clawprov wrote"
                ))
            }
        },
    };
    let (wanted, under) = if generation == BOOTSTRAP_GENERATION {
        (Some(want.user_data_fingerprint.as_str()), "")
    } else if generation == PREVIOUS_GENERATION {
        (
            want.previous_user_data_fingerprint.as_deref(),
            " (compared as the earlier clawprov that set it up would have rendered it)",
        )
    } else if generation > BOOTSTRAP_GENERATION {
        return Some(format!(
            "the server was set up by a newer clawprov (bootstrap generation {generation}; this one \
             knows up to {BOOTSTRAP_GENERATION}): upgrade clawprov rather than replace it"
        ));
    } else {
        return Some(format!(
            "the server was set up by clawprov bootstrap generation {generation}, which this clawprov \
             cannot bring into line in place (it keeps generation {PREVIOUS_GENERATION} and later)"
        ));
    };
    if have_fp.is_some() && have_fp == wanted {
        return None;
    }
    // Labelled by this generation before the operator keys left the
    // fingerprint: the same user-data then (`up` relabels it).
    if generation == BOOTSTRAP_GENERATION
        && have_fp.is_some()
        && have_fp == want.keyed_user_data_fingerprint.as_deref()
    {
        return None;
    }
    Some(format!(
        "user-data changed{under} (fingerprint {} -> {}); user-data cannot change after creation \
         (a new OpenClaw or Node version alone would not be one: the host phase applies that in place)",
        have_fp.unwrap_or("none"),
        wanted.unwrap_or("unknown")
    ))
}

/// Protection and backups to apply to a server that has `protection` and
/// `backups` now.
fn server_settings(desired: &Desired, protection: (bool, bool), backups: bool) -> Vec<Change> {
    let want = &desired.server;
    let mut changes = Vec::new();
    if protection != (want.protect_delete, want.protect_rebuild) {
        changes.push(Change::Protection {
            delete: want.protect_delete,
            rebuild: want.protect_rebuild,
        });
    }
    if backups != want.backups {
        if want.backups {
            changes.push(Change::EnableBackups);
        } else {
            changes.push(Change::DisableBackups);
        }
    }
    changes
}

fn server_step(desired: &Desired, server: Option<&Server>, firewall: Option<&Firewall>) -> Step {
    let want = &desired.server;
    let Some(s) = server else {
        let changes = server_settings(desired, (false, false), false);
        let reason = "no server with the stack's labels; created with the firewall attached";
        return Step::new(Resource::Server, &want.name, None, Op::Create)
            .with(changes)
            .because(reason);
    };
    if let Some(why) = replace_reason(desired, s) {
        // The new server gets protection and backups like a fresh create.
        let changes = server_settings(desired, (false, false), false);
        let mut reason = why;
        if s.protection.delete {
            reason.push_str("; its delete protection is lifted first");
        }
        return Step::new(Resource::Server, &s.name, Some(s.id), Op::Replace)
            .with(changes)
            .because(reason);
    }
    let mut changes = server_settings(
        desired,
        (s.protection.delete, s.protection.rebuild),
        s.backups_enabled,
    );
    if let Some(f) = firewall {
        if !s.firewall_ids.contains(&f.id) {
            changes.insert(
                0,
                Change::AttachFirewall {
                    firewall: f.name.clone(),
                },
            );
        }
    }
    let booting = matches!(
        s.status,
        ServerStatus::Initializing | ServerStatus::Starting
    );
    let (op, reason) = if !changes.is_empty() {
        let what: Vec<String> = changes.iter().map(Change::describe).collect();
        (Op::Update, format!("differs: {}", what.join(", ")))
    } else if booting {
        (
            Op::Wait,
            format!("exists, still {:?}", s.status).to_lowercase(),
        )
    } else if s.status == ServerStatus::Running {
        (Op::NoOp, "running, as declared".to_string())
    } else {
        (
            Op::NoOp,
            format!(
                "exists but is {:?}; clawprov does not power servers on",
                s.status
            )
            .to_lowercase(),
        )
    };
    Step::new(Resource::Server, &s.name, Some(s.id), op)
        .with(changes)
        .because(reason)
}

/// The steps that remove every resource with the stack's labels, in the
/// order the API allows: servers, then firewalls, then SSH keys. A
/// delete-protected server's step carries the protection change; `destroy`
/// refuses it unless `--unprotect`.
pub fn teardown_steps(observed: &Observed) -> Vec<Step> {
    let mut out = Vec::new();
    for s in &observed.servers {
        let mut step = Step::new(Resource::Server, &s.name, Some(s.id), Op::Delete)
            .because("carries the stack's labels");
        if s.protection.delete {
            step = step
                .with(vec![Change::Protection {
                    delete: false,
                    rebuild: false,
                }])
                .because("carries the stack's labels; delete-protected");
        }
        out.push(step);
    }
    for f in &observed.firewalls {
        out.push(
            Step::new(Resource::Firewall, &f.name, Some(f.id), Op::Delete)
                .because("carries the stack's labels"),
        );
    }
    for k in &observed.ssh_keys {
        out.push(
            Step::new(Resource::SshKey, &k.name, Some(k.id), Op::Delete)
                .because("carries the stack's labels"),
        );
    }
    out
}
