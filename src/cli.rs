//! Command-line declarations only (clap). Validation of what the flags point
//! at happens in the layers; dispatch happens in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::preflight;

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
    /// plan, up, destroy and status take several (repeat -s, or a quoted glob
    /// such as -s 'stacks/*.yaml').
    #[arg(short = 's', long = "stack", global = true, value_name = "FILE")]
    pub stack: Vec<PathBuf>,

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

    /// Hetzner Cloud API base URL (default https://api.hetzner.cloud/v1),
    /// e.g. a simulator started with `clawprov sim serve`.
    #[arg(long, global = true, env = "HCLOUD_ENDPOINT", value_name = "URL")]
    pub hcloud_endpoint: Option<String>,

    /// Tailscale API base URL (default https://api.tailscale.com/api/v2),
    /// e.g. the one `clawprov sim serve` prints.
    #[arg(long, global = true, env = "TAILSCALE_ENDPOINT", value_name = "URL")]
    pub tailscale_endpoint: Option<String>,

    /// npm registry the preflight of plan/up asks for openclaw's releases.
    #[arg(long, global = true, env = "CLAWPROV_NPM_REGISTRY", value_name = "URL",
          default_value = preflight::DEFAULT_NPM_REGISTRY)]
    pub npm_registry: String,

    /// Node.js download site the preflight reads index.json from.
    #[arg(long, global = true, env = "CLAWPROV_NODE_DIST", value_name = "URL",
          default_value = preflight::DEFAULT_NODE_DIST)]
    pub node_dist: String,

    /// Where the preflight fetches nvm's install.sh (URL/vVERSION/install.sh).
    #[arg(long, global = true, env = "CLAWPROV_NVM_SOURCE", value_name = "URL",
          default_value = preflight::DEFAULT_NVM_SOURCE)]
    pub nvm_source: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a new stack file and its vault (and your age identity if missing).
    Init(InitArgs),

    /// Read and edit the stack's age-encrypted vault.
    #[command(subcommand)]
    Secrets(SecretsCommand),

    /// Show everything clawprov will put on the server: the user-data and every file the host phase delivers.
    Render(RenderArgs),

    /// Check the stack file (and the vault, if it can be opened) without changing anything.
    Validate,

    /// Show what `up` would do: create / update / replace / delete, each with
    /// its reason, and the monthly cost. Changes nothing.
    Plan(PlanArgs),

    /// Create or update the stack's Hetzner resources (SSH key, firewall with
    /// zero inbound rules, server) until they match the stack file.
    Up(UpArgs),

    /// Delete every resource carrying the stack's labels (and nothing else).
    Destroy(DestroyArgs),

    /// The stack's resources, IPs, tailnet URL and last known health.
    Status(StatusArgs),

    /// Prove the lock-down from the Hetzner API, from outside, over the
    /// tailnet and on the host; exit 1 if any check fails or cannot run.
    Verify(VerifyArgs),

    /// Replace a credential the deployment runs on, safely and re-runnably;
    /// `rotate --due` replaces every one past its maximum age.
    Rotate(RotateArgs),

    /// Copy the gateway's state directory (~/.openclaw of the service user)
    /// from the server into a local archive sealed to the vault's recipients,
    /// with a manifest (files, bytes, sha256) that restore checks.
    Backup(BackupArgs),

    /// Put a backup back on the stack's current server (gateway stopped,
    /// files owned by the service user, modes kept), then restart and probe
    /// the gateway as `up` does.
    Restore(RestoreArgs),

    /// A shell on the node as the admin user, over the pinned SSH
    /// connection (needs a terminal), or one command: `clawprov ssh -- CMD ARGS...`
    /// (exits with its status).
    Ssh(SshArgs),

    /// The gateway's journal on the node (`-f` to follow), or with
    /// `--bootstrap` what is left of cloud-init's output. Vault values are
    /// shown as [redacted:KEY].
    Logs(LogsArgs),

    /// The OpenClaw CLI on the node as the service user, with the gateway's
    /// environment (token included) read from its env file on the node:
    /// `clawprov openclaw -- devices list`.
    Openclaw(OpenclawArgs),

    /// The embedded Hetzner Cloud and Tailscale API simulators (an offline playground).
    #[command(subcommand)]
    Sim(SimCommand),
}

#[derive(Debug, Args)]
pub struct SshArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// The command and its arguments, each passed as one word (not a shell
    /// line: give `sh -c '...'` for that). None: an interactive login shell.
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// Keep printing new lines until interrupted (Ctrl-C).
    #[arg(short, long)]
    pub follow: bool,

    /// Lines since a journalctl time: "2026-12-01 10:00", "10:00",
    /// "yesterday", "-1h", "30 min ago".
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,

    /// Show the last N lines (default: 200 unless --since is given).
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<u32>,

    /// Instead of the gateway's journal: cloud-init's output log, its
    /// status, and the bootstrap log if `up` has not shredded it yet.
    #[arg(long, conflicts_with_all = ["follow", "since", "lines"])]
    pub bootstrap: bool,
}

#[derive(Debug, Args)]
pub struct OpenclawArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// The OpenClaw CLI's arguments, e.g. `devices list`, `devices approve ID`,
    /// `security audit`.
    #[arg(last = true, required = true, value_name = "ARGS")]
    pub args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum RotateCommand {
    /// Mint a new single-use tailnet key, re-authenticate the node with it
    /// (detached, so the SSH session over the tailnet may drop), reconnect,
    /// confirm the node's device through the API, then revoke the old key,
    /// any key left by an interrupted run, and any stale device. Safe to
    /// re-run after a failure at any step.
    TailscaleKey(RotateKeyArgs),

    /// A new shared gateway token: kept in the vault beside the old one,
    /// delivered in the env file, the gateway restarted and probed (new
    /// token accepted, also through Serve's headers; old one refused), then
    /// the old one removed from the vault. Safe to re-run after a failure.
    GatewayToken(RotateKeyArgs),

    /// A new SSH key for the admin user: kept in the vault beside the old
    /// one, added to the node's authorized_keys, proven with a fresh login,
    /// then the old key removed from the node and Hetzner's SSH key
    /// replaced. At every step a key in the vault logs in.
    SshKey(RotateKeyArgs),

    /// Replace the vault's Hetzner API token with a new one you made in
    /// the Hetzner Console, read from stdin (a hidden prompt on a
    /// terminal), after checking it sees this stack's resources.
    HcloudToken(RotateTokenArgs),
}

/// `clawprov rotate`: one credential, or `--due` for every one past its
/// maximum age.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RotateArgs {
    #[command(subcommand)]
    pub what: Option<RotateCommand>,

    /// Rotate every credential past its maximum age (`rotation:` in the
    /// stack) that clawprov can rotate by itself (gateway token, SSH key,
    /// tailnet key), in a safe order, and list those that need you.
    #[arg(long)]
    pub due: bool,

    #[command(flatten)]
    pub node: RotateKeyArgs,
}

#[derive(Debug, Args)]
pub struct RotateTokenArgs {
    /// Only show the steps it would take (changes nothing).
    #[arg(long)]
    pub plan: bool,
}

#[derive(Debug, Args)]
pub struct RotateKeyArgs {
    /// Only show the steps it would take (changes nothing).
    #[arg(long)]
    pub plan: bool,

    /// Reach the node at HOST[:PORT] instead of its tailnet address (as `up`).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub ssh_host: Option<String>,

    /// Allow an SSH peer outside the tailnet ranges.
    #[arg(long)]
    pub allow_non_tailnet: bool,

    /// How long to wait for the node (SSH, and the re-authentication), in seconds.
    #[arg(long, default_value_t = 180, value_name = "SECS")]
    pub reach_timeout: u64,

    /// Prefix for every server path (integration tests against a stand-in host).
    #[arg(long, value_name = "DIR", hide = true)]
    pub host_root: Option<String>,
}

/// How the day-two commands (`ssh`, `logs`, `openclaw`, `backup`,
/// `restore`) reach the node: as `up` does, over the tailnet as the admin
/// user, the host key checked against its pin.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Reach the node at HOST[:PORT] instead of its tailnet address (as `up`).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub ssh_host: Option<String>,

    /// Allow an SSH peer outside the tailnet ranges.
    #[arg(long)]
    pub allow_non_tailnet: bool,

    /// How long to wait for the node's SSH port, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub reach_timeout: u64,

    /// Prefix for every server path (integration tests against a stand-in host).
    #[arg(long, value_name = "DIR", hide = true)]
    pub host_root: Option<String>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// Write the archive here (default: stacks/NAME.backups/NAME-UTCSTAMP.tar.age
    /// beside the stack file).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The most file content the archive may hold (K, M, G, T: binary
    /// units); past it the backup stops, writing nothing.
    #[arg(long, value_name = "SIZE", default_value = "10G", value_parser = crate::backup::parse_size)]
    pub max_size: u64,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub node: NodeArgs,

    /// The archive to restore (default: the newest in stacks/NAME.backups/).
    #[arg(value_name = "ARCHIVE")]
    pub archive: Option<PathBuf>,

    /// Also take an archive that carries no signature (one made before
    /// clawprov signed backups). A signature that does not verify with the
    /// vault's key is refused whatever this says.
    #[arg(long)]
    pub unsigned: bool,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Serve a simulated Hetzner Cloud API on 127.0.0.1 until interrupted.
    /// Point clients at it with HCLOUD_ENDPOINT=http://127.0.0.1:PORT/v1;
    /// the same port serves a simulated Tailscale API under /api/v2
    /// (TAILSCALE_ENDPOINT=http://127.0.0.1:PORT/api/v2).
    Serve(SimServeArgs),
}

#[derive(Debug, Args)]
pub struct SimServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the URL is printed).
    #[arg(long, default_value_t = 4000)]
    pub port: u16,

    /// Accept this read-write API token (repeatable). Default: the built-in
    /// 64-character simulator token, printed at start.
    #[arg(long = "token", value_name = "TOKEN")]
    pub tokens: Vec<String>,

    /// Accept this token for reads only (repeatable).
    #[arg(long = "readonly-token", value_name = "TOKEN")]
    pub readonly_tokens: Vec<String>,

    /// Accept this token as one of another project: it sees a project of
    /// its own, empty at first (repeatable; tries `rotate hcloud-token`).
    #[arg(long = "other-project-token", value_name = "TOKEN")]
    pub other_project_tokens: Vec<String>,

    /// How long each action runs, in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub action_ms: u64,

    /// Delay before every response, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,

    /// Probability (0..1) of an injected 500/502/504/409 answer.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub error_rate: f64,

    /// Probability (0..1) that a connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub drop_rate: f64,

    /// Probability (0..1) that a successful create answers 504 timeout anyway.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub create_timeout_rate: f64,

    /// Probability (0..1) that an action ends in error.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    pub action_error_rate: f64,

    /// Rate-limit bucket size per token.
    #[arg(long, default_value_t = 3600, value_name = "N")]
    pub rate_limit: u32,

    /// Requests given back per second.
    #[arg(long, default_value_t = 1.0, value_name = "N")]
    pub rate_refill: f64,

    /// Seed for the fault dice (same seed, same faults).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
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
    /// Write the files under DIR instead of printing them: DIR/user-data.yaml, and each host file at its remote path (DIR/home/USER/...), all 0600.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Show the real secret values (the Tailscale auth key in the user-data, the vault's values in the env file) instead of "[redacted:KEY]".
    #[arg(long)]
    pub show_secrets: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Run against a simulator started inside this process (no account
    /// needed; skips the preflight).
    #[arg(long)]
    pub sim: bool,

    /// Skip the preflight: do not check the pinned openclaw, Node and nvm
    /// versions against npm, the Node release index and nvm's install.sh.
    #[arg(long)]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Answer yes to "replace or delete?" (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,

    /// Allow replacing the server (a user-data change cannot be applied in place).
    #[arg(long)]
    pub replace: bool,

    /// Replace without carrying the gateway's state over. By default a
    /// replace first takes a backup of the old server's state directory and
    /// restores it into the new server (asked on a terminal; `--yes` does both).
    #[arg(long)]
    pub no_backup: bool,

    /// How many stacks to converge at the same time.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub parallel: usize,

    /// Run against a simulator started inside this process (no account
    /// needed; skips the preflight).
    #[arg(long)]
    pub sim: bool,

    /// Skip the preflight: do not check the pinned openclaw, Node and nvm
    /// versions against npm, the Node release index and nvm's install.sh.
    #[arg(long)]
    pub offline: bool,

    /// Stop after the Hetzner phase; a later `up` picks up from there.
    #[arg(long)]
    pub skip_host: bool,

    /// Reach the node at HOST[:PORT] instead of its MagicDNS name
    /// <hostname>.<tailnet> (SSH port-forwards, tests). Allows loopback peers.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub ssh_host: Option<String>,

    /// Allow an SSH peer outside the tailnet ranges (100.64.0.0/10, fd7a:115c:a1e0::/48).
    #[arg(long)]
    pub allow_non_tailnet: bool,

    /// How long to wait for the node's SSH port, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub reach_timeout: u64,

    /// How long to wait for cloud-init, and for the gateway to listen, in seconds.
    #[arg(long, default_value_t = 1200, value_name = "SECS")]
    pub host_timeout: u64,

    /// After the host phase, verify from these vantage points (comma-separated:
    /// api, outside, tailnet, host, secrets; `none` skips it): up succeeds
    /// only when they all pass. Default: api, outside, tailnet and host (api
    /// and host only with --ssh-host, which means the tailnet is not the way
    /// in); a credential past its maximum age is a warning, not a failure.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    pub verify: Option<Vec<String>>,

    /// Treat DIR as the server's filesystem root for the paths the host phase
    /// reads and shreds (integration tests against a stand-in host).
    #[arg(long, value_name = "DIR", hide = true)]
    pub host_root: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Vantage points to check from (comma-separated): api, outside, tailnet,
    /// host, secrets (each credential's age against `rotation:`).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "LIST",
        default_value = "api,outside,tailnet,host,secrets"
    )]
    pub only: Vec<String>,

    /// Reach the node at HOST[:PORT] instead of its MagicDNS name (as `up`).
    #[arg(long, value_name = "HOST[:PORT]")]
    pub ssh_host: Option<String>,

    /// Allow an SSH peer outside the tailnet ranges.
    #[arg(long)]
    pub allow_non_tailnet: bool,

    /// Seconds each outside or tailnet probe waits (a probe that times out
    /// is what a closed port looks like from outside).
    #[arg(long, default_value_t = 3, value_name = "SECS")]
    pub timeout: u64,

    /// How long to wait for the node's SSH port, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECS")]
    pub reach_timeout: u64,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Do not ask for the stack name (needed when not on a terminal).
    #[arg(long)]
    pub yes: bool,

    /// Lift delete protection on the stack's server before deleting it.
    #[arg(long)]
    pub unprotect: bool,

    /// How many stacks to destroy at the same time.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub parallel: usize,

    /// Run against a simulator started inside this process (it starts empty).
    #[arg(long)]
    pub sim: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Run against a simulator started inside this process (it starts empty).
    #[arg(long)]
    pub sim: bool,
}
