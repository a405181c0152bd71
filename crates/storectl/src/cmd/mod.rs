//! One module per subcommand.

pub mod health;
