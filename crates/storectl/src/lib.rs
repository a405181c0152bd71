//! `storectl`: operate tierstore from the command line.
//!
//! A thin shell over the `tierstore` library: parse arguments, call the library, print text or
//! JSON, set the exit code. Subcommands live in `cmd/`, one module each. The whole program is
//! [`run`], so the end-to-end tests can build the very same program as a binary of their own.

mod cmd;
mod logging;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "storectl",
    version,
    about = "Operate tierstore: health, migration, verification, rollback, backup"
)]
struct Cli {
    /// Configuration file (default: $TIERSTORE_CONFIG, else ./tierstore.toml, else built-in
    /// local defaults). Every key can be overridden by a TIERSTORE_* environment variable.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Log more (-v info, -vv debug, -vvv trace); TIERSTORE_LOG takes a tracing filter.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Probe every configured service: status, server version, round-trip latency.
    /// Exits 1 when any service is down.
    Health(cmd::health::HealthArgs),
    /// Report what a migration would read from a legacy directory: every file's kind,
    /// encoding, shape, rows, dates and errors by line. Exits 1 when any file has errors.
    Inspect(cmd::inspect::InspectArgs),
    /// Write a realistic legacy dataset (as the Python program writes it) for tests, demos
    /// and benchmarks. Deterministic for a given seed.
    GenLegacy(cmd::gen_legacy::GenLegacyArgs),
    /// The warm tier's schema: apply, revert or list its migrations.
    Schema(cmd::schema::SchemaArgs),
    /// Trading accounts: create, show, list, update capital, suspend/activate/deactivate.
    Account(cmd::account::AccountArgs),
    /// Strategies and their bindings to accounts.
    Strategy(cmd::strategy::StrategyArgs),
    /// Versioned strategy parameters: save, show, history, diff, activate.
    Params(cmd::params::ParamsArgs),
    /// Users: add, log in, lock/unlock, roles, permission checks.
    User(cmd::user::UserArgs),
    /// The three-phase migration: init, backfill, switch, status.
    Migrate(cmd::migrate::MigrateArgs),
    /// Go back to an earlier phase (default: file, the Python program's files alone). Always
    /// allowed and instant.
    Rollback(cmd::migrate::RollbackArgs),
    /// Compare every tier with the legacy files, field by field; exit 1 on any difference.
    Verify(cmd::migrate::VerifyArgs),
    /// Write the databases back out as a SilverQuant cache, spelt as the source was.
    Export(cmd::migrate::ExportArgs),
    /// Import another SilverQuant cache: `migrate init` + `migrate backfill` from it.
    Import(cmd::migrate::ImportArgs),
    /// Back up the warm tables, positions, trades and asset curves (bars with --klines) with
    /// a manifest of row counts and checksums.
    Backup(cmd::migrate::BackupArgs),
    /// Restore a backup into empty engines; a backup that does not match its manifest is
    /// refused, naming the file, before anything is written.
    Restore(cmd::migrate::RestoreArgs),
}

/// The program: parses the process arguments, runs the command, returns the exit code
/// (0 success, 1 the check failed, 2 the command could not run).
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("storectl: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Health(args) => cmd::health::run(cli.config.as_deref(), &args).await,
            Command::Inspect(args) => cmd::inspect::run(cli.config.as_deref(), &args),
            Command::GenLegacy(args) => cmd::gen_legacy::run(&args),
            Command::Schema(args) => cmd::schema::run(cli.config.as_deref(), &args).await,
            Command::Account(args) => cmd::account::run(cli.config.as_deref(), &args).await,
            Command::Strategy(args) => cmd::strategy::run(cli.config.as_deref(), &args).await,
            Command::Params(args) => cmd::params::run(cli.config.as_deref(), &args).await,
            Command::User(args) => cmd::user::run(cli.config.as_deref(), &args).await,
            Command::Migrate(args) => cmd::migrate::run(cli.config.as_deref(), &args).await,
            Command::Rollback(args) => cmd::migrate::rollback(cli.config.as_deref(), &args).await,
            Command::Verify(args) => cmd::migrate::verify(cli.config.as_deref(), &args).await,
            Command::Export(args) => cmd::migrate::export(cli.config.as_deref(), &args).await,
            Command::Import(args) => cmd::migrate::import(cli.config.as_deref(), &args).await,
            Command::Backup(args) => cmd::migrate::backup(cli.config.as_deref(), &args).await,
            Command::Restore(args) => cmd::migrate::restore(cli.config.as_deref(), &args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // Our errors never hold a credential; the scrub guards against a driver's that might.
            eprintln!("storectl: {}", logging::scrub(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
