//! `storectl health`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use tierstore::model::Tier;
use tierstore::{Config, HealthStatus, KlineStorageReport, ServiceHealth, check_health, kline_storage};

/// Arguments of `storectl health`.
#[derive(clap::Args)]
pub struct HealthArgs {
    /// Print JSON: {"healthy": bool, "config": origin, "services": [...], "storage": {"klines":
    /// {...}}} (storage when ClickHouse is up).
    #[arg(long)]
    json: bool,
}

/// Probes every configured service; exit code 1 when any is down.
pub async fn run(config_path: Option<&Path>, args: &HealthArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let report = check_health(&config).await;
    let healthy = report.iter().all(|s| s.status == HealthStatus::Up);
    let cool_up = report.iter().any(|s| s.tier == Tier::Cool && s.status == HealthStatus::Up);
    let storage = if cool_up { Some(storage(&config).await) } else { None };
    if args.json {
        let mut out = serde_json::json!({ "healthy": healthy, "config": config.origin, "services": report });
        match &storage {
            Some(Ok(klines)) => out["storage"] = serde_json::json!({ "klines": klines }),
            Some(Err(e)) => out["storage"] = serde_json::json!({ "error": e.to_string() }),
            None => {}
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&config, &report);
        match &storage {
            Some(Ok(klines)) => print_storage(klines),
            Some(Err(e)) => println!("storage: {e}"),
            None => {}
        }
    }
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn storage(config: &Config) -> tierstore::model::Result<KlineStorageReport> {
    let store = tierstore::cool::connect(config).await?;
    kline_storage(&store, config.legacy.daily_dir.as_deref()).await
}

fn print_storage(r: &KlineStorageReport) {
    let t = &r.table;
    let mut line = format!("klines: {} rows in {} parts, {} bytes on disk", t.rows, t.parts, t.bytes_on_disk);
    if let Some(b) = r.bytes_per_row {
        line.push_str(&format!(" ({b:.2} B/row)"));
    }
    if let (Some(csv), Some(ratio)) = (r.csv, r.ratio) {
        line.push_str(&format!("; CSV folder {} files, {} bytes: {ratio:.2}:1", csv.files, csv.bytes));
    }
    println!("{line}");
}

fn print_table(config: &Config, report: &[ServiceHealth]) {
    println!("configuration: {}", config.origin);
    if report.is_empty() {
        println!("no services configured");
        return;
    }
    let rows: Vec<Vec<String>> = report
        .iter()
        .map(|s| {
            vec![
                s.service.clone(),
                s.tier.to_string(),
                s.address.clone(),
                match s.status {
                    HealthStatus::Up => "up".into(),
                    HealthStatus::Down => "DOWN".into(),
                },
                s.version.clone().unwrap_or_else(|| "-".into()),
                s.latency_ms.map(|ms| format!("{ms:.2} ms")).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    super::table::print(&["SERVICE", "TIER", "ADDRESS", "STATUS", "VERSION", "LATENCY"], &rows);
    for s in report.iter().filter(|s| s.status == HealthStatus::Down) {
        if let Some(e) = &s.error {
            println!("error: {e}");
        }
    }
}
