//! `cargo xtask <task>`: see `cargo xtask --help`.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use xtask::services::{self, Layout, Origin, Service};
use xtask::session::Session;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Developer automation for tierstore")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// The migration end to end on local defaults: services up, a generated cache, init,
    /// backfill, dual_write with live fills, verify, db_first, rollback, export; prints a summary.
    Demo,
    /// Make Redis, MySQL/MariaDB, PostgreSQL and ClickHouse reachable for tests and demos.
    Services {
        #[command(subcommand)]
        action: ServicesAction,
    },
    /// Run benchmarks (all, or those named): each prints a table and JSON lines.
    Bench {
        /// Benchmarks to run: legacy, hot.
        names: Vec<String>,
    },
    /// Run the fuzz targets of `fuzz/` (all, or those named) for a fixed time each; a crash
    /// fails, naming the input that caused it.
    Fuzz {
        /// Targets: pyjson, pyfloat, journal, klines, positions, gbk, hot_codec.
        targets: Vec<String>,
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Install chDB (an embedded current ClickHouse, for the modern-server SQL test) if
    /// missing, and print the line that makes it reachable for tests.
    Chdb,
    /// What CI runs: services up, fmt --check, clippy -D warnings, all tests, services down.
    Ci {
        /// Leave the services this run started running.
        #[arg(long)]
        keep_services: bool,
    },
}

#[derive(Subcommand)]
enum ServicesAction {
    /// Reuse servers that answer at the configured URLs; start private ones for the rest
    /// (installing the Debian package if a server binary is missing). URLs come from
    /// TIERSTORE_TEST_REDIS_URL, TIERSTORE_TEST_MYSQL_URL and TIERSTORE_TEST_CLICKHOUSE_URL.
    Up(Which),
    /// Show each service: where, who runs it, version.
    Status(Which),
    /// Stop the servers `up` started; leave every other server running.
    Down(Which),
    /// Bring the services up, run COMMAND with their URLs in its environment, then stop the
    /// servers this started — also when COMMAND fails, xtask panics or gets SIGINT/SIGTERM.
    Run {
        #[command(flatten)]
        which: Which,
        /// The command and its arguments, e.g. `-- cargo test -p tierstore-hot`.
        #[arg(trailing_var_arg = true, required = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(clap::Args)]
struct Which {
    /// Only these services (default: all).
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<ServiceArg>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum ServiceArg {
    Redis,
    Mysql,
    Postgres,
    Clickhouse,
}

impl Which {
    fn services(&self) -> Vec<Service> {
        if self.only.is_empty() {
            return Service::ALL.to_vec();
        }
        self.only
            .iter()
            .map(|s| match s {
                ServiceArg::Redis => Service::Redis,
                ServiceArg::Mysql => Service::Mysql,
                ServiceArg::Postgres => Service::Postgres,
                ServiceArg::Clickhouse => Service::Clickhouse,
            })
            .collect()
    }

    fn wanted(&self) -> Vec<(Service, String)> {
        self.services().into_iter().map(|s| (s, s.configured_url())).collect()
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    xtask::session::install_signal_handlers()?;
    let layout = Layout::default_for_workspace();
    match cli.task {
        Task::Ci { keep_services } => xtask::ci::run(&xtask::ci::CiOptions { keep_services }),
        Task::Bench { names } => xtask::bench::run(&names),
        Task::Demo => xtask::demo::run(),
        Task::Chdb => {
            let python = xtask::chdb::ensure()?;
            println!("export {}={}", xtask::chdb::ENV, python.display());
            Ok(())
        }
        Task::Fuzz { targets, seconds } => xtask::fuzz::run(&targets, seconds),
        Task::Services { action: ServicesAction::Up(which) } => {
            let running = services::up(&layout, &which.wanted())?;
            if which.json {
                println!("{}", serde_json::to_string_pretty(&running)?);
            } else {
                for r in &running {
                    let who = match r.origin {
                        Origin::External => "reused".to_owned(),
                        Origin::StartedNow => format!("started, pid {}", r.pid.unwrap_or_default()),
                        Origin::StartedEarlier => {
                            format!("already started by xtask, pid {}", r.pid.unwrap_or_default())
                        }
                    };
                    eprintln!(
                        "{:<10} {:<32} {who}, version {}",
                        r.service.name(),
                        services::redact(&r.url),
                        r.version
                    );
                }
                for r in &running {
                    if services::has_credentials(&r.url) {
                        // Such a URL came from the environment, where it already is; never
                        // print a password.
                        println!("# {} is already set (credentials not shown)", r.service.env_var());
                    } else {
                        println!("export {}={}", r.service.env_var(), r.url);
                    }
                }
            }
            Ok(())
        }
        Task::Services { action: ServicesAction::Run { which, command } } => {
            let session = Session::up(&layout, &which.wanted(), false)?;
            let (program, args) = command.split_first().context("no command given")?;
            let mut c = std::process::Command::new(program);
            c.args(args);
            for r in session.running() {
                c.env(r.service.env_var(), &r.url);
            }
            xtask::cmd::run(&mut c)
        }
        Task::Services { action: ServicesAction::Status(which) } => {
            let statuses = services::status(&layout, &which.wanted());
            if which.json {
                println!("{}", serde_json::to_string_pretty(&statuses)?);
            } else {
                for s in &statuses {
                    let what = match (&s.origin, &s.version, &s.error) {
                        (Some(o), Some(v), _) => format!("up ({o:?}), version {v}"),
                        (_, _, Some(e)) => format!("down: {e}"),
                        _ => "unknown".into(),
                    };
                    println!("{:<10} {:<32} {what}", s.service.name(), services::redact(&s.url));
                }
            }
            if statuses.iter().any(|s| s.error.is_some()) {
                std::process::exit(1);
            }
            Ok(())
        }
        Task::Services { action: ServicesAction::Down(which) } => {
            let stopped = services::down(&layout, &which.services())?;
            if which.json {
                println!("{}", serde_json::to_string(&stopped)?);
            } else if stopped.is_empty() {
                println!("nothing to stop: no server started by `cargo xtask services up` is running");
            } else {
                for s in stopped {
                    println!("stopped {s}");
                }
            }
            Ok(())
        }
    }
}
