//! The gateway's state carried across a server replace by `up`: a backup
//! of the old server's state directory before anything is deleted, and
//! its restore into the new server once the new server's host phase
//! succeeded (then the host phase once more, which restarts and probes
//! the gateway), so a replace loses nothing. The work is `crate::backup`'s;
//! this wires it to what `up` has at hand.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::backup::{backups_dir, seal_of};
use super::host_progress::UiProgress;
use super::restore::opener_of;
use super::target::Loaded;
use super::transfer_progress::TransferProgress;
use crate::backup::{self, Manifest};
use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::host::{self, Account, HostInputs, ServiceAction, Silent};
use crate::secrets::Secret;
use crate::ui::Ui;

/// What was carried over.
#[derive(Debug, Clone, Serialize)]
pub struct Carried {
    /// The backup of the old server (kept: it is also an ordinary backup).
    pub archive: PathBuf,
    pub files: u64,
    pub bytes: u64,
    pub sha256: String,
    /// Set once restored into the new server.
    pub restored: bool,
    /// Where the new server's state from before the restore was kept.
    pub previous: Option<String>,
    /// What the host phase after the restore did with the gateway (it was
    /// stopped for the swap, so: started).
    pub gateway: Option<ServiceAction>,
    /// The key the backup was signed with, which the restore checks it
    /// against (never reported; the vault is not opened a second time).
    #[serde(skip)]
    signing_key: Option<Secret>,
}

/// Back up the old server's state directory (`inputs` point at it).
pub async fn take(
    inputs: &HostInputs<'_>,
    loaded: &Loaded,
    global: &GlobalArgs,
    ui: &Ui,
) -> Result<Carried> {
    let name = &loaded.stack.name;
    let (session, account) = login(inputs, loaded).await?;
    let seal = seal_of(&loaded.path, global)?;
    let signing_key =
        super::backup::context_of(&loaded.path, global)?.backup_signing_key(&loaded.vault, ui)?;
    let out = backups_dir(&loaded.path, name)
        .join(format!("{name}-{}.tar.age", backup::restore::stamp()));
    let progress = Arc::new(TransferProgress::new(
        ui,
        &format!(
            "{name}: backup of the old server's {}",
            backup::remote::state_dir(&account)
        ),
        None,
    ));
    let taken = backup::take(
        &session,
        &account,
        name,
        &loaded.vault,
        seal,
        backup::Destination {
            path: out.clone(),
            max_size: backup::DEFAULT_MAX_SIZE,
            signing_key: signing_key.clone(),
        },
        progress.clone(),
    )
    .await?;
    let m: &Manifest = &taken.manifest;
    progress.finish(
        m.bytes,
        &format!("{} files, in {}", m.files, super::context::shown(&out)),
    );
    Ok(Carried {
        archive: out,
        files: m.files,
        bytes: m.bytes,
        sha256: m.sha256.clone(),
        restored: false,
        previous: None,
        gateway: None,
        signing_key: Some(signing_key),
    })
}

/// Restore `carried` into the new server (`inputs` point at it), then run
/// the host phase again: it re-delivers the files and starts the gateway
/// (the new server's own host phase report stays `up`'s: it is the one
/// that pinned the new host key).
pub async fn restore(
    inputs: HostInputs<'_>,
    loaded: &Loaded,
    carried: &mut Carried,
    global: &GlobalArgs,
    ui: &Ui,
) -> Result<()> {
    let name = &loaded.stack.name;
    let (session, account) = login(&inputs, loaded).await?;
    let opener = opener_of(&loaded.path, global)?;
    let progress = Arc::new(TransferProgress::new(
        ui,
        &format!(
            "{name}: restore into the new server's {}",
            backup::remote::state_dir(&account)
        ),
        Some(carried.bytes),
    ));
    // The archive the old server's backup just wrote, with the key it
    // was signed with.
    let trust = backup::Trust {
        key: carried.signing_key.clone(),
        allow_unsigned: false,
    };
    let checked = backup::check(&carried.archive, &opener, &trust).await?;
    let restored = backup::restore(&session, &account, &checked, &opener, progress.clone()).await?;
    progress.finish(restored.manifest.bytes, "checked on the server, swapped in");
    carried.restored = true;
    carried.previous = restored.previous;
    let report = host::run(inputs, &UiProgress::new(ui, name)).await?;
    carried.gateway = Some(report.service);
    Ok(())
}

async fn login(inputs: &HostInputs<'_>, loaded: &Loaded) -> Result<(host::Session, Account)> {
    let key = loaded.vault.get("ssh_private_key").ok_or_else(|| {
        Error::bad_input(format!(
            "stack {}: the vault has no ssh_private_key (clawprov's login to the server)",
            loaded.stack.name
        ))
    })?;
    let (_addr, session, _opened) = host::login(inputs, key, &Silent).await?;
    let account = Account::lookup(&session, &loaded.stack.host.service_user).await?;
    Ok((session, account))
}
