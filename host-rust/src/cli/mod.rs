//! The `tessera` command line: the clap types (raw arguments, as typed),
//! and the dispatch to one file per subcommand family. Every subcommand is
//! a thin layer over the tessera-host library; [`config`] turns the raw
//! arguments into validated settings (flags > env > file > defaults).

mod check;
mod codegen;
mod config;
mod console;
mod demo;
mod documents;
mod error;
mod output;
mod serve;
mod snapshot;
mod store_cmds;

use std::path::PathBuf;
use std::process::ExitCode;
use tessera_core::ErrorCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub(crate) use error::{CliError, Exit};

/// Tessera's authoritative host: the HTTP service and its operations.
#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "Tessera's authoritative host: the HTTP service and its operations",
    long_about = "Tessera's authoritative host: the HTTP service and its operations.\n\n\
        Errors are printed as `error: CODE: message` on stderr with exit status 2.\n\
        Every setting is read from its flag, else its environment variable, else the\n\
        config file (--config / TESSERA_CONFIG), else its default.",
    propagate_version = true
)]
pub(crate) struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP service; prints its address and the bootstrap admin token
    #[command(
        long_about = "Run the HTTP service; prints its address and the bootstrap admin token.\n\n\
        Migrates the store, reconciles the manifest, makes sure a signing key exists,\n\
        then serves until SIGINT or SIGTERM (in-flight requests finish first).\n\
        Stdout gets exactly two lines: `tessera listening on http://ADDR` and\n\
        `bootstrap token: TOKEN`. The token is also kept in DATA_DIR/token.\n\n\
        Config file (--config): TOML with the keys data_dir, database_url, manifest,\n\
        listen, snapshot_ttl, max_snapshot_bytes, cache_capacity,\n\
        revision_freshness_ms, check_token_superuser_snapshots, max_event_streams, and a [quotas] table\n\
        with nodes, groups, assignments, caps, hidden, under_roots, preview_principals\n\
        (all optional; any\n\
        other key is an error). Relative\n\
        paths in it are relative to the file's directory.\n\
        Precedence: flag > environment variable > file > default."
    )]
    Serve(ServeArgs),
    /// Apply or revert the store's schema migrations
    Migrate(MigrateArgs),
    /// Reconcile the manifest into the store and print what changed
    Reconcile(ReconcileArgs),
    /// Generate a signing key and make it the active one; prints its kid
    Keygen(StoreArgs),
    /// Manage the signing key ring
    Keys(KeysArgs),
    /// Manage API tokens
    Token(TokenArgs),
    /// Work with signed snapshots
    Snapshot(SnapshotArgs),
    /// Generate code from the manifest
    Codegen(CodegenArgs),
    /// Print an org's access as one document (JSON, tessera.org/1)
    Export(ExportArgs),
    /// Make an org what a document says: print the plan, confirm, apply in one transaction
    #[command(long_about = "Make an org what a tessera.org/1 document says.\n\n\
        Prints the plan (each create, update and delete, in the order it runs),\n\
        asks before applying it (unless --yes), then applies it in one transaction\n\
        as the trusted backend: every check of the single writes holds, and the\n\
        first refusal writes nothing. The org is created when it does not exist.\n\
        Exit status: 0 applied (or nothing to do), 1 not confirmed, 2 error\n\
        (docs/documents.md §9.3).")]
    Apply(ApplyArgs),
    /// Print a one-time URL that signs a browser in to the console as a user
    #[command(
        long_about = "Print a one-time URL that signs a browser in to the console as a user.\n\n\
        The URL works once, within 60 s, on the host serving this store; the browser\n\
        then acts as that user (every [admin] key and escalation rule applies) until\n\
        it signs out, 30 minutes unused or 8 hours in all (docs/console.md §10.1)."
    )]
    Console(ConsoleArgs),
    /// Ask the store whether a principal may do something (exit 0 allow, 1 deny or not_found)
    #[command(long_about = "Ask the store whether a principal may do something.\n\n\
        Prints the answer as JSON, as `POST /v1/check` gives it:\n\
        {\"decision\": \"allow\" | \"deny\" | \"not_found\", \"diagnostic\"?, \"revision\"}.\n\
        Exit status: 0 allow, 1 deny or not_found, 2 error (unknown org or principal\n\
        included), so scripts can branch on the decision.")]
    Check(QuestionArgs),
    /// Explain how the store decides a question (exit 0 when answered)
    #[command(long_about = "Explain how the store decides a question.\n\n\
        Prints the explanation as JSON (decision, decisive node, the grants used,\n\
        caps and token scopes that removed the permission, the missing requirement)\n\
        plus the revision it was answered at. Exit status: 0 when answered, whatever\n\
        the decision; 2 on error.")]
    Explain(QuestionArgs),
}

/// Where the store is: shared by every subcommand that opens it.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct StoreArgs {
    /// TOML config file; fills the settings flags and environment leave unset
    #[arg(long, env = "TESSERA_CONFIG", value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Data directory (SQLite file, bootstrap token) [default: ./tessera-data]
    #[arg(long, env = "TESSERA_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Database URL, sqlite:… or postgres://… [default: SQLite file in the data directory]
    #[arg(long, env = "DATABASE_URL", value_name = "URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
}

/// The manifest: for the subcommands that compile or reconcile.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ManifestArg {
    /// The app's manifest (TOML) [default: examples/fleet/manifest.toml]
    #[arg(long, env = "TESSERA_MANIFEST", value_name = "FILE")]
    pub(crate) manifest: Option<PathBuf>,
}

/// `tessera serve`: every setting optional, so that the config file can
/// fill what flags and environment leave unset (defaults come last).
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct ServeArgs {
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The manifest.
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
    /// Address to listen on [default: 127.0.0.1:7700]
    #[arg(long, env = "TESSERA_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<std::net::SocketAddr>,
    /// Lifetime of exported snapshots in seconds, 1 to 3600 [default: 300]
    #[arg(long, env = "TESSERA_SNAPSHOT_TTL", value_name = "SECONDS")]
    pub(crate) snapshot_ttl: Option<i64>,
    /// Largest snapshot the service exports, in bytes [default: 262144]
    #[arg(long, env = "TESSERA_MAX_SNAPSHOT_BYTES", value_name = "BYTES")]
    pub(crate) max_snapshot_bytes: Option<usize>,
    /// Compiled snapshots kept in memory for checks [default: 10000]
    #[arg(long, env = "TESSERA_CACHE_CAPACITY", value_name = "N")]
    pub(crate) cache_capacity: Option<usize>,
    /// How long an org revision read from the store is trusted, in ms: the
    /// bound on how late writes by other processes are seen when Postgres
    /// NOTIFY does not announce them [default: 500]
    #[arg(long, env = "TESSERA_REVISION_FRESHNESS_MS", value_name = "MS")]
    pub(crate) revision_freshness_ms: Option<u64>,
    /// Let `check` tokens export superusers' snapshots, bearer credentials
    /// for everything in their org [default: false]
    #[arg(
        long,
        env = "TESSERA_CHECK_TOKEN_SUPERUSER_SNAPSHOTS",
        value_name = "BOOL"
    )]
    pub(crate) check_token_superuser_snapshots: Option<bool>,
    /// Revision event streams (`GET /v1/orgs/{org}/events`) open at once;
    /// beyond, 503 UNAVAILABLE [default: 10000]
    #[arg(long, env = "TESSERA_MAX_EVENT_STREAMS", value_name = "N")]
    pub(crate) max_event_streams: Option<usize>,
    /// Per-org quotas, `KIND=N` separated by commas (kinds: nodes, groups,
    /// assignments, caps, hidden, under_roots, preview_principals); unnamed
    /// kinds keep their defaults [default: nodes=100000,groups=10000,
    /// assignments=2000000,caps=10000,hidden=100000,under_roots=64,
    /// preview_principals=10000]
    #[arg(long, env = "TESSERA_QUOTAS", value_name = "KIND=N,...")]
    pub(crate) quotas: Option<String>,
    /// Create the demo org from the document next to the manifest
    /// (demo.json) unless it exists, and print its users
    #[arg(long)]
    pub(crate) demo: bool,
}

/// `tessera export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The org id
    #[arg(long)]
    pub(crate) org: String,
    /// Write the document to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The manifest.
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
}

/// `tessera apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The org id (created when it does not exist)
    #[arg(long)]
    pub(crate) org: String,
    /// The document (JSON, tessera.org/1)
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
    /// Apply without asking (needed when stdin is not a terminal)
    #[arg(long)]
    pub(crate) yes: bool,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The manifest.
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
}

/// `tessera console`.
#[derive(Debug, Args)]
pub(crate) struct ConsoleArgs {
    /// The user the browser will act as
    #[arg(long)]
    pub(crate) actor: String,
    /// The one org the session may act in [default: every org]
    #[arg(long)]
    pub(crate) org: Option<String>,
    /// The host's base URL [default: http:// and the config file's listen, or 127.0.0.1:7700]
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `tessera codegen`.
#[derive(Debug, Args)]
pub(crate) struct CodegenArgs {
    /// What to generate.
    #[command(subcommand)]
    pub(crate) command: CodegenCommand,
}

/// The languages `tessera codegen` writes.
#[derive(Debug, Subcommand)]
pub(crate) enum CodegenCommand {
    /// Print a TypeScript module with the PermissionKey, NodeType, NodeKey,
    /// RoutePattern and RoutePath types (docs/frontend.md §8.5)
    Ts(ManifestArg),
}

/// `tessera migrate`.
#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    /// Up or down.
    #[command(subcommand)]
    pub(crate) direction: MigrateDirection,
}

/// Which way to migrate.
#[derive(Debug, Subcommand)]
pub(crate) enum MigrateDirection {
    /// Apply every pending migration
    Up(StoreArgs),
    /// Revert migrations newer than --to (0: all of them, dropping every table)
    Down(MigrateDownArgs),
}

/// `tessera migrate down`.
#[derive(Debug, Args)]
pub(crate) struct MigrateDownArgs {
    /// Keep migrations up to and including this version (required; 0 reverts
    /// everything and drops every table)
    #[arg(long, value_name = "N", required = true, value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) to: i64,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `tessera reconcile`.
#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The manifest.
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
}

/// `tessera keys`.
#[derive(Debug, Args)]
pub(crate) struct KeysArgs {
    /// What to do with the key ring.
    #[command(subcommand)]
    pub(crate) command: KeysCommand,
}

/// Key ring operations.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new active key and retire every other one (still published until their snapshots expire); prints the new kid
    Rotate(StoreArgs),
    /// List the published keys (what GET /v1/keys serves), one kid a line
    List(KeysListArgs),
}

/// `tessera keys list`.
#[derive(Debug, Args)]
pub(crate) struct KeysListArgs {
    /// Print the JWKS document instead (usable as `snapshot inspect --jwks`)
    #[arg(long)]
    pub(crate) jwks: bool,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `tessera token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// What to do with tokens.
    #[command(subcommand)]
    pub(crate) command: TokenCommand,
}

/// Token operations.
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Create an API token and print it (it is shown only this once)
    Create(TokenCreateArgs),
    /// Revoke an API token (servers that have seen it stop accepting it
    /// within a minute)
    Revoke(TokenRevokeArgs),
}

/// `tessera token revoke`.
#[derive(Debug, Args)]
pub(crate) struct TokenRevokeArgs {
    /// The token's text, or - to read it from standard input
    #[arg(value_name = "TOKEN")]
    pub(crate) token: String,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `tessera token create`.
#[derive(Debug, Args)]
pub(crate) struct TokenCreateArgs {
    /// admin: every endpoint; check: decisions, snapshots and keys only
    #[arg(long, value_enum)]
    pub(crate) kind: TokenKindArg,
    /// Bind the token to this org (repeatable); any other org answers 404.
    /// Without it the token acts in every org
    #[arg(long = "org", value_name = "ORG")]
    pub(crate) orgs: Vec<String>,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// A token kind as typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TokenKindArg {
    /// Every endpoint, writes included.
    Admin,
    /// Decisions, snapshots and keys only.
    Check,
}

/// `tessera snapshot`.
#[derive(Debug, Args)]
pub(crate) struct SnapshotArgs {
    /// What to do with a snapshot.
    #[command(subcommand)]
    pub(crate) command: SnapshotCommand,
}

/// Snapshot operations.
#[derive(Debug, Subcommand)]
pub(crate) enum SnapshotCommand {
    /// Verify a snapshot and print its header, groups, scope table and routes
    #[command(
        long_about = "Verify a snapshot and print its header, groups, scope table and routes.\n\n\
        Reads the binary envelope or the `tss1.` text form (detected). Verifies it\n\
        against --jwks, or else against the keys the store publishes. A snapshot that\n\
        does not verify (bad signature, unknown key, expired, ...) is never printed:\n\
        the command fails with the verifier's code, e.g. `error: EXPIRED: ...`."
    )]
    Inspect(InspectArgs),
}

/// `tessera snapshot inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The snapshot file, or - for stdin
    #[arg(value_name = "FILE")]
    pub(crate) input: PathBuf,
    /// Verify against this JWKS file instead of the store's published keys
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: Option<PathBuf>,
    /// Verify as of this time, in unix seconds [default: now]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) now: Option<u64>,
    /// Refuse a snapshot for another org (WRONG_ORG)
    #[arg(long, value_name = "ORG")]
    pub(crate) org: Option<String>,
    /// Refuse a snapshot for another principal (WRONG_PRINCIPAL)
    #[arg(long, value_name = "USER")]
    pub(crate) principal: Option<String>,
    /// Print JSON instead of text
    #[arg(long)]
    pub(crate) json: bool,
    /// Where the store is (for its published keys, without --jwks).
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// `tessera check` and `tessera explain`.
#[derive(Debug, Args)]
pub(crate) struct QuestionArgs {
    /// The org id
    #[arg(long)]
    pub(crate) org: String,
    /// A user id, or `anonymous`
    #[arg(long, value_name = "USER")]
    pub(crate) principal: String,
    /// The permission key, e.g. miner:reboot
    #[arg(long, value_name = "KEY")]
    pub(crate) permission: String,
    /// The path from the top, `type:id` comma-separated, e.g. site:7,rack:3 [default: the org root]
    #[arg(
        long,
        value_name = "PATH",
        default_value = "",
        hide_default_value = true
    )]
    pub(crate) path: String,
    /// The owner of the thing asked about (for owner-only grants)
    #[arg(long, value_name = "USER")]
    pub(crate) owner: Option<String>,
    /// Restrict to these token scopes, comma-separated permission keys
    #[arg(long, value_name = "KEYS", value_delimiter = ',')]
    pub(crate) token_scopes: Option<Vec<String>>,
    /// Where the store is.
    #[command(flatten)]
    pub(crate) store: StoreArgs,
    /// The manifest.
    #[command(flatten)]
    pub(crate) manifest: ManifestArg,
}

/// Parses the command line, runs the subcommand, and turns its outcome
/// into the exit status (`error: CODE: message` on stderr for failures).
pub(crate) fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            return CliError::new(
                ErrorCode::Internal,
                format!("cannot start the runtime: {err}"),
            )
            .report();
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(exit) => exit.into(),
        Err(err) => err.report(),
    }
}

/// Runs one subcommand.
async fn run(command: Command) -> Result<Exit, CliError> {
    match command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => match args.direction {
            MigrateDirection::Up(store) => store_cmds::migrate_up(&store).await,
            MigrateDirection::Down(args) => store_cmds::migrate_down(&args.store, args.to).await,
        },
        Command::Reconcile(args) => store_cmds::reconcile(&args.store, &args.manifest).await,
        Command::Keygen(store) => store_cmds::keygen(&store).await,
        Command::Keys(args) => match args.command {
            KeysCommand::Rotate(store) => store_cmds::rotate(&store).await,
            KeysCommand::List(args) => store_cmds::list_keys(&args.store, args.jwks).await,
        },
        Command::Token(args) => match args.command {
            TokenCommand::Create(args) => {
                store_cmds::create_token(&args.store, args.kind, &args.orgs).await
            }
            TokenCommand::Revoke(args) => store_cmds::revoke_token(&args.store, &args.token).await,
        },
        Command::Snapshot(args) => match args.command {
            SnapshotCommand::Inspect(args) => snapshot::inspect(&args).await,
        },
        Command::Codegen(args) => match args.command {
            CodegenCommand::Ts(manifest) => codegen::typescript(&manifest),
        },
        Command::Export(args) => documents::export(&args).await,
        Command::Apply(args) => documents::apply(&args).await,
        Command::Console(args) => console::console(&args).await,
        Command::Check(args) => check::check(&args).await,
        Command::Explain(args) => check::explain(&args).await,
    }
}

#[cfg(test)]
mod test {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
