//! One module per subcommand.

pub mod gen_legacy;
pub mod health;
pub mod inspect;
mod progress;
