//! The compression report: what the kline table takes on disk per row, and how that compares
//! with the CSV folder the bars came from.

use std::path::Path;

use tierstore_cool::{CoolStore, TableStorage};
use tierstore_legacy::tools::inspect::{KlineFolderSize, kline_folder_size};
use tierstore_model::Result;

/// The kline table's size beside the legacy kline folder's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KlineStorageReport {
    /// The table, from the server's accounting.
    pub table: TableStorage,
    /// Bytes on disk per (physical) row.
    pub bytes_per_row: Option<f64>,
    /// The configured kline folder, when there is one.
    pub csv: Option<KlineFolderSize>,
    /// CSV bytes per table row: the folder's bytes over the table's rows.
    pub csv_bytes_per_row: Option<f64>,
    /// The folder's bytes over the table's: `4.0` means the table takes a quarter of the CSV.
    /// Meaningful once the table holds the folder's bars, each once (after a backfill and its
    /// merges).
    pub ratio: Option<f64>,
}

/// The report for a ClickHouse store and, when there is one, the kline folder its bars came
/// from (the configuration's `legacy.daily_dir`).
pub async fn kline_storage(store: &CoolStore, daily_dir: Option<&Path>) -> Result<KlineStorageReport> {
    let table = store.storage("klines").await?;
    // A few thousand stat calls: brief enough not to need a blocking thread.
    let csv = daily_dir.map(kline_folder_size).transpose()?;
    let per_row = |bytes: u64| (table.rows > 0).then(|| bytes as f64 / table.rows as f64);
    Ok(KlineStorageReport {
        bytes_per_row: table.bytes_per_row(),
        csv_bytes_per_row: csv.and_then(|c| per_row(c.bytes)),
        ratio: csv.filter(|_| table.bytes_on_disk > 0).map(|c| c.bytes as f64 / table.bytes_on_disk as f64),
        csv,
        table,
    })
}
