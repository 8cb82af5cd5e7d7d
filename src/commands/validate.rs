//! `clawprov validate`: find the stack file, load it (every allowlist), and
//! say what it describes. Changes nothing and needs no secrets.

use std::path::PathBuf;

use serde_json::json;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result};
use crate::stack::{self, Stack};
use crate::ui::{Report, Ui};

pub fn run(global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::failed(format!("cannot read the working directory: {e}")))?;
    let env = std::env::var_os("CLAWPROV_STACK");
    let path = stack::discover(
        global.stack.first().map(std::path::PathBuf::as_path),
        env.as_deref(),
        &cwd,
    )?;
    let loaded = stack::load(&path)?;
    let vault = stack::vault_path(&loaded, &path);
    ui.emit(&Validated {
        path,
        vault,
        stack: loaded,
    });
    Ok(())
}

/// A stack file that passed validation.
struct Validated {
    path: PathBuf,
    vault: PathBuf,
    stack: Stack,
}

impl Report for Validated {
    fn human(&self) -> String {
        let s = &self.stack;
        let h = &s.hetzner;
        let t = &s.tailscale;
        let vault_state = if self.vault.exists() {
            ""
        } else {
            " (not created yet)"
        };
        format!(
            "{}: valid\n  name:    {}\n  server:  {} in {} ({})\n  node:    {}.{} tags {}\n  gateway: openclaw {} on 127.0.0.1:{}\n  vault:   {}{}",
            self.path.display(),
            s.name,
            h.server_type,
            h.location,
            h.image,
            t.hostname,
            t.tailnet,
            t.tags.join(","),
            s.openclaw.version,
            s.openclaw.port,
            self.vault.display(),
            vault_state,
        )
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "stack": self.path,
            "name": self.stack.name,
            "valid": true,
            "vault": self.vault,
        })
    }
}
