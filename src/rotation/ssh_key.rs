//! `rotate ssh-key`: a new key for the admin user (`ssh_private_key`).
//!
//! 1. make the new key and keep it in the vault as
//!    [`PENDING_SSH_PRIVATE_KEY`], beside the current one;
//! 2. log in (with the current key, or the pending one if an interrupted
//!    run got further) and add the new key to the admin's authorized_keys;
//! 3. a fresh connection with the new key proves it logs in;
//! 4. the new key becomes the vault's `ssh_private_key`; the vault records
//!    the old public key as retiring (the old private key is gone);
//! 5. logged in with the new key, the old one leaves authorized_keys
//!    (read back to confirm);
//! 6. Hetzner's SSH key resource follows: the old one deleted, one with
//!    the new public key created under the same name and labels (a server
//!    keeps the keys it was created with; this resource only matters for
//!    the next server);
//! 7. the retiring record is cleared.
//!
//! Never a lock-out: until step 4 the vault's current key is in
//! authorized_keys; from step 3 on the new key is too, and it is the one
//! the vault keeps. A re-run after a kill at any point picks up from the
//! vault's state (a pending key, a retiring record) and finishes.

use serde::Serialize;

use super::{kill_point, RotationError};
use crate::hetzner::{Hetzner, Server};
use crate::host::{authorized_keys, login, HostError, HostInputs, Progress, Session};
use crate::plan::{base_labels, resource_name, selector, Desired, USER_DATA_LABEL};
use crate::secrets::{
    generate_ssh_key, public_key_of, Secret, Vault, VaultFile, PENDING_SSH_PRIVATE_KEY,
};

/// What a rotation did; holds no secret (public keys are not).
#[derive(Debug, Clone, Serialize)]
pub struct SshKeyRotated {
    pub stack: String,
    /// An interrupted run's pending key or retiring record was taken up.
    pub resumed: bool,
    /// `ssh-ed25519 AAAA...` now in the vault and on the node.
    pub new_public_key: String,
    /// The key it replaced, gone from the node and from Hetzner.
    pub old_public_key: Option<String>,
    /// Hetzner's SSH key resource now (id).
    pub hetzner_ssh_key: Option<i64>,
    /// The server was labelled with the fingerprint an earlier clawprov
    /// took with the operator keys; relabelled first, so that the new key
    /// is not a replace.
    pub relabelled: bool,
    /// `YYYY-MM-DD` the new key was made.
    pub set: String,
}

/// Rotate. `base` reaches the node (its vault is not used); `vault` is the
/// stack's vault, changed and written to `file` along the way; `server`
/// and `desired` are what `plan` sees of the stack on Hetzner.
pub async fn rotate(
    base: &HostInputs<'_>,
    vault: &mut Vault,
    file: &VaultFile,
    hetzner: &Hetzner,
    server: &Server,
    desired: &Desired,
    progress: &dyn Progress,
) -> Result<SshKeyRotated, RotationError> {
    let stack = base.stack;
    let current = vault
        .get("ssh_private_key")
        .cloned()
        .ok_or(RotationError::Missing("ssh_private_key"))?;
    let pending_before = vault.get(PENDING_SSH_PRIVATE_KEY).is_some();
    let retiring_before = vault.record().retiring_ssh_key.clone();
    let resumed = pending_before || retiring_before.is_some();

    // 0. A server labelled with the keyed fingerprint: relabel it first, or
    //    the new key would read as new user-data (a replace).
    let relabelled = relabel(hetzner, server, desired).await?;

    let mut old_public = retiring_before.clone();
    if retiring_before.is_none() {
        // 1. The pending key, kept before anything else happens.
        let pending = match vault.get(PENDING_SSH_PRIVATE_KEY) {
            Some(p) => p.clone(),
            None => {
                let (private, _) = generate_ssh_key(&format!("clawprov-{}", stack.name))?;
                vault.set_internal(PENDING_SSH_PRIVATE_KEY, private.clone())?;
                file.save(vault)?;
                private
            }
        };
        kill_point("ssh-key:pending");
        // 2. Added to the node, beside the current one.
        let session = login_any(base, &[&current, &pending], progress).await?;
        authorized_keys::ensure(&session, &authorized_keys::declared(stack, vault)?).await?;
        drop(session);
        kill_point("ssh-key:added");
        // 3. A fresh connection with the new key alone.
        login(base, &pending, progress).await.map_err(|e| {
            RotationError::Failed(format!(
                "the new key was added to the admin's authorized_keys but does not log in: {e}. \
                 The vault keeps the current key (it still logs in) and the new one as pending; \
                 `clawprov rotate ssh-key` again tries once more"
            ))
        })?;
        kill_point("ssh-key:proven");
        // 4. The new key is the vault's; the old one is retiring.
        let old = public_key_of(&current)?;
        vault.promote(PENDING_SSH_PRIVATE_KEY, "ssh_private_key");
        vault.record_mut().retiring_ssh_key = Some(old.clone());
        file.save(vault)?;
        old_public = Some(old);
        kill_point("ssh-key:promoted");
    }
    let new = vault
        .get("ssh_private_key")
        .cloned()
        .ok_or(RotationError::Missing("ssh_private_key"))?;
    let new_public = public_key_of(&new)?;

    // 5. The old key leaves the node; read back to confirm.
    let session = login(base, &new, progress).await?.1;
    authorized_keys::ensure(&session, &authorized_keys::declared(stack, vault)?).await?;
    if let Some(old) = &old_public {
        let old_material = authorized_keys::key_material(old);
        if authorized_keys::read(&session)
            .await?
            .iter()
            .any(|k| Some(k) == old_material.as_ref())
        {
            return Err(RotationError::Failed(
                "the old key is still in the admin's authorized_keys after the write".into(),
            ));
        }
    }
    drop(session);
    kill_point("ssh-key:node");

    // 6. Hetzner's SSH key resource follows.
    let hetzner_ssh_key = follow_on_hetzner(hetzner, &stack.name, &new_public).await?;
    kill_point("ssh-key:hetzner");

    // 7. Done.
    vault.record_mut().retiring_ssh_key = None;
    file.save(vault)?;
    Ok(SshKeyRotated {
        stack: stack.name.clone(),
        resumed,
        new_public_key: authorized_keys::key_material(&new_public).unwrap_or_default(),
        old_public_key: old_public.and_then(|o| authorized_keys::key_material(&o)),
        hetzner_ssh_key,
        relabelled,
        set: vault
            .set_at("ssh_private_key")
            .map(|s| s.date())
            .unwrap_or_default(),
    })
}

/// Log in with the first of `keys` the node takes.
async fn login_any(
    base: &HostInputs<'_>,
    keys: &[&Secret],
    progress: &dyn Progress,
) -> Result<Session, RotationError> {
    let mut last = None;
    for key in keys {
        match login(base, key, progress).await {
            Ok((_, session, _)) => return Ok(session),
            Err(e @ HostError::Ssh { .. }) => last = Some(e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .map(RotationError::from)
        .unwrap_or(RotationError::Missing("ssh_private_key")))
}

/// Label the server with the fingerprint that leaves the keys out, when it
/// carries this generation's keyed one (whether it did).
async fn relabel(
    hetzner: &Hetzner,
    server: &Server,
    desired: &Desired,
) -> Result<bool, RotationError> {
    let want = &desired.server;
    let have = server.labels.get(USER_DATA_LABEL);
    if have.is_none()
        || have == Some(&want.user_data_fingerprint)
        || have != want.keyed_user_data_fingerprint.as_ref()
    {
        return Ok(false);
    }
    let mut labels = server.labels.clone();
    labels.insert(USER_DATA_LABEL.into(), want.user_data_fingerprint.clone());
    hetzner.set_server_labels(server.id, &labels).await?;
    Ok(true)
}

/// Make the stack's SSH key resource hold `public`: delete any that holds
/// another key, then create it (Hetzner keeps a key's public half fixed,
/// and names are unique, so it is delete, then create). Its id.
async fn follow_on_hetzner(
    hetzner: &Hetzner,
    stack: &str,
    public: &str,
) -> Result<Option<i64>, RotationError> {
    let want = authorized_keys::key_material(public);
    let keys = hetzner.list_ssh_keys(&selector(stack)).await?;
    let mut kept = None;
    for k in keys {
        if authorized_keys::key_material(&k.public_key) == want && kept.is_none() {
            kept = Some(k.id);
        } else {
            hetzner.delete_ssh_key(k.id).await?;
        }
    }
    if kept.is_some() {
        return Ok(kept);
    }
    kill_point("ssh-key:hetzner-deleted");
    let created = hetzner
        .create_ssh_key(&resource_name(stack), public.trim(), &base_labels(stack))
        .await?;
    Ok(Some(created.id))
}
