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

pub mod assets;
mod config;
pub mod encoding;
mod fsio;
pub mod inspect;
pub mod journal;
pub mod klines;
mod positions;
pub mod pyfmt;
mod store;
pub mod synth;

pub use config::{HeldDaysFormat, LegacyConfig, Platform};
pub use fsio::LOCK_FILE;
pub use store::{LAYOUT_VERSION, LegacyStore};
