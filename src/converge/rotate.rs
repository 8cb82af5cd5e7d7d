//! `rotate tailscale-key` as a sequence of steps, each safe to repeat, so a
//! run killed at any point is finished by the next one:
//!
//! 1. sweep: revoke any still-valid key this stack minted earlier (a run
//!    that died between minting and revoking leaves one);
//! 2. mint a single-use, pre-authorized, tagged key;
//! 3. hand it to the node and re-authenticate detached ([`host::reauth`]);
//! 4. wait until the API shows the key spent, then read which device the
//!    node is now (the same one when the control plane re-registers the
//!    machine in place; a new one otherwise);
//! 5. reconnect over SSH and check tailscaled is Running;
//! 6. revoke the new key (spent anyway), the old provided key
//!    (`auth: auth_key`), delete every other device of the stack, keep the
//!    node's key expiry off.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::tailnet::{minted_at, nonce};
use crate::host::{self, command::RemoteCommand, HostError, HostInputs, Progress};
use crate::plan::tailnet::MINTED_KEY_EXPIRY;
use crate::stack::TailscaleAuth;
use crate::tailscale::{keys, node, Device, KeySpec, Tailscale, TailscaleError, UnseenKey};
use crate::ui::Ui;

/// How often the key is read while waiting for the node to use it.
const POLL: Duration = Duration::from_secs(2);

/// What a rotation did; holds no secret.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Rotated {
    pub stack: String,
    /// Keys of an interrupted earlier run, revoked first.
    pub leftover_keys_revoked: Vec<String>,
    /// Keys the sweep did not read (listed past
    /// [`keys::MAX_KEYS_READ`]): a leftover among them stays valid.
    pub keys_unread: Vec<String>,
    pub new_key: Option<String>,
    pub device_before: Option<String>,
    pub device_after: Option<String>,
    /// The control plane registered the node as a new device.
    pub device_changed: bool,
    /// The vault's provided key (`auth: auth_key`), revoked.
    pub old_key_revoked: Option<String>,
    /// The vault's provided key when clawprov could not revoke it (the API
    /// does not show it to this credential: a key a person made is theirs),
    /// with what the user must do. Never reported as revoked.
    pub old_key_not_revoked: Option<UnseenKey>,
    pub stale_devices_deleted: Vec<String>,
    /// `tailscale status` over a fresh SSH session after the re-auth.
    pub backend_state: String,
    /// Node settings the re-auth (`tailscale up --reset`) changed, as
    /// `name: before -> after`: put back with `tailscale set` if wanted.
    pub settings_reset: Vec<String>,
    /// The node's settings could not be read before or after the re-auth
    /// (neither `tailscale get --json` nor `debug prefs` answered): what
    /// `up --reset` changed is unknown, not nothing.
    pub settings_unknown: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error(transparent)]
    Tailscale(#[from] TailscaleError),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("{0}")]
    State(String),
}

impl From<RotateError> for crate::error::Error {
    fn from(e: RotateError) -> Self {
        match e {
            RotateError::Tailscale(e) => e.into(),
            RotateError::Host(e) => e.into(),
            RotateError::State(m) => crate::error::Error::failed(m),
        }
    }
}

/// Run the rotation. `node` is the stack's node as the plan found it.
pub async fn rotate(
    ts: &Tailscale,
    inputs: HostInputs<'_>,
    node: &Device,
    ui: &Ui,
    progress: &dyn Progress,
) -> Result<Rotated, RotateError> {
    let stack = inputs.stack;
    let mut out = Rotated {
        stack: stack.name.clone(),
        device_before: Some(node.id.clone()),
        ..Rotated::default()
    };
    // 1. Sweep (each listed key read by id: the list may carry ids only).
    let listed = ts.keys_in_detail().await?;
    for id in listed.live_for(&stack.name) {
        if ts.revoke_key(&id).await? {
            out.leftover_keys_revoked.push(id);
        }
    }
    if let Some(note) = listed.unread_note(&stack.name) {
        ui.warn(&note);
        out.keys_unread = listed.unread;
    }
    // 2. Mint.
    let step = ui.step(&format!("{}: mint a single-use tailnet key", stack.name));
    let spec = KeySpec::single_use(
        &stack.tailscale.tags,
        MINTED_KEY_EXPIRY,
        keys::description(&["clawprov", &stack.name, "rotate", &nonce()]),
    );
    let key = ts.create_key(&spec).await?;
    step.done(&format!("key {}", key.id));
    out.new_key = Some(key.id.clone());
    let result = reauth_and_confirm(ts, &inputs, node, &key, ui, progress, &mut out).await;
    // 6a. The new key is spent (or useless after a failure): revoke it.
    let revoked = ts.revoke_key(&key.id).await;
    with_revoke(result, revoked, &key.id)?;
    // 6b. The old provided key, stale devices, key expiry.
    // A 404 on the revoke is not "already revoked": the API answers 404 for
    // a key this credential may not see (one a person made), which stays
    // valid. Only a key read back as invalid counts as done.
    if stack.tailscale.auth == TailscaleAuth::AuthKey {
        if let Some(old) = inputs.vault.get("tailscale_auth_key") {
            match keys::key_id_of(old.expose()) {
                Some(id) if ts.revoke_key(id).await? => {
                    out.old_key_revoked = Some(id.to_string());
                }
                Some(id) if ts.get_key(id).await?.is_some_and(|k| k.invalid) => {}
                id => {
                    out.old_key_not_revoked = Some(UnseenKey::new(id, ts.credentials().describe()));
                }
            }
        }
    }
    let now_id = out.device_after.clone().unwrap_or_default();
    let all = ts.list_devices().await?;
    for d in node::of_stack(&all, &stack.tailscale.hostname, &stack.tailscale.tags) {
        if d.id != now_id {
            ts.delete_device(&d.id).await?;
            out.stale_devices_deleted.push(d.id.clone());
        } else if !d.key_expiry_disabled {
            ts.disable_key_expiry(&d.id).await?;
        }
    }
    Ok(out)
}

/// The run's outcome once the new key's revoke was tried: a revoke that
/// failed is never passed over in silence (the key may still be valid if
/// the node did not use it), alone or beside the run's own error.
fn with_revoke(
    result: Result<(), RotateError>,
    revoked: Result<bool, TailscaleError>,
    key_id: &str,
) -> Result<(), RotateError> {
    match (result, revoked) {
        (result, Ok(_)) => result,
        (Ok(()), Err(e)) => Err(RotateError::State(format!(
            "the rotation finished, but revoking the new key {key_id} failed ({e}); \
             run `clawprov rotate tailscale-key` again (it revokes any key a run left valid) \
             or revoke it in the Tailscale admin console (Settings -> Keys)"
        ))),
        (Err(first), Err(e)) => Err(RotateError::State(format!(
            "{first}; and revoking the new key {key_id} failed too ({e}): run \
             `clawprov rotate tailscale-key` again or revoke it in the Tailscale admin console"
        ))),
    }
}

async fn reauth_and_confirm(
    ts: &Tailscale,
    inputs: &HostInputs<'_>,
    node: &Device,
    key: &crate::tailscale::NewKey,
    ui: &Ui,
    progress: &dyn Progress,
    out: &mut Rotated,
) -> Result<(), RotateError> {
    let stack = inputs.stack;
    let login_key = inputs
        .vault
        .get("ssh_private_key")
        .ok_or_else(|| RotateError::State("the vault has no ssh_private_key".into()))?
        .clone();
    // 3. Hand over the key and start the re-authentication.
    let (_, session, _) = host::login(inputs, &login_key, progress).await?;
    let before = host::reauth::read_prefs(&session, inputs.step_deadline).await;
    let step = ui.step(&format!(
        "{}: re-authenticate the node (detached)",
        stack.name
    ));
    host::reauth::start(
        &session,
        &inputs.paths,
        stack,
        &key.key,
        inputs.step_deadline,
    )
    .await?;
    drop(session);
    step.done("started");
    // 4. Wait until the key is spent, then find the node's device.
    let step = ui.step(&format!(
        "{}: wait for the node to use the new key",
        stack.name
    ));
    let start = Instant::now();
    loop {
        let spent = ts.get_key(&key.id).await?.is_none_or(|k| k.invalid);
        if spent {
            break;
        }
        if start.elapsed() >= inputs.reach_deadline {
            step.fail("timed out");
            // The node still runs on its old login: what `tailscale up`
            // said is in its log there.
            let said = match host::login(inputs, &login_key, progress).await {
                Ok((_, session, _)) => {
                    let log =
                        host::reauth::take_log(&session, &inputs.paths, inputs.step_deadline).await;
                    if log.is_empty() {
                        String::new()
                    } else {
                        format!("; `tailscale up` on the node said: {log}")
                    }
                }
                Err(e) => format!("; its output could not be read ({e})"),
            };
            return Err(RotateError::State(format!(
                "the node did not use the new key {} within {} s; it is revoked now and the node still runs on its old login{said}. Run `clawprov rotate tailscale-key` again",
                key.id,
                inputs.reach_deadline.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    let all = ts.list_devices().await?;
    let mine = node::of_stack(&all, &stack.tailscale.hostname, &stack.tailscale.tags);
    let now = if mine.iter().any(|d| d.id == node.id) {
        mine.iter().find(|d| d.id == node.id).copied()
    } else {
        node::node_since(&mine, minted_at(key), crate::plan::tailnet::CLOCK_SKEW)
    }
    .ok_or_else(|| {
        RotateError::State(format!(
            "the key was used, but no device of the stack ({}, {}) is on the tailnet",
            stack.tailscale.hostname,
            stack.tailscale.tags.join(",")
        ))
    })?
    .clone();
    out.device_changed = now.id != node.id;
    out.device_after = Some(now.id.clone());
    step.done(&format!("device #{} {}", now.id, now.name));
    // 5. Reconnect (to the device's address, which may have changed).
    let inputs = HostInputs {
        node_address: now.address().or(inputs.node_address),
        stack: inputs.stack,
        vault: inputs.vault,
        ssh_host: inputs.ssh_host.clone(),
        allow_non_tailnet: inputs.allow_non_tailnet,
        known_hosts: inputs.known_hosts.clone(),
        server_id: inputs.server_id,
        reach_deadline: inputs.reach_deadline,
        step_deadline: inputs.step_deadline,
        paths: inputs.paths.clone(),
        templates: inputs.templates.clone(),
    };
    let (_, session, _) = host::login(&inputs, &login_key, progress).await?;
    let status = session
        .check(
            &RemoteCommand::root("tailscale").args(["status", "--json", "--peers=false"]),
            None,
            inputs.step_deadline,
        )
        .await?;
    let state = serde_json::from_str::<serde_json::Value>(&status.stdout)
        .ok()
        .and_then(|v| v["BackendState"].as_str().map(str::to_string))
        .unwrap_or_default();
    out.backend_state = state.clone();
    let log = host::reauth::take_log(&session, &inputs.paths, inputs.step_deadline).await;
    match (
        before,
        host::reauth::read_prefs(&session, inputs.step_deadline).await,
    ) {
        (Some(before), Some(after)) => out.settings_reset = before.changed_in(&after),
        _ => out.settings_unknown = true,
    }
    if state != "Running" && !log.is_empty() {
        return Err(RotateError::State(format!(
            "after the re-authentication tailscaled reports {state:?}, not Running; `tailscale up` said: {log}"
        )));
    }
    if state != "Running" {
        return Err(RotateError::State(format!(
            "after the re-authentication tailscaled reports {state:?}, not Running"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed_revoke() -> Result<bool, TailscaleError> {
        Err(TailscaleError::Transport {
            call: "revoke auth key k123".into(),
            attempts: 3,
            reason: "connection reset".into(),
        })
    }

    #[test]
    fn a_failed_revoke_of_the_new_key_is_reported_never_ignored() {
        assert!(with_revoke(Ok(()), Ok(true), "k123").is_ok());
        let e = with_revoke(Ok(()), failed_revoke(), "k123").unwrap_err();
        assert!(
            e.to_string().contains("revoking the new key k123 failed"),
            "{e}"
        );
        let e = with_revoke(
            Err(RotateError::State(
                "the node did not use the new key".into(),
            )),
            failed_revoke(),
            "k123",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("did not use the new key") && e.contains("k123 failed too"),
            "{e}"
        );
        let e = with_revoke(Err(RotateError::State("x".into())), Ok(false), "k123").unwrap_err();
        assert_eq!(e.to_string(), "x");
    }
}
