//! Command-line declarations only (clap). Validation of what the flags point
//! at happens in the layers; dispatch happens in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Provision a private OpenClaw gateway on Hetzner Cloud, reachable only over Tailscale.
///
/// One stack file (YAML) declares the deployment; its secrets live beside it in an
/// age-encrypted vault. Exit codes: 0 ok, 1 operation failed, 2 bad input.
#[derive(Debug, Parser)]
#[command(name = "clawprov", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Stack file. Defaults to $CLAWPROV_STACK, else the only stacks/*.yaml here.
    #[arg(short = 's', long = "stack", global = true, value_name = "FILE")]
    pub stack: Option<PathBuf>,

    /// Print one machine-readable JSON result on stdout.
    #[arg(long, global = true)]
    pub json: bool,

    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// age identity file. Defaults to $CLAWPROV_AGE_IDENTITY, else
    /// $XDG_CONFIG_HOME/clawprov/identity.txt (~/.config/clawprov/identity.txt).
    #[arg(long, global = true, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// Use templates from DIR instead of the ones built into the binary.
    #[arg(long, global = true, value_name = "DIR")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new stack file and its vault (and your age identity if missing).
    Init(InitArgs),

    /// Read and edit the stack's age-encrypted vault.
    #[command(subcommand)]
    Secrets(SecretsCommand),

    /// Print the cloud-init user-data the server would boot with.
    Render(RenderArgs),

    /// Check the stack file (and the vault, if it can be opened) without changing anything.
    Validate,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Stack name: lowercase letters, digits and '-', at most 63 characters.
    pub name: String,

    /// Project directory; files go to DIR/stacks/.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,

    /// Tailnet MagicDNS suffix, e.g. tail1234.ts.net (editable later in the stack file).
    #[arg(long, value_name = "SUFFIX")]
    pub tailnet: Option<String>,

    /// Encrypt the vault to a passphrase ($CLAWPROV_PASSPHRASE or a prompt)
    /// instead of your age identity.
    #[arg(long)]
    pub passphrase: bool,

    /// Also encrypt the vault to this recipient (age1... or "ssh-ed25519 ..."); repeatable.
    #[arg(long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// List the names of the secrets in the vault (never the values).
    List,
    /// Print one secret's value on stdout.
    Get {
        /// Secret name, e.g. hcloud_token.
        key: String,
    },
    /// Set a secret from stdin (prompted without echo on a terminal); never from argv.
    Set {
        /// Secret name, e.g. tailscale_auth_key.
        key: String,
    },
    /// Remove a secret.
    Rm {
        /// Secret name.
        key: String,
    },
    /// List or change who can decrypt the vault; changes re-encrypt it.
    #[command(subcommand)]
    Recipients(RecipientsCommand),
}

#[derive(Debug, Subcommand)]
pub enum RecipientsCommand {
    /// List the vault's recipients.
    List,
    /// Add a recipient (age1... or "ssh-ed25519 AAAA... comment") and re-encrypt.
    Add {
        /// The recipient's public key.
        recipient: String,
    },
    /// Remove a recipient and re-encrypt (the last one cannot be removed).
    Rm {
        /// The recipient's public key, exactly as listed.
        recipient: String,
    },
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Write user-data.yaml into DIR instead of printing it.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Include the Tailscale auth key instead of "[redacted]".
    #[arg(long)]
    pub show_secrets: bool,
}
