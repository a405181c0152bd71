//! `storectl schema`: the warm tier's migrations and the cool tier's ClickHouse DDL.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

/// Arguments of `storectl schema`.
#[derive(Args)]
pub struct SchemaArgs {
    #[command(subcommand)]
    command: SchemaCommand,
    /// Which tier: warm (the relational database), cool (ClickHouse), or all configured ones.
    #[arg(long, global = true, value_enum, default_value = "all")]
    tier: TierChoice,
    /// Print JSON: {"warm": {...}, "cool": {...}} for the tiers concerned.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum TierChoice {
    Warm,
    Cool,
    All,
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Apply pending migrations (all, or --steps N of the warm tier's). Running it again
    /// changes nothing.
    Up {
        /// Apply at most this many warm-tier migrations.
        #[arg(long)]
        steps: Option<u32>,
    },
    /// Revert applied warm-tier migrations, newest first: --steps N, or --all. Drops tables
    /// and their data, so it needs --yes. (ClickHouse DDL is not reverted: drop the database.)
    Down {
        /// Revert this many.
        #[arg(long, conflicts_with = "all")]
        steps: Option<u32>,
        /// Revert every migration.
        #[arg(long)]
        all: bool,
        /// Confirm that data will be dropped.
        #[arg(long)]
        yes: bool,
    },
    /// List the migrations of each tier and whether each is applied.
    Status,
    /// Drop every table of the warm database and apply all migrations again. Needs --yes.
    Fresh {
        /// Confirm that every table will be dropped.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs `storectl schema ...`.
pub async fn run(config_path: Option<&Path>, args: &SchemaArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let warm_only = matches!(args.command, SchemaCommand::Down { .. } | SchemaCommand::Fresh { .. });
    let (warm, cool) = match args.tier {
        TierChoice::Warm => (true, false),
        TierChoice::Cool if warm_only => {
            bail!("ClickHouse DDL has no down or fresh; drop its database to start over")
        }
        TierChoice::Cool => (false, true),
        TierChoice::All => (config.warm.is_some(), config.clickhouse.is_some() && !warm_only),
    };
    if !warm && !cool {
        bail!("no tier to act on: configure [warm] or [clickhouse], or say --tier");
    }
    let mut out = serde_json::Map::new();
    if warm {
        out.insert("warm".into(), warm_schema(&config, &args.command).await?);
    }
    if cool {
        out.insert("cool".into(), cool_schema(&config, &args.command).await?);
    }
    if args.json {
        super::table::json(&out)?;
    } else {
        for (tier, report) in &out {
            print_report(tier, report);
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn warm_schema(config: &tierstore::Config, command: &SchemaCommand) -> Result<Value> {
    let store = tierstore::warm::connect(config).await?;
    let changed = match command {
        SchemaCommand::Status => None,
        SchemaCommand::Up { steps } => Some(("applied", store.schema_up(*steps).await?)),
        SchemaCommand::Down { steps, all, yes } => {
            if !yes {
                bail!("`schema down` drops tables and their data; add --yes to confirm");
            }
            if steps.is_none() && !all {
                bail!("say how far: --steps N or --all");
            }
            Some(("reverted", store.schema_down(if *all { None } else { *steps }).await?))
        }
        SchemaCommand::Fresh { yes } => {
            if !yes {
                bail!("`schema fresh` drops every table of the database; add --yes to confirm");
            }
            store.schema_fresh().await?;
            Some(("applied", store.schema_status().await?.into_iter().map(|m| m.name).collect()))
        }
    };
    let mut report = json!({
        "engine": store.backend().service(),
        "address": store.config().url.redacted(),
        "migrations": store.schema_status().await?,
    });
    if let Some((verb, names)) = changed {
        report[verb] = json!(names);
    }
    Ok(report)
}

async fn cool_schema(config: &tierstore::Config, command: &SchemaCommand) -> Result<Value> {
    let store = tierstore::cool::connect(config).await?;
    let applied = match command {
        SchemaCommand::Up { .. } => Some(store.schema_up().await?),
        _ => None,
    };
    let version = store.server_version();
    let mut report = json!({
        "engine": "clickhouse",
        "address": store.config().url.redacted(),
        "database": store.config().database,
        "server_version": format!("{}.{}", version.major, version.minor),
        "migrations": store.schema_status().await?,
    });
    if let Some(names) = applied {
        report["applied"] = json!(names);
    }
    Ok(report)
}

fn print_report(tier: &str, report: &Value) {
    let text = |k: &str| report[k].as_str().unwrap_or_default().to_owned();
    println!("{tier} tier: {} ({})", text("engine"), text("address"));
    for verb in ["applied", "reverted"] {
        if let Some(names) = report[verb].as_array() {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            let list = if names.is_empty() { String::new() } else { format!(": {}", names.join(", ")) };
            println!("{verb} {} migration(s){list}", names.len());
        }
    }
    let rows: Vec<Vec<String>> = report["migrations"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .map(|m| {
                    vec![
                        m["name"].as_str().unwrap_or_default().to_owned(),
                        if m["applied"] == json!(true) { "applied" } else { "pending" }.to_owned(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    super::table::print(&["MIGRATION", "STATUS"], &rows);
    println!();
}
