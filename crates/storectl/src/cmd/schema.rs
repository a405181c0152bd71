//! `storectl schema`: the warm tier's migrations.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

/// Arguments of `storectl schema`.
#[derive(Args)]
pub struct SchemaArgs {
    #[command(subcommand)]
    command: SchemaCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum SchemaCommand {
    /// Apply pending migrations (all, or --steps N). Running it again changes nothing.
    Up {
        /// Apply at most this many.
        #[arg(long)]
        steps: Option<u32>,
    },
    /// Revert applied migrations, newest first: --steps N, or --all. Drops tables and their
    /// data, so it needs --yes.
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
    /// List the migrations and whether each is applied.
    Status,
    /// Drop every table of the database and apply all migrations again. Needs --yes.
    Fresh {
        /// Confirm that every table will be dropped.
        #[arg(long)]
        yes: bool,
    },
}

/// Runs `storectl schema ...`.
pub async fn run(config_path: Option<&Path>, args: &SchemaArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let store = tierstore::warm::connect(&config).await?;
    let engine = store.backend().service();
    let changed = match &args.command {
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
    let status = store.schema_status().await?;
    if args.json {
        let mut out = serde_json::json!({ "engine": engine, "migrations": status });
        if let Some((verb, names)) = &changed {
            out[*verb] = serde_json::json!(names);
        }
        super::table::json(&out)?;
    } else {
        println!("warm engine: {engine} ({})", store.config().url.redacted());
        if let Some((verb, names)) = &changed {
            println!(
                "{verb} {} migration(s){}",
                names.len(),
                if names.is_empty() { String::new() } else { format!(": {}", names.join(", ")) }
            );
        }
        let rows: Vec<Vec<String>> = status
            .iter()
            .map(|m| vec![m.name.clone(), if m.applied { "applied" } else { "pending" }.to_owned()])
            .collect();
        super::table::print(&["MIGRATION", "STATUS"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}
