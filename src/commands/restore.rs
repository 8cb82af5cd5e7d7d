//! `clawprov restore [ARCHIVE]`: a backup back onto the stack's current
//! server, then the host phase re-run (re-delivers openclaw.json and
//! gateway.env, starts the gateway, probes it), as `up` ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::json;

use super::backup::{backups_dir, context_of};
use super::context::shown;
use super::host_progress::UiProgress;
use super::node::Node;
use super::transfer_progress::TransferProgress;
use crate::backup::{self, BackupError, Manifest, Opener};
use crate::cli::{GlobalArgs, RestoreArgs};
use crate::error::Result;
use crate::host::{self, HostReport};
use crate::secrets;
use crate::ui::{Report, Ui};

struct RestoreReport {
    archive: PathBuf,
    manifest: Manifest,
    state_dir: String,
    previous: Option<String>,
    host: HostReport,
}

impl Report for RestoreReport {
    fn human(&self) -> String {
        let m = &self.manifest;
        let mut out = format!(
            "stack {}: restored {} into {} ({} files, {} bytes; manifest sha256 {} checked on the server)\n",
            m.stack,
            shown(&self.archive),
            self.state_dir,
            m.files,
            m.bytes,
            m.sha256
        );
        if let Some(p) = &self.previous {
            out.push_str(&format!(
                "  the state it replaced is kept in {p} (remove it when you no longer need it)\n"
            ));
        }
        out.push_str(&format!("  gateway  {} (running again)\n", self.host.url));
        out
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "archive": self.archive,
            "manifest": self.manifest,
            "state_dir": self.state_dir,
            "previous": self.previous,
            "host": self.host,
        })
    }
}

pub async fn run(args: RestoreArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let node = Node::connect(&args.node, global, ui, "restore").await?;
    let name = node.loaded.stack.name.clone();
    let archive = match &args.archive {
        Some(p) => p.clone(),
        None => {
            let picked = newest(&backups_dir(&node.loaded.path, &name), &name)?;
            // Said before anything changes, --json or not.
            ui.warn(&format!(
                "no archive named: restoring the newest, {}",
                shown(&picked)
            ));
            picked
        }
    };
    let trust = backup::Trust {
        key: node
            .loaded
            .vault
            .get(backup::signature::SIGNING_KEY)
            .cloned(),
        allow_unsigned: args.unsigned,
    };
    let opener = opener_of(&node.loaded.path, global)?;
    let check = ui.step(&format!(
        "{name}: check {} against its manifest",
        shown(&archive)
    ));
    let checked = match backup::check(&archive, &opener, &trust).await {
        Ok(c) => c,
        Err(e) => {
            check.fail("refused");
            return Err(e.into());
        }
    };
    let manifest = &checked.manifest;
    check.done(&format!(
        "{} files, {} bytes",
        manifest.files, manifest.bytes
    ));
    let progress = Arc::new(TransferProgress::new(
        ui,
        &format!(
            "{name}: restore into {}",
            backup::remote::state_dir(&node.account)
        ),
        Some(manifest.bytes),
    ));
    let restored = backup::restore(
        &node.session,
        &node.account,
        &checked,
        &opener,
        progress.clone(),
    )
    .await?;
    progress.finish(restored.manifest.bytes, "checked on the server, swapped in");
    let host = host::run(node.host_inputs(), &UiProgress::new(ui, &name)).await?;
    ui.emit(&RestoreReport {
        archive,
        manifest: restored.manifest,
        state_dir: restored.state_dir,
        previous: restored.previous,
        host,
    });
    Ok(())
}

/// The newest `NAME-*.tar.age` in `dir` (the names sort like their time).
fn newest(dir: &Path, name: &str) -> Result<PathBuf> {
    let none = || BackupError::NoArchive {
        stack: name.to_string(),
        dir: dir.to_path_buf(),
    };
    let entries = std::fs::read_dir(dir).map_err(|_| none())?;
    let prefix = format!("{name}-");
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".tar.age"))
        })
        .collect();
    found.sort();
    Ok(found.pop().ok_or_else(none)?)
}

/// The vault's way of opening, for the archive: the identity file, or the
/// passphrase (asked again, or `$CLAWPROV_PASSPHRASE`).
pub fn opener_of(stack_file: &Path, global: &GlobalArgs) -> Result<Opener> {
    let ctx = context_of(stack_file, global)?;
    if ctx.uses_passphrase() {
        return Ok(Opener::Passphrase(secrets::passphrase(false)?));
    }
    Ok(Opener::IdentityFile(ctx.identity_path()?))
}
