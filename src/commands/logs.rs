//! `clawprov logs`: the gateway's journal on the node (`host::journal`), or
//! with `--bootstrap` what is left of the bootstrap's traces. Everything
//! printed passes `host::scrubbed` (vault values as `[redacted:KEY]`).

use std::time::Duration;

use serde_json::json;

use super::node::Node;
use crate::cli::{GlobalArgs, LogsArgs};
use crate::error::{Error, Result};
use crate::host::command::RemoteCommand;
use crate::host::journal::{self, JournalQuery, TimeSpec};
use crate::host::terminal::{self, Program, RemoteExit, Wiring};
use crate::host::{scrub, Session};
use crate::secrets::Vault;
use crate::ui::{Report, Ui};

/// Lines shown when neither -n nor --since says otherwise.
const DEFAULT_LINES: u32 = 200;
const READ_TIMEOUT: Duration = Duration::from_secs(60);

pub async fn run(args: LogsArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let since = args.since.as_deref().map(TimeSpec::parse).transpose()?;
    let query = JournalQuery {
        lines: args.lines.or(if since.is_none() {
            Some(DEFAULT_LINES)
        } else {
            None
        }),
        since,
        follow: args.follow,
        json: ui.json(),
    };
    let node = Node::connect(&args.node, global, ui, "logs").await?;
    if args.bootstrap {
        let report = bootstrap(&node.session, &node.paths, &node.loaded.vault).await?;
        ui.emit(&report);
        return Ok(());
    }
    let cmd = journal::gateway(&node.account, &query);
    let wiring = Wiring::Pipes {
        scrub: Some(node.loaded.vault.clone()),
        stdin: false,
    };
    let status = terminal::run(&node.session, Program::Command(&cmd), wiring).await?;
    if status != 0 {
        return Err(RemoteExit {
            command: cmd.to_string(),
            status,
        }
        .into());
    }
    Ok(())
}

/// What `--bootstrap` found.
struct BootstrapLogs {
    output_log_path: String,
    output_log: Option<String>,
    status: String,
    bootstrap_log_path: String,
    /// `None` once `up` has shredded it.
    bootstrap_log: Option<String>,
}

async fn bootstrap(
    session: &Session,
    paths: &crate::host::HostPaths,
    vault: &Vault,
) -> Result<BootstrapLogs> {
    let read = |path: String| async move {
        let cat = RemoteCommand::root("cat").arg("--").arg(path.as_str());
        let out = session.run(&cat, None, READ_TIMEOUT).await?;
        Ok::<_, Error>(out.success().then(|| scrub(&out.stdout, vault)))
    };
    let status = RemoteCommand::root("cloud-init").args(["status", "--long"]);
    let out = session.run(&status, None, READ_TIMEOUT).await?;
    let status = if out.stdout.trim().is_empty() {
        format!(
            "(cloud-init status: exit {}: {})",
            out.status,
            out.stderr.trim()
        )
    } else {
        scrub(&out.stdout, vault)
    };
    Ok(BootstrapLogs {
        output_log: read(paths.cloud_init_output_log.clone()).await?,
        output_log_path: paths.cloud_init_output_log.clone(),
        status,
        bootstrap_log: read(paths.bootstrap_log.clone()).await?,
        bootstrap_log_path: paths.bootstrap_log.clone(),
    })
}

impl Report for BootstrapLogs {
    fn human(&self) -> String {
        let mut out = format!("== cloud-init status --long\n{}\n", self.status.trim_end());
        out.push_str(&format!("== {}\n", self.output_log_path));
        match &self.output_log {
            Some(text) => out.push_str(text),
            None => {
                out.push_str("(not there: `up` shreds it when it holds the bootstrap's output)\n")
            }
        }
        out.push_str(&format!("== {}\n", self.bootstrap_log_path));
        match &self.bootstrap_log {
            Some(text) => out.push_str(text),
            None => out.push_str("(gone: `up` shreds it once the host phase has read it)\n"),
        }
        out
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "cloud_init_status": self.status,
            "cloud_init_output_log": { "path": self.output_log_path, "text": self.output_log },
            "bootstrap_log": { "path": self.bootstrap_log_path, "text": self.bootstrap_log },
        })
    }
}
