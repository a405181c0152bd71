//! tierstore's warm-tier schema: ordered, reversible SeaORM migrations that run unchanged on
//! MySQL/MariaDB, PostgreSQL and SQLite.
//!
//! Every table is written once with SeaORM's schema builder. Two column kinds differ by engine
//! and are chosen in one place, [`column`]: money is `DECIMAL(20,4)` on MySQL and PostgreSQL but
//! text on SQLite, whose `DECIMAL` is a floating-point REAL that turns 12345678901234.5678 into
//! 12345678901234.568; instants are `DATETIME(6)` on MySQL (its `TIMESTAMP` ends in 2038),
//! `timestamptz` on PostgreSQL and ISO text on SQLite. The seed migration writes the built-in
//! roles and their `resource:action` permissions as literal rows, so a later code change can
//! never alter what an applied migration did.
//!
//! This crate knows only the schema: no store logic, no configuration. `storectl schema` and
//! the `tierstore-migrate` binary (SeaORM's migrator CLI: `up`, `down`, `status`, `fresh`, ...)
//! both run [`Migrator`].

pub mod column;
mod m20261130_000001_accounts_strategies;
mod m20261130_000002_users;
mod m20261130_000003_seed_roles;
mod m20261130_000004_migration_state;
mod m20261207_000005_migration_records;

pub use sea_orm_migration::{MigrationStatus, MigratorTrait};

use sea_orm_migration::prelude::*;

/// The warm tier's migrations, oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261130_000001_accounts_strategies::Migration),
            Box::new(m20261130_000002_users::Migration),
            Box::new(m20261130_000003_seed_roles::Migration),
            Box::new(m20261130_000004_migration_state::Migration),
            Box::new(m20261207_000005_migration_records::Migration),
        ]
    }

    fn migration_table_name() -> DynIden {
        "tierstore_schema_migrations".into_iden()
    }
}
