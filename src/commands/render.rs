//! `clawprov render`: the user-data the server would boot with, auth key
//! redacted unless `--show-secrets`.

use std::path::PathBuf;

use serde_json::json;

use super::context::shown;
use super::target::Loaded;
use crate::cli::{GlobalArgs, RenderArgs};
use crate::error::{Error, Result};
use crate::ui::{Report, Ui};

struct Rendered {
    text: String,
    bytes: usize,
    fingerprint: String,
    written: Option<PathBuf>,
    redacted: bool,
}

impl Report for Rendered {
    fn human(&self) -> String {
        match &self.written {
            Some(path) => format!(
                "wrote {} ({} bytes, fingerprint {})",
                shown(path),
                self.bytes,
                self.fingerprint
            ),
            None => self.text.clone(),
        }
    }
    fn json(&self) -> serde_json::Value {
        json!({
            "user_data": if self.written.is_some() { None } else { Some(&self.text) },
            "path": self.written,
            "bytes": self.bytes,
            "fingerprint": self.fingerprint,
            "redacted": self.redacted,
        })
    }
}

pub fn run(args: RenderArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    if global.stack.len() > 1 {
        return Err(Error::bad_input("render takes one stack; pass -s once"));
    }
    // The same loading and rendering `plan` and `up` use, so what is shown
    // here is byte for byte what the server would boot with.
    let loaded = Loaded::load(global.stack.first().cloned(), global, false, ui)?;
    let (_, user_data) = loaded.desired(global, false)?;
    let text = if args.show_secrets {
        user_data.expose().to_string()
    } else {
        user_data.redacted()
    };

    let written = match &args.out {
        Some(dir) => {
            let path = dir.join("user-data.yaml");
            write_private(&path, &text)?;
            Some(path)
        }
        None => None,
    };
    ui.emit(&Rendered {
        bytes: user_data.len(),
        fingerprint: user_data.fingerprint(),
        text,
        written,
        redacted: !args.show_secrets,
    });
    Ok(())
}

/// user-data may hold the auth key: written 0600 either way.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::failed(format!("{}: cannot create: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::failed(format!("{}: cannot write: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| Error::failed(format!("{}: cannot write: {e}", path.display())))
}
