//! `storectl strategy`: strategies and their bindings to accounts.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use tierstore_model::{
    AccountId, Binding, NewStrategy, RiskLimit, Strategy, StrategyId, StrategyKind, StrategyStatus,
    StrategyStore,
};

use super::table;

/// Arguments of `storectl strategy`.
#[derive(Args)]
pub struct StrategyArgs {
    #[command(subcommand)]
    command: StrategyCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum StrategyCommand {
    /// Create a strategy (it starts in testing).
    Create {
        /// Unique code: lower-case letters, digits, '_'.
        code: String,
        /// Unique human name.
        #[arg(long)]
        name: String,
        /// wencai, remote or technical.
        #[arg(long)]
        kind: String,
        /// The strategy's own version label.
        #[arg(long, default_value = "1.0.0")]
        version: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a strategy with its bindings and active parameter version.
    Show {
        /// The strategy code.
        code: String,
    },
    /// List strategies, optionally only those in one state.
    List {
        /// testing, active or inactive.
        #[arg(long)]
        status: Option<String>,
    },
    /// testing or inactive → active.
    Activate {
        /// The strategy code.
        code: String,
    },
    /// active → inactive.
    Deactivate {
        /// The strategy code.
        code: String,
    },
    /// Bind a strategy to an account (or change the binding). All of an account's
    /// allocations together must not exceed its current capital.
    Bind {
        /// The strategy code.
        code: String,
        /// The account id.
        account: String,
        /// Capital allocated, > 0.
        #[arg(long)]
        capital: String,
        /// Maximum risk, percent of the allocation, 0 to 100.
        #[arg(long)]
        risk_limit: String,
    },
    /// Remove a binding.
    Unbind {
        /// The strategy code.
        code: String,
        /// The account id.
        account: String,
    },
    /// List the bindings of an account.
    Bindings {
        /// The account id.
        account: String,
    },
}

/// Runs `storectl strategy ...`.
pub async fn run(config_path: Option<&Path>, args: &StrategyArgs) -> Result<ExitCode> {
    let store = super::open_warm(config_path).await?;
    match &args.command {
        StrategyCommand::Create { code, name, kind, version, description } => {
            let new = NewStrategy {
                id: StrategyId::new(code)?,
                name: name.clone(),
                kind: StrategyKind::parse(kind)?,
                version: version.clone(),
                description: description.clone(),
            };
            let s = store.create_strategy(&new).await?;
            show_one(&s, &[], None, args.json)?;
        }
        StrategyCommand::Show { code } => {
            let id = StrategyId::new(code)?;
            let s = store.strategy(&id).await?;
            let bindings = store.bindings_of_strategy(&id).await?;
            let active = match store.params(&id, None).await {
                Ok(v) => Some(v.version),
                Err(tierstore_model::StoreError::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            show_one(&s, &bindings, active, args.json)?;
        }
        StrategyCommand::List { status } => {
            let status = status.as_deref().map(StrategyStatus::parse).transpose()?;
            let list = store.list_strategies(status).await?;
            if args.json {
                table::json(&list)?;
            } else {
                print_strategies(&list);
            }
        }
        StrategyCommand::Activate { code } => {
            let s = store.set_strategy_status(&StrategyId::new(code)?, StrategyStatus::Active).await?;
            show_one(&s, &[], None, args.json)?;
        }
        StrategyCommand::Deactivate { code } => {
            let s = store.set_strategy_status(&StrategyId::new(code)?, StrategyStatus::Inactive).await?;
            show_one(&s, &[], None, args.json)?;
        }
        StrategyCommand::Bind { code, account, capital, risk_limit } => {
            let binding = Binding {
                account: AccountId::new(account)?,
                strategy: StrategyId::new(code)?,
                allocated_capital: super::money("capital", capital)?,
                risk_limit: RiskLimit::new(super::money("risk-limit", risk_limit)?)?,
            };
            let b = store.bind(&binding).await?;
            print_bindings(&[b], args.json)?;
        }
        StrategyCommand::Unbind { code, account } => {
            store.unbind(&AccountId::new(account)?, &StrategyId::new(code)?).await?;
            if args.json {
                table::json(&serde_json::json!({ "unbound": { "strategy": code, "account": account } }))?;
            } else {
                println!("unbound {code} from {account}");
            }
        }
        StrategyCommand::Bindings { account } => {
            let list = store.bindings_of_account(&AccountId::new(account)?).await?;
            print_bindings(&list, args.json)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show_one(s: &Strategy, bindings: &[Binding], active_params: Option<u32>, json: bool) -> Result<()> {
    if json {
        return table::json(&serde_json::json!({
            "strategy": s,
            "bindings": bindings,
            "active_params_version": active_params,
        }));
    }
    print_strategies(std::slice::from_ref(s));
    if let Some(v) = active_params {
        println!("active parameters: v{v}");
    }
    if !bindings.is_empty() {
        println!();
        print_bindings(bindings, false)?;
    }
    Ok(())
}

fn print_strategies(list: &[Strategy]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                s.id.to_string(),
                s.name.clone(),
                s.kind.to_string(),
                s.version.clone(),
                s.status.to_string(),
                table::instant(&s.updated_at),
            ]
        })
        .collect();
    table::print(&["CODE", "NAME", "KIND", "VERSION", "STATUS", "UPDATED"], &rows);
}

fn print_bindings(list: &[Binding], json: bool) -> Result<()> {
    if json {
        return table::json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|b| {
            vec![
                b.strategy.to_string(),
                b.account.to_string(),
                b.allocated_capital.to_string(),
                format!("{}%", b.risk_limit.percent()),
            ]
        })
        .collect();
    table::print(&["STRATEGY", "ACCOUNT", "CAPITAL", "RISK LIMIT"], &rows);
    Ok(())
}
