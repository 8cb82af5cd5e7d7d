//! `clawprov render`: everything clawprov will put on the server, exactly as
//! it will land: the user-data the server boots with, then every file the
//! host phase delivers (made by the same code that delivers them). Secret
//! values are `[redacted:KEY]` unless `--show-secrets` (the user-data's
//! auth key is `[redacted]`), so files keep their shape.

use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::context::shown;
use super::target::Loaded;
use crate::cli::{GlobalArgs, RenderArgs};
use crate::error::{Error, Result};
use crate::host::{desired_files, Account, DesiredFile};
use crate::ui::{Report, Ui};

/// Where the user-data lands under `--out`.
const USER_DATA_FILE: &str = "user-data.yaml";

/// One file as it will be on the server.
struct RenderedFile {
    /// The remote path, or `user-data.yaml` for the user-data.
    path: String,
    /// What it is, for the header: "user-data" or "host file".
    kind: &'static str,
    owner: String,
    mode: &'static str,
    content: Vec<u8>,
}

impl RenderedFile {
    fn sha256(&self) -> String {
        hex::encode(Sha256::digest(&self.content))
    }
}

struct Rendered {
    files: Vec<RenderedFile>,
    fingerprint: String,
    /// The fingerprint under the previous bootstrap generation (what a
    /// server an earlier clawprov set up for this stack carries).
    previous_fingerprint: String,
    out: Option<PathBuf>,
    redacted: bool,
}

impl Report for Rendered {
    fn human(&self) -> String {
        match &self.out {
            Some(dir) => {
                let mut text = format!(
                    "wrote {} files under {} (user-data fingerprint {}{}):",
                    self.files.len(),
                    shown(dir),
                    self.fingerprint,
                    if self.redacted {
                        ", secrets redacted"
                    } else {
                        ""
                    }
                );
                for f in &self.files {
                    text.push_str(&format!("\n  {}", local_path(dir, &f.path).display()));
                }
                text
            }
            None => {
                let mut text = String::new();
                for f in &self.files {
                    text.push_str(&format!(
                        "==> {} ({}, owner {}, mode {}, sha256 {}) <==\n",
                        f.path,
                        f.kind,
                        f.owner,
                        f.mode,
                        f.sha256()
                    ));
                    text.push_str(&String::from_utf8_lossy(&f.content));
                    if !f.content.ends_with(b"\n") {
                        text.push('\n');
                    }
                }
                text.trim_end().to_string()
            }
        }
    }
    fn json(&self) -> serde_json::Value {
        let files: Vec<serde_json::Value> = self
            .files
            .iter()
            .map(|f| {
                json!({
                    "path": f.path,
                    "kind": f.kind,
                    "owner": f.owner,
                    "mode": f.mode,
                    "sha256": f.sha256(),
                    "content": String::from_utf8_lossy(&f.content),
                })
            })
            .collect();
        json!({
            "files": files,
            "user_data_fingerprint": self.fingerprint,
            "bootstrap_generation": crate::render::BOOTSTRAP_GENERATION,
            "previous_user_data_fingerprint": self.previous_fingerprint,
            "redacted": self.redacted,
            "out": self.out,
        })
    }
}

/// `DIR/<remote path>` for a host file, `DIR/user-data.yaml` for the user-data.
fn local_path(dir: &Path, remote: &str) -> PathBuf {
    dir.join(remote.trim_start_matches('/'))
}

pub fn run(args: RenderArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    if global.stack.len() > 1 {
        return Err(Error::bad_input("render takes one stack; pass -s once"));
    }
    // The same loading and rendering `plan` and `up` use, so what is shown
    // here is byte for byte what the server would boot with.
    let loaded = Loaded::load(global.stack.first().cloned(), global, false, ui)?;
    let (_, user_data) = loaded.desired(global, false)?;
    let mut files = vec![RenderedFile {
        path: USER_DATA_FILE.into(),
        kind: "user-data",
        owner: "root".into(),
        mode: "0600",
        content: if args.show_secrets {
            user_data.expose().as_bytes().to_vec()
        } else {
            user_data.redacted().into_bytes()
        },
    }];
    // The host phase's files, from the code that delivers them, for the
    // account cloud-init will create.
    let stack = &loaded.stack;
    let account = Account::expected(&stack.host.service_user);
    let vault = if args.show_secrets {
        loaded.vault.clone()
    } else {
        loaded.vault.placeholders()
    };
    let unit = crate::render::gateway_unit(&super::target::templates(global), stack)?;
    let mut host_files = desired_files(stack, &vault, &account)?;
    host_files.push(DesiredFile::unit(&account, &unit));
    for file in host_files {
        files.push(RenderedFile {
            path: file.path.clone(),
            kind: "host file",
            owner: format!("{0}:{0}", account.name),
            mode: "0600",
            content: file.expose_content().to_vec(),
        });
    }

    if let Some(dir) = &args.out {
        for f in &files {
            write_private(&local_path(dir, &f.path), &f.content)?;
        }
    }
    ui.emit(&Rendered {
        files,
        fingerprint: user_data.fingerprint(),
        previous_fingerprint: user_data.previous_fingerprint(),
        out: args.out.clone(),
        redacted: !args.show_secrets,
    });
    Ok(())
}

/// Files may hold secrets: 0600 in 0700 directories either way.
fn write_private(path: &Path, content: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::failed(format!("{}: cannot create: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::failed(format!("{}: cannot write: {e}", path.display())))?;
    file.write_all(content)
        .map_err(|e| Error::failed(format!("{}: cannot write: {e}", path.display())))
}
