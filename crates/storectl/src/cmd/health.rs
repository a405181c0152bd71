//! `storectl health`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use tierstore::{Config, HealthStatus, ServiceHealth, check_health};

/// Arguments of `storectl health`.
#[derive(clap::Args)]
pub struct HealthArgs {
    /// Print JSON: {"healthy": bool, "config": origin, "services": [...]}.
    #[arg(long)]
    json: bool,
}

/// Probes every configured service; exit code 1 when any is down.
pub async fn run(config_path: Option<&Path>, args: &HealthArgs) -> Result<ExitCode> {
    let config = super::load_config(config_path)?;
    let report = check_health(&config).await;
    let healthy = report.iter().all(|s| s.status == HealthStatus::Up);
    if args.json {
        let out = serde_json::json!({ "healthy": healthy, "config": config.origin, "services": report });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_table(&config, &report);
    }
    Ok(if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE })
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
