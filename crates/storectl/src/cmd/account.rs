//! `storectl account`: trading accounts in the warm tier.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand};
use tierstore_model::{Account, AccountId, AccountStatus, AccountStore, AccountUpdate, Broker, NewAccount};

use super::table;

/// Arguments of `storectl account`.
#[derive(Args)]
pub struct AccountArgs {
    #[command(subcommand)]
    command: AccountCommand,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an active account whose cash and total assets start at its capital.
    Create {
        /// Unique id (letters, digits, '_', '-', '.'), e.g. the strategy directory name.
        id: String,
        /// Broker gateway: QMT, GM or TDX.
        #[arg(long)]
        broker: String,
        /// Initial capital, a decimal number > 0 with at most 4 decimal places.
        #[arg(long)]
        capital: String,
        /// Human name (default: the id).
        #[arg(long)]
        name: Option<String>,
    },
    /// Show one account.
    Show {
        /// The account id.
        id: String,
    },
    /// List accounts, optionally only those in one state.
    List {
        /// active, suspended or inactive.
        #[arg(long)]
        status: Option<String>,
    },
    /// Change name or capital figures.
    Update {
        /// The account id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New cash.
        #[arg(long)]
        current_capital: Option<String>,
        /// New total assets.
        #[arg(long)]
        total_assets: Option<String>,
        /// New market value of positions.
        #[arg(long)]
        position_value: Option<String>,
    },
    /// active → suspended.
    Suspend {
        /// The account id.
        id: String,
    },
    /// suspended → active.
    Activate {
        /// The account id.
        id: String,
    },
    /// active or suspended → inactive (final).
    Deactivate {
        /// The account id.
        id: String,
    },
}

/// Runs `storectl account ...`.
pub async fn run(config_path: Option<&Path>, args: &AccountArgs) -> Result<ExitCode> {
    let store = super::open_warm(config_path).await?;
    let accounts: Vec<Account> = match &args.command {
        AccountCommand::Create { id, broker, capital, name } => {
            let new = NewAccount {
                id: AccountId::new(id)?,
                name: name.clone().unwrap_or_else(|| id.clone()),
                broker: Broker::parse(broker)?,
                initial_capital: super::money("capital", capital)?,
            };
            vec![store.create_account(&new).await?]
        }
        AccountCommand::Show { id } => vec![store.account(&AccountId::new(id)?).await?],
        AccountCommand::List { status } => {
            let status = status.as_deref().map(AccountStatus::parse).transpose()?;
            let list = store.list_accounts(status).await?;
            if args.json {
                table::json(&list)?;
            } else {
                print_accounts(&list);
            }
            return Ok(ExitCode::SUCCESS);
        }
        AccountCommand::Update { id, name, current_capital, total_assets, position_value } => {
            let money =
                |opt: &str, v: &Option<String>| v.as_deref().map(|s| super::money(opt, s)).transpose();
            let update = AccountUpdate {
                name: name.clone(),
                current_capital: money("current-capital", current_capital)?,
                total_assets: money("total-assets", total_assets)?,
                position_value: money("position-value", position_value)?,
            };
            vec![store.update_account(&AccountId::new(id)?, &update).await?]
        }
        AccountCommand::Suspend { id } => {
            vec![store.set_account_status(&AccountId::new(id)?, AccountStatus::Suspended).await?]
        }
        AccountCommand::Activate { id } => {
            vec![store.set_account_status(&AccountId::new(id)?, AccountStatus::Active).await?]
        }
        AccountCommand::Deactivate { id } => {
            vec![store.set_account_status(&AccountId::new(id)?, AccountStatus::Inactive).await?]
        }
    };
    if args.json {
        table::json(&accounts[0])?;
    } else {
        print_accounts(&accounts);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_accounts(list: &[Account]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.id.to_string(),
                a.name.clone(),
                a.broker.as_str().to_uppercase(),
                a.status.to_string(),
                a.initial_capital.to_string(),
                a.current_capital.to_string(),
                a.total_assets.to_string(),
                a.position_value.to_string(),
                table::instant(&a.updated_at),
            ]
        })
        .collect();
    table::print(
        &["ID", "NAME", "BROKER", "STATUS", "INITIAL", "CASH", "TOTAL", "POSITIONS", "UPDATED"],
        &rows,
    );
}
