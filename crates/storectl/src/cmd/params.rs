//! `storectl params`: versioned strategy parameters.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use tierstore_model::{ParamDiff, ParamVersion, Params, StrategyId, StrategyStore};

use super::table;

/// Arguments of `storectl params`.
#[derive(Args)]
pub struct ParamsArgs {
    #[command(subcommand)]
    command: ParamsCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum ParamsCommand {
    /// Save a parameter file (TOML or JSON, by extension) as the next version and make it
    /// the active one.
    Save {
        /// The strategy code.
        code: String,
        /// A `.toml` or `.json` file holding a table/object of parameters.
        file: PathBuf,
        /// Why this version.
        #[arg(long, default_value = "")]
        remark: String,
    },
    /// Show the active version, or --version N.
    Show {
        /// The strategy code.
        code: String,
        /// A version number.
        #[arg(long)]
        version: Option<u32>,
    },
    /// Every version and every save/activation event.
    History {
        /// The strategy code.
        code: String,
    },
    /// What changed from version A to version B (nested keys as dotted paths).
    Diff {
        /// The strategy code.
        code: String,
        /// The older version.
        a: u32,
        /// The newer version.
        b: u32,
    },
    /// Make an existing version the active one again (recorded as an event).
    Activate {
        /// The strategy code.
        code: String,
        /// The version.
        version: u32,
        /// Why.
        #[arg(long, default_value = "")]
        remark: String,
    },
}

/// Runs `storectl params ...`.
pub async fn run(config_path: Option<&Path>, args: &ParamsArgs) -> Result<ExitCode> {
    let store = super::open_warm(config_path).await?;
    match &args.command {
        ParamsCommand::Save { code, file, remark } => {
            let params = read_params(file)?;
            let v = store.save_params(&StrategyId::new(code)?, &params, remark).await?;
            show_version(&v, args.json)?;
        }
        ParamsCommand::Show { code, version } => {
            let v = store.params(&StrategyId::new(code)?, *version).await?;
            show_version(&v, args.json)?;
        }
        ParamsCommand::History { code } => {
            let id = StrategyId::new(code)?;
            let versions = store.param_history(&id).await?;
            let events = store.param_events(&id).await?;
            if args.json {
                table::json(&serde_json::json!({ "versions": versions, "events": events }))?;
            } else {
                let rows: Vec<Vec<String>> = versions
                    .iter()
                    .map(|v| {
                        vec![
                            format!("v{}", v.version),
                            if v.active { "active" } else { "" }.to_owned(),
                            table::instant(&v.created_at),
                            v.remark.clone(),
                        ]
                    })
                    .collect();
                table::print(&["VERSION", "ACTIVE", "SAVED", "REMARK"], &rows);
                println!();
                let rows: Vec<Vec<String>> = events
                    .iter()
                    .map(|e| {
                        vec![
                            e.seq.to_string(),
                            e.kind.to_string(),
                            format!("v{}", e.version),
                            table::instant(&e.at),
                            e.remark.clone(),
                        ]
                    })
                    .collect();
                table::print(&["EVENT", "KIND", "VERSION", "AT", "REMARK"], &rows);
            }
        }
        ParamsCommand::Diff { code, a, b } => {
            let id = StrategyId::new(code)?;
            let older = store.params(&id, Some(*a)).await?;
            let newer = store.params(&id, Some(*b)).await?;
            let diff = ParamDiff::between(&older.params, &newer.params);
            if args.json {
                table::json(&diff)?;
            } else {
                print_diff(&diff, *a, *b);
            }
        }
        ParamsCommand::Activate { code, version, remark } => {
            let v = store.activate_params(&StrategyId::new(code)?, *version, remark).await?;
            show_version(&v, args.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_version(v: &ParamVersion, json: bool) -> Result<()> {
    if json {
        return table::json(v);
    }
    println!(
        "{} v{}{} saved {}{}",
        v.strategy,
        v.version,
        if v.active { " (active)" } else { "" },
        table::instant(&v.created_at),
        if v.remark.is_empty() { String::new() } else { format!(": {}", v.remark) }
    );
    println!("{}", serde_json::to_string_pretty(&v.params)?);
    Ok(())
}

fn print_diff(d: &ParamDiff, a: u32, b: u32) {
    if d.is_empty() {
        println!("v{a} and v{b} are equal");
        return;
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    rows.extend(
        d.added.iter().map(|e| vec![e.key.clone(), "added".into(), String::new(), e.value.to_string()]),
    );
    rows.extend(
        d.removed.iter().map(|e| vec![e.key.clone(), "removed".into(), e.value.to_string(), String::new()]),
    );
    rows.extend(
        d.changed.iter().map(|c| vec![c.key.clone(), "changed".into(), c.old.to_string(), c.new.to_string()]),
    );
    rows.sort();
    table::print(&["KEY", "CHANGE", &format!("v{a}"), &format!("v{b}")], &rows);
}

/// Reads a parameter file; the extension says TOML or JSON.
fn read_params(file: &Path) -> Result<Params> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let ext = file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let value = match ext.as_deref() {
        Some("json") => serde_json::from_str::<Value>(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?,
        Some("toml") => {
            let table: toml::Table =
                toml::from_str(&text).with_context(|| format!("{} is not valid TOML", file.display()))?;
            toml_to_json(toml::Value::Table(table), "").with_context(|| format!("in {}", file.display()))?
        }
        _ => bail!("{}: parameter files are .toml or .json", file.display()),
    };
    match value {
        Value::Object(map) => Ok(map),
        other => {
            bail!("{}: parameters must be a table/object at the top, not {}", file.display(), kind(&other))
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// TOML to JSON: datetimes become their TOML text; NaN and infinities, which JSON cannot
/// hold, are refused naming the key.
fn toml_to_json(v: toml::Value, path: &str) -> Result<Value> {
    let at = |k: &str| if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") };
    Ok(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::Number(
            serde_json::Number::from_f64(f)
                .with_context(|| format!("key {path}: {f} cannot be stored as JSON"))?,
        ),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(
            a.into_iter()
                .enumerate()
                .map(|(i, v)| toml_to_json(v, &format!("{path}[{i}]")))
                .collect::<Result<_>>()?,
        ),
        toml::Value::Table(t) => Value::Object(
            t.into_iter().map(|(k, v)| Ok((k.clone(), toml_to_json(v, &at(&k))?))).collect::<Result<_>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn toml(text: &str) -> Result<Value> {
        toml_to_json(toml::Value::Table(toml::from_str(text).unwrap()), "")
    }

    #[test]
    fn toml_parameters_become_json() {
        let v = toml(
            "a = 1\nb = 0.5\nc = \"x\"\nd = [1, 2]\nstart = 2026-01-05T09:30:00+08:00\n[risk]\nstop = 0.05\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"a": 1, "b": 0.5, "c": "x", "d": [1, 2], "start": "2026-01-05T09:30:00+08:00", "risk": {"stop": 0.05}})
        );
        let err = toml("[risk]\nlimits = [1.0, nan]\n").unwrap_err();
        assert_eq!(err.to_string(), "key risk.limits[1]: NaN cannot be stored as JSON");
    }
}
