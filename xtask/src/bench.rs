//! `cargo xtask bench [NAME...]`: the project's benchmarks, each a `harness = false` bench
//! target that prints a table and one JSON object per line.

use std::process::Command;

use anyhow::{Result, bail};

use crate::cmd;
use crate::services::{self, Layout, Service};

/// A benchmark: name, package, bench target, what it measures, services it needs.
pub const BENCHES: &[(&str, &str, &str, &str, &[Service])] = &[
    (
        "legacy",
        "tierstore-legacy",
        "kline_parse",
        "kline parsing throughput on 5,000 stocks x 1,250 days (and generating that dataset)",
        &[],
    ),
    (
        "hot",
        "tierstore-hot",
        "hot_ops",
        "hot-tier latency for a 100-position account: account_read, single_read, max_update, held_inc",
        &[Service::Redis],
    ),
    (
        "warm",
        "tierstore-warm",
        "warm_ops",
        "warm-tier latency on MariaDB, PostgreSQL and SQLite: account_read, params_save, login",
        &[Service::Mysql, Service::Postgres],
    ),
    (
        "cool",
        "tierstore",
        "cool_ops",
        "cool tier on 6.25 M bars and 300 k trades: kline_insert (rows/s, peak RSS), kline_storage, \
         trade_insert, then written twice: kline_range_60, kline_last_60, kline_batch_100, trades_year, \
         trades_agg_month, cross_account",
        &[Service::Clickhouse],
    ),
    (
        "core",
        "tierstore",
        "core_ops",
        "the composed store: a 100-position account read in file, dual_write and db_first (and the hot tier's \
         own account_read beside it), a fill (journal row and position update) in dual_write and db_first",
        &[Service::Redis, Service::Clickhouse],
    ),
    (
        "migrate",
        "tierstore",
        "migrate_ops",
        "the migration on 6.25 M bars and 300 k trades: init, kline_backfill (rows/s, peak RSS), \
         trade_backfill, backfill_total, verify_full",
        &[Service::Redis, Service::Clickhouse],
    ),
];

/// Runs the named benchmarks, or all of them.
pub fn run(names: &[String]) -> Result<()> {
    let chosen: Vec<_> = if names.is_empty() {
        BENCHES.iter().collect()
    } else {
        let mut v = Vec::new();
        for n in names {
            match BENCHES.iter().find(|b| b.0 == n) {
                Some(b) => v.push(b),
                None => {
                    let known: Vec<&str> = BENCHES.iter().map(|b| b.0).collect();
                    bail!("no benchmark named {n:?}; known: {}", known.join(", "));
                }
            }
        }
        v
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (name, package, target, what, needs) in chosen {
        eprintln!("xtask: bench {name}: {what}");
        let wanted: Vec<(Service, String)> = needs.iter().map(|s| (*s, s.configured_url())).collect();
        let running = services::up(&Layout::default_for_workspace(), &wanted)?;
        let mut c = Command::new(&cargo);
        c.current_dir(crate::project_root()).args(["bench", "--package", package, "--bench", target]);
        for r in &running {
            c.env(r.service.env_var(), &r.url);
        }
        cmd::run(&mut c)?;
    }
    Ok(())
}
