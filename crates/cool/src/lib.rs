//! tierstore's cool tier: the trade journal, daily klines and asset curves in ClickHouse.
//!
//! This crate owns the ClickHouse client, the table schemas (version-gated so they work on the
//! 18.16 server available for tests and on a modern production server) and the batch insert
//! and query paths, and implements the model's store traits for those roles. It knows nothing
//! of Redis, SQL databases or files. Every request goes through the rules of
//! `shared/spec/clickhouse-18.md`: no client-side schema validation, `wait_end_of_query=1`
//! so errors in the middle of a stream are reported, values bound with `?`, never formatted.
//! Writes are idempotent by key (ReplacingMergeTree with a write version, read with `FINAL`
//! or, in a kline stream, every version read and the newest kept here), so writing the same
//! rows again never changes what a query returns, before or after merges.

mod assets;
mod config;
mod error;
mod kline_writer;
mod klines;
mod scaled;
pub mod schema;
mod storage;
mod store;
mod trades;

pub use config::{CoolConfig, WireCompression};
pub use kline_writer::{DEFAULT_BATCH_ROWS, KlineWriter};
pub use klines::{CodeSpan, MAX_CODES, STREAM_CHUNK_ROWS};
pub use schema::{CoolMigration, ServerVersion};
pub use storage::{ColumnStorage, TableStorage};
pub use store::CoolStore;
pub use trades::AccountTradeStats;
