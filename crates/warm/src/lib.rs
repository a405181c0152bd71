//! tierstore's warm tier: accounts, strategies and their bindings, versioned strategy
//! parameters, users/roles/permissions and migration state, in MySQL/MariaDB or SQLite
//! through SeaORM.
//!
//! This crate owns the relational schema and its migrations and implements the model's store
//! traits for those roles. SQLite is the embedded default; MySQL 8 and MariaDB are the
//! production engines, and both are tested. It knows nothing of Redis, ClickHouse or files.

mod config;
mod error;
mod store;

pub use config::{WarmBackend, WarmConfig};
pub use store::WarmStore;
