//! tierstore: one storage API for quant-trading state over four tiers.
//!
//! Strategy code depends on this crate only. [`Store`] (and [`blocking::Store`] for code that
//! is not async) reads `tierstore.toml` ([`config`]), connects the tiers it names — hot (Redis:
//! position state), warm (MySQL/MariaDB, PostgreSQL or SQLite: accounts, strategies, params,
//! users, migration state), cool (ClickHouse: trades, klines, assets) and legacy (the
//! SilverQuant files) — and routes each store role to them by the phase of the three-phase
//! migration, writing the files first in every phase, the databases through the durable
//! [`outbox`] (as [`tier_write::TierWrite`]s), falling back to the files when a database is
//! silent and telling the webhook of [`alerts`]. It is the only crate that knows more than one
//! tier; the tiers know only the model. For operators: [`health`] probes every configured
//! service; [`storage`] reports what the kline table takes on disk against its CSV folder;
//! [`files`] is how they reach the legacy files (inspect them, generate a dataset); [`warm`]
//! opens the relational store for the schema and administration commands, [`cool`] the
//! ClickHouse one for its schema.

pub mod alerts;
pub mod blocking;
pub mod config;
pub mod cool;
pub mod files;
pub mod health;
pub mod migration;
pub mod outbox;
pub mod storage;
mod store;
pub mod tier_write;
pub mod warm;

pub use config::{Config, ConfigError};
pub use health::{HealthStatus, ServiceHealth, check_health};
pub use storage::{KlineStorageReport, kline_storage};
pub use store::{Sourced, SourcedReads, Store};
pub use tierstore_model as model;
