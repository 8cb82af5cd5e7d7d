//! `clawprov backup`: the node's state directory into a sealed local
//! archive (the work is in `crate::backup`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use super::context::{shown, StackContext};
use super::node::Node;
use super::transfer_progress::{mib, TransferProgress};
use crate::backup::{self, Manifest, Seal};
use crate::cli::{BackupArgs, GlobalArgs};
use crate::error::{Error, Result};
use crate::secrets;
use crate::ui::{Report, Ui};

struct BackupReport {
    archive: PathBuf,
    manifest: Manifest,
    seconds: f64,
    warnings: Option<String>,
}

impl Report for BackupReport {
    fn human(&self) -> String {
        let m = &self.manifest;
        let mut out = format!(
            "stack {}: backup of {} written to {}\n  {} files, {} directories, {} ({} bytes) in {:.1} s\n  manifest sha256 {}\n",
            m.stack,
            m.state_dir,
            shown(&self.archive),
            m.files,
            m.dirs,
            mib(m.bytes),
            m.bytes,
            self.seconds,
            m.sha256
        );
        if let Some(w) = &self.warnings {
            out.push_str(&format!(
                "  note: tar warned (the archive holds what it read): {w}\n"
            ));
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "archive": self.archive,
            "manifest": self.manifest,
            "seconds": self.seconds,
            "bytes_per_second": rate(self.manifest.bytes, self.seconds),
            "warnings": self.warnings,
        })
    }
}

fn rate(bytes: u64, seconds: f64) -> u64 {
    if seconds > 0.0 {
        (bytes as f64 / seconds) as u64
    } else {
        0
    }
}

pub async fn run(args: BackupArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let node = Node::connect(&args.node, global, ui, "backup").await?;
    let seal = seal_of(&node.loaded.path, global)?;
    let signing_key =
        context_of(&node.loaded.path, global)?.backup_signing_key(&node.loaded.vault, ui)?;
    let name = &node.loaded.stack.name;
    let out = match &args.output {
        Some(p) => p.clone(),
        None => backups_dir(&node.loaded.path, name)
            .join(format!("{name}-{}.tar.age", backup::restore::stamp())),
    };
    let progress = Arc::new(TransferProgress::new(
        ui,
        &format!(
            "{name}: backup of {}",
            backup::remote::state_dir(&node.account)
        ),
        None,
    ));
    let started = Instant::now();
    let taken = backup::take(
        &node.session,
        &node.account,
        name,
        &node.loaded.vault,
        seal,
        backup::Destination {
            path: out.clone(),
            max_size: args.max_size,
            signing_key,
        },
        progress.clone(),
    )
    .await?;
    let seconds = started.elapsed().as_secs_f64();
    progress.finish(
        taken.manifest.bytes,
        &format!("{} files", taken.manifest.files),
    );
    ui.emit(&BackupReport {
        archive: out,
        manifest: taken.manifest,
        seconds,
        warnings: taken.warnings,
    });
    Ok(())
}

/// `stacks/NAME.backups/` beside the stack file.
pub fn backups_dir(stack_file: &Path, name: &str) -> PathBuf {
    stack_file
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!("{name}.backups"))
}

/// The vault's way of sealing, for the archive: its recipients, or its
/// passphrase (asked again, or `$CLAWPROV_PASSPHRASE`).
pub fn seal_of(stack_file: &Path, global: &GlobalArgs) -> Result<Seal> {
    let ctx = context_of(stack_file, global)?;
    if ctx.uses_passphrase() {
        return Ok(Seal::Passphrase(secrets::passphrase(false)?));
    }
    Ok(Seal::Recipients(ctx.recipients()?))
}

pub fn context_of(stack_file: &Path, global: &GlobalArgs) -> Result<StackContext> {
    let mut one = global.clone();
    one.stack = vec![stack_file.to_path_buf()];
    StackContext::load(&one).map_err(|e| Error::new(e.kind(), e.to_string()))
}
