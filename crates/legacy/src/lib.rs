//! tierstore's legacy tier: the JSON/CSV layout the SilverQuant-style Python trading program
//! reads and writes (`held_days.json`, `max_price.json`, `min_price.json`, `deal_hist.csv`,
//! `assets.csv`, `_daily/<code>.csv`).
//!
//! This tier is the source of every migration and the target of every rollback, so it must
//! read every variant found in the wild and write exactly what the Python program reads. It
//! owns the file formats, atomic rewrites and advisory locking; it knows nothing of Redis,
//! SQL or ClickHouse.

mod config;
mod store;

pub use config::{JournalEncoding, LegacyConfig};
pub use store::LegacyStore;
