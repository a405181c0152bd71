//! tierstore's warm tier: accounts, strategies and their bindings, versioned strategy
//! parameters, users/roles/permissions/sessions and the migration's phase and checkpoints, on
//! MySQL/MariaDB, PostgreSQL or embedded SQLite through SeaORM.
//!
//! This crate implements the model's [`AccountStore`](tierstore_model::AccountStore),
//! [`StrategyStore`](tierstore_model::StrategyStore), [`UserStore`](tierstore_model::UserStore)
//! and [`MigrationStateStore`](tierstore_model::MigrationStateStore) over the schema of
//! `tierstore-migrations`, one code base for the three engines. Money is exact on all three
//! ([`money`]). A write that depends on what is stored (a parameter save, a binding, a status
//! change, a phase move, a login attempt) runs in one transaction that locks the row it
//! depends on first, so concurrent writers queue instead of racing; single-statement writes
//! (a create, an unbind, a logout) rely on the database's keys. Passwords and session tokens are stored
//! only as hashes. SeaORM's own RBAC module was considered and not used: it authorises SQL
//! statements per table on a restricted connection, while tierstore's permissions are
//! application actions (`account:create`) checked for operators of `storectl` and the web
//! side. It knows nothing of Redis, ClickHouse or files.

mod accounts;
mod backup;
mod config;
mod entity;
mod error;
mod migration_state;
pub mod money;
mod params;
mod rows;
mod store;
mod strategies;
mod users;

pub use backup::BACKUP_TABLES;
pub use config::{WarmBackend, WarmConfig};
pub use store::{SchemaMigration, WarmStore};
