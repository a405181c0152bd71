//! `cargo xtask demo`: the migration end to end on local defaults, for a newcomer on a fresh
//! machine. Brings Redis and ClickHouse up (the warm tier is a SQLite file), generates a
//! Chinese-Windows SilverQuant cache, and runs what an operator would: `migrate init`,
//! `backfill`, `switch dual_write`, a few live fills through the core (the `live_writes`
//! example, as strategy code would write them), `verify --full`, `switch db_first`,
//! `rollback`, `export` — then prints one screen of figures. Everything it made stays under
//! `target/demo/<run>/` (with its `tierstore.toml`) to explore with `storectl`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cmd;
use crate::services::{Layout, Service};
use crate::session::Session;

/// Runs a built program and parses the JSON it prints.
fn json(program: &Path, args: &[&str]) -> Result<(Value, f64)> {
    let started = Instant::now();
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("could not start {}", program.display()))?;
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`{} {}` failed ({}):\n{stdout}\n{}",
            program.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v = serde_json::from_str(&stdout)
        .with_context(|| format!("`{}` printed no JSON: {stdout}", args.join(" ")))?;
    Ok((v, secs))
}

/// Files under `dir` by relative path (lock files left aside).
fn files(dir: &Path) -> Result<std::collections::BTreeMap<PathBuf, Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("listing {}", d.display()))? {
            let p = e?.path();
            if p.is_dir() {
                todo.push(p);
            } else if !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                out.insert(p.strip_prefix(dir)?.to_path_buf(), std::fs::read(&p)?);
            }
        }
    }
    Ok(out)
}

/// Runs the demo.
pub fn run() -> Result<()> {
    let root = crate::project_root();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let layout = Layout::default_for_workspace();
    let wanted: Vec<(Service, String)> =
        [Service::Redis, Service::Clickhouse].iter().map(|s| (*s, s.configured_url())).collect();
    let session = Session::up(&layout, &wanted, false).context("bringing Redis and ClickHouse up")?;
    let url = |s: Service| session.running().iter().find(|r| r.service == s).map(|r| r.url.clone());
    let (Some(redis), Some(clickhouse)) = (url(Service::Redis), url(Service::Clickhouse)) else {
        bail!("the services did not come up");
    };

    let mut build = Command::new(&cargo);
    // Release: the figures printed are rows per second, and a debug build would understate them
    // tenfold. Naming the example selects targets, so the binary is named too.
    build.current_dir(&root).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "storectl",
        "--bin",
        "storectl",
        "-p",
        "tierstore",
        "--example",
        "live_writes",
    ]);
    cmd::run(&mut build)?;
    // Where cargo put them: `CARGO_TARGET_DIR` moves the whole target directory.
    let target = crate::target_dir();
    let storectl = target.join("release/storectl");
    let live_writes = target.join("release/examples/live_writes");

    let run_id = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let work = target.join("demo").join(run_id.to_string());
    std::fs::create_dir_all(&work)?;
    let cache = work.join("cache");
    let cache_s = cache.to_string_lossy().into_owned();
    let (generated, gen_s) = json(
        &storectl,
        &[
            "gen-legacy",
            "--out",
            &cache_s,
            "--accounts",
            "3",
            "--positions",
            "20",
            "--trades",
            "5000",
            "--stocks",
            "300",
            "--days",
            "250",
            "--windows",
            "--json",
        ],
    )?;
    let mut toml = format!(
        "[redis]\nurl = {redis:?}\nnamespace = \"tierstore-demo-{run_id}\"\n\
         [clickhouse]\nurl = {clickhouse:?}\ndatabase = \"tierstore_demo_{run_id}\"\n\
         [warm]\nurl = {:?}\n[store]\noutbox_dir = {:?}\n[legacy]\nplatform = \"windows\"\n",
        format!("sqlite://{}?mode=rwc", work.join("warm.db").display()),
        work.join("outbox").display().to_string(),
    );
    for dir in generated["strategy_dirs"].as_array().context("gen-legacy printed no strategy_dirs")? {
        let dir = dir.as_str().unwrap_or_default();
        let id = Path::new(dir).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        toml.push_str(&format!("[[accounts]]\nid = {id:?}\nlegacy_dir = {dir:?}\n"));
    }
    let config = work.join("tierstore.toml");
    std::fs::write(&config, toml)?;
    let config_s = config.to_string_lossy().into_owned();
    let ctl = |args: &[&str]| -> Result<(Value, f64)> {
        let mut all = vec!["--config", &config_s];
        all.extend_from_slice(args);
        all.push("--json");
        json(&storectl, &all)
    };

    eprintln!("demo: migrating {cache_s}");
    let (init, init_s) = ctl(&["migrate", "init", "--legacy-dir", &cache_s])?;
    let (backfill, _) = ctl(&["migrate", "backfill"])?;
    ctl(&["migrate", "switch", "dual_write", "--by", "demo", "--note", "backfill done"])?;
    let (live, live_s) = json(&live_writes, &[&config_s, "5"])?;
    let (verify, verify_s) = ctl(&["verify", "--full"])?;
    if verify["passed"] != Value::Bool(true) {
        bail!("verify found differences: {verify:#}");
    }
    ctl(&["migrate", "switch", "db_first", "--by", "demo", "--note", "verify passed"])?;
    let (rollback, rollback_s) = ctl(&["rollback", "--by", "demo", "--note", "demo over"])?;
    let export_dir = work.join("export");
    let (export, export_s) = ctl(&["export", "--to", &export_dir.to_string_lossy()])?;
    let (source, exported) = (files(&cache)?, files(&export_dir)?);
    let same = source.iter().filter(|(p, b)| exported.get(*p) == Some(*b)).count();

    let kinds = &backfill["kinds"];
    let rate = |k: &str| {
        let rows = kinds[k]["rows"].as_f64().unwrap_or(0.0);
        let secs = kinds[k]["seconds"].as_f64().unwrap_or(0.0);
        if secs > 0.0 { rows / secs } else { 0.0 }
    };
    let compared = |k: &str| verify["kinds"][k]["compared"].as_u64().unwrap_or(0);
    println!();
    println!("tierstore demo: a SilverQuant cache migrated and back");
    println!(
        "  generated   {} accounts, {} trades, {} kline rows ({gen_s:.1} s)",
        init["accounts_created"].as_array().map_or(0, Vec::len),
        generated["totals"]["trades"],
        generated["totals"]["kline_rows"]
    );
    println!("  init        {} files inspected, schemas applied ({init_s:.1} s)", init["files"]);
    for k in ["positions", "trades", "assets", "klines"] {
        println!("  backfill    {k:<10} {:>9} rows {:>12.0} rows/s", kinds[k]["rows"], rate(k));
    }
    println!("  dual_write  {} live fills through tierstore::Store ({live_s:.1} s)", live["trades"]);
    println!(
        "  verify      passed: {} positions, {} trades, {} asset points, {} bars compared ({verify_s:.1} s)",
        compared("positions"),
        compared("trades"),
        compared("assets"),
        compared("klines")
    );
    println!("  db_first    switched after the full verify");
    println!(
        "  rollback    {} -> {} ({rollback_s:.2} s)",
        rollback["from"].as_str().unwrap_or("?"),
        rollback["to"].as_str().unwrap_or("?")
    );
    println!(
        "  export      {} files, {same} of {} source files byte-identical ({export_s:.1} s)",
        export["files"],
        source.len()
    );
    println!("  explore     {} --config {config_s} migrate status", storectl.display());
    println!("              (services the demo started are stopped now: `cargo xtask services up` first)");
    Ok(())
}
