//! One module per subcommand.

pub mod gen_legacy;
pub mod health;
pub mod inspect;
mod progress;

/// Loads the configuration and tells the log writer its secrets.
pub fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<tierstore::Config> {
    use anyhow::Context as _;
    let config = tierstore::Config::load(path).context("loading the configuration")?;
    crate::logging::hide(config.secrets());
    Ok(config)
}
