//! Where template sources come from: embedded in the binary, or a
//! `--templates DIR` override.

use std::path::{Path, PathBuf};

use super::error::RenderError;

/// The template set to render with.
///
/// `Dir` overrides file by file: a file present in the directory replaces
/// the embedded template of the same name, a file absent from it falls back
/// to the embedded one (so an operator can change one unit without copying
/// them all). A file in the directory whose name is not a known template is
/// an error rather than silently ignored, so a typo in a name cannot hide an
/// intended change. Dotfiles (editor swap files) are skipped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Templates {
    #[default]
    Embedded,
    Dir(PathBuf),
}

/// Name of the top-level template: the `#cloud-config` document.
pub const CLOUD_CONFIG: &str = "cloud-config.yaml.j2";

/// Every template clawprov renders, by file name, with its embedded source.
/// The cloud-config embeds the rendered others as file contents.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        CLOUD_CONFIG,
        include_str!("../../templates/cloud-config.yaml.j2"),
    ),
    (
        "bootstrap.sh.j2",
        include_str!("../../templates/bootstrap.sh.j2"),
    ),
    (
        "clawprov-gateway.service.j2",
        include_str!("../../templates/clawprov-gateway.service.j2"),
    ),
    (
        "sshd-hardening.conf.j2",
        include_str!("../../templates/sshd-hardening.conf.j2"),
    ),
    (
        "metadata-block.sh.j2",
        include_str!("../../templates/metadata-block.sh.j2"),
    ),
    (
        "metadata-block.service.j2",
        include_str!("../../templates/metadata-block.service.j2"),
    ),
    (
        "auto-upgrades.conf.j2",
        include_str!("../../templates/auto-upgrades.conf.j2"),
    ),
    (
        "sysctl-hardening.conf.j2",
        include_str!("../../templates/sysctl-hardening.conf.j2"),
    ),
    (
        "journald.conf.j2",
        include_str!("../../templates/journald.conf.j2"),
    ),
    (
        "unattended-upgrades.conf.j2",
        include_str!("../../templates/unattended-upgrades.conf.j2"),
    ),
    (
        "userdata-shred.sh.j2",
        include_str!("../../templates/userdata-shred.sh.j2"),
    ),
    (
        "userdata-shred.service.j2",
        include_str!("../../templates/userdata-shred.service.j2"),
    ),
];

/// One template's source and where it came from (for error messages and
/// for deciding whether an error is the user's or clawprov's).
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub name: &'static str,
    pub text: String,
    /// `Some(path)` when read from a `--templates` directory.
    pub path: Option<PathBuf>,
}

impl Templates {
    pub(crate) fn sources(&self) -> Result<Vec<Source>, RenderError> {
        let mut sources: Vec<Source> = EMBEDDED
            .iter()
            .map(|(name, text)| Source {
                name,
                text: (*text).to_string(),
                path: None,
            })
            .collect();
        if let Templates::Dir(dir) = self {
            override_from(dir, &mut sources)?;
        }
        Ok(sources)
    }
}

fn override_from(dir: &Path, sources: &mut [Source]) -> Result<(), RenderError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RenderError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RenderError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        paths.push(entry.path());
    }
    paths.sort();
    for path in paths {
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let Some(file_name) = file_name else { continue };
        if file_name.starts_with('.') {
            continue;
        }
        let Some(slot) = sources.iter_mut().find(|s| s.name == file_name) else {
            return Err(RenderError::UnknownTemplate {
                path,
                known: EMBEDDED
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let bytes = std::fs::read(&path).map_err(|e| RenderError::ReadTemplate {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| RenderError::ReadTemplate {
            path: path.clone(),
            detail: format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?;
        slot.text = text;
        slot.path = Some(path);
    }
    Ok(())
}
