//! `clawprov init NAME`: a new stack file and its vault, and the operator's
//! age identity when there is none yet.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::context::shown;
use crate::cli::{GlobalArgs, InitArgs};
use crate::error::{Error, Result};
use crate::secrets::{self, identity, Lock, Recipient, Vault};
use crate::stack;
use crate::ui::{Report, Ui};

struct Initialized {
    stack: PathBuf,
    vault: PathBuf,
    identity: Option<PathBuf>,
    identity_created: bool,
    recipients: Vec<String>,
    auth_keys: Vec<&'static str>,
}

impl Report for Initialized {
    fn human(&self) -> String {
        let mut out = String::new();
        if let (Some(id), true) = (&self.identity, self.identity_created) {
            out.push_str(&format!(
                "created age identity {} (keep it safe: it opens your vault)\n",
                id.display()
            ));
        }
        out.push_str(&format!(
            "wrote {}\nwrote {} (gateway_token and ssh_private_key generated)\n",
            shown(&self.stack),
            shown(&self.vault)
        ));
        out.push_str("\nnext:\n");
        out.push_str(&format!(
            "  edit {}: tailscale.tailnet and the rest\n",
            shown(&self.stack)
        ));
        for key in ["hcloud_token"]
            .iter()
            .chain(self.auth_keys.iter())
            .chain(["claude_setup_token"].iter())
        {
            out.push_str(&format!(
                "  clawprov -s {} secrets set {key}\n",
                shown(&self.stack)
            ));
        }
        out
    }
    fn json(&self) -> serde_json::Value {
        json!({
            "stack": self.stack,
            "vault": self.vault,
            "identity": self.identity,
            "identity_created": self.identity_created,
            "recipients": self.recipients,
        })
    }
}

pub fn run(args: InitArgs, global: &GlobalArgs, ui: &Ui) -> Result<()> {
    let dir = args.dir.join("stacks");
    let stack_path = dir.join(format!("{}.yaml", args.name));
    let tailnet = args
        .tailnet
        .clone()
        .unwrap_or_else(|| "example.ts.net".to_string());
    let hostname = default_hostname(&args.name);

    // Refuse early, before touching the identity, if anything would be overwritten.
    for path in [&stack_path, &dir.join(format!("{}.secrets.age", args.name))] {
        if path.exists() {
            return Err(Error::bad_input(format!(
                "{}: already exists; init never overwrites",
                path.display()
            )));
        }
    }
    // Check NAME and --tailnet before anything is created (the identity
    // included), and report them as the arguments they are.
    let probe = stack::init_document(&args.name, &tailnet, &hostname, &[], true);
    if let Err(e) = stack::parse(probe.as_bytes(), &stack_path) {
        let what = match e.field.as_str() {
            "name" | "tailscale.hostname" => "NAME".to_string(),
            "tailscale.tailnet" => "--tailnet".to_string(),
            other => other.to_string(),
        };
        let hint = e
            .hint
            .as_deref()
            .map(|h| format!("\n  hint: {h}"))
            .unwrap_or_default();
        return Err(Error::bad_input(format!(
            "init: {what}: {}{hint}",
            e.message
        )));
    }
    for r in &args.recipients {
        Recipient::parse(r).map_err(|why| Error::bad_input(format!("--recipient: {why}")))?;
    }

    let (identity_path, identity_created, recipients) = if args.passphrase {
        if !args.recipients.is_empty() {
            return Err(Error::bad_input(
                "--passphrase and --recipient exclude each other",
            ));
        }
        (None, false, Vec::new())
    } else {
        let path = identity::resolve(global.identity.as_deref())?;
        let created = !path.exists();
        let own = if created {
            identity::create(&path)?
        } else {
            identity::recipient_of(&path)?
        };
        let mut recipients = vec![own];
        recipients.extend(args.recipients.iter().map(|r| r.trim().to_string()));
        (Some(path), created, recipients)
    };

    // The document is validated exactly as every later command will read it.
    let document = stack::init_document(
        &args.name,
        &tailnet,
        &hostname,
        &recipients,
        args.passphrase,
    );
    let parsed = stack::parse(document.as_bytes(), &stack_path)?;
    let vault_path = stack::vault_path(&parsed, &stack_path);
    if vault_path.exists() {
        return Err(Error::bad_input(format!(
            "{}: already exists; init never overwrites",
            vault_path.display()
        )));
    }

    let mut vault = Vault::new();
    vault.set("gateway_token", secrets::generate_gateway_token())?;
    let (private, _public) = secrets::generate_ssh_key(&format!("clawprov-{}", args.name))?;
    vault.set("ssh_private_key", private)?;
    // Signs every backup's manifest; restore takes only archives it signed.
    let (signing, _) = secrets::generate_ssh_key(&format!("clawprov-backup-{}", args.name))?;
    vault.set(crate::backup::signature::SIGNING_KEY, signing)?;

    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::failed(format!("{}: cannot create directory: {e}", dir.display())))?;
    if args.passphrase {
        let pass = secrets::passphrase(true)?;
        secrets::write(&vault_path, &vault, &Lock::Passphrase(&pass))?;
    } else {
        let parsed: Vec<Recipient> = recipients
            .iter()
            .map(|r| {
                Recipient::parse(r).map_err(|why| Error::bad_input(format!("recipient: {why}")))
            })
            .collect::<Result<_>>()?;
        secrets::write(&vault_path, &vault, &Lock::Recipients(&parsed))?;
    }
    if let Err(e) = write_new(&stack_path, &document) {
        // No half-initialized stack: a vault without its stack file is removed.
        let _ = std::fs::remove_file(&vault_path);
        return Err(e);
    }

    let auth_keys = match parsed.tailscale.auth {
        stack::TailscaleAuth::AuthKey => vec!["tailscale_auth_key"],
        stack::TailscaleAuth::Oauth => {
            vec!["tailscale_oauth_client_id", "tailscale_oauth_client_secret"]
        }
    };
    ui.emit(&Initialized {
        stack: stack_path,
        vault: vault_path,
        identity: identity_path,
        identity_created,
        recipients,
        auth_keys,
    });
    Ok(())
}

/// `openclaw-NAME`, cut to one DNS label.
fn default_hostname(name: &str) -> String {
    let mut host = format!("openclaw-{name}");
    host.truncate(63);
    host.trim_end_matches('-').to_string()
}

/// Create a file that must not exist yet (O_EXCL), fully written and synced.
fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| Error::failed(format!("{}: cannot create: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::failed(format!("{}: cannot write: {e}", path.display())))
}
