//! One module per subcommand.

pub mod account;
pub mod gen_legacy;
pub mod health;
pub mod inspect;
pub mod migrate;
pub mod params;
mod progress;
pub mod schema;
pub mod strategy;
mod table;
pub mod user;

use anyhow::Context as _;

/// Loads the configuration and tells the log writer its secrets.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<tierstore::Config> {
    let config = tierstore::Config::load(path).context("loading the configuration")?;
    crate::logging::hide(config.secrets());
    Ok(config)
}

/// The warm store with a current schema, for the administration commands.
pub async fn open_warm(path: Option<&std::path::Path>) -> anyhow::Result<tierstore::warm::WarmStore> {
    let config = load_config(path)?;
    Ok(tierstore::warm::open(&config).await?)
}

/// Parses a decimal amount given on the command line, naming the option on error.
pub fn money(option: &str, s: &str) -> anyhow::Result<tierstore_model::Money> {
    Ok(tierstore_model::quantity::parse_money(option, s)?)
}
