//! tierstore's legacy tier: the JSON/CSV layout the SilverQuant-style Python trading program
//! reads and writes (`held_days.json`, `max_price.json`, `min_price.json`, `deal_hist.csv`,
//! `assets.csv`, `_daily/<code>.csv`).
//!
//! This tier is the source of every migration and the target of every rollback, so it reads
//! every variant found in the wild (GBK, UTF-8 with and without BOM, any line endings, both
//! held-days shapes) and writes exactly what the Python program reads, byte for byte in the
//! program's own style. It owns the file formats, atomic rewrites and the advisory lock our
//! writers share, the dataset generator and the `inspect` report; it knows nothing of Redis,
//! SQL or ClickHouse.
//!
//! Three layers: [`format`] parses and renders each kind of file (pure, no I/O); `store`
//! implements the model's store traits on a directory layout, one module per role, doing the
//! reading, locking and atomic writing (`fsio`); [`tools`] holds `inspect` and the dataset
//! generator, both built on the format layer.

mod config;
pub mod format;
mod fsio;
mod store;
pub mod tools;

pub use config::{HeldDaysFormat, LegacyConfig, Platform};
pub use fsio::LOCK_FILE;
pub use store::{LAYOUT_VERSION, LegacyStore};
pub use tools::{inspect, synth};
