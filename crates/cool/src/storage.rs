//! What a table takes on disk, from the server's own accounting (`system.parts`, active parts
//! only, and `system.columns`): the figures behind the compression report.

use clickhouse::Row;
use tierstore_model::Result;

use crate::store::CoolStore;

/// One table's size. Rows are physical rows: a row written twice counts twice until a
/// background merge (or `OPTIMIZE … FINAL`) replaces it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TableStorage {
    /// `database.table`.
    pub table: String,
    /// Rows in active parts.
    pub rows: u64,
    /// Active parts.
    pub parts: u64,
    /// Bytes the active parts take on disk (data, marks, index, checksums).
    pub bytes_on_disk: u64,
    /// Column data before compression.
    pub uncompressed_bytes: u64,
    /// Per column, in the table's column order.
    pub columns: Vec<ColumnStorage>,
}

/// One column's share.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Row, serde::Deserialize)]
pub struct ColumnStorage {
    /// The column.
    pub name: String,
    /// Compressed bytes.
    pub compressed_bytes: u64,
    /// Bytes before compression.
    pub uncompressed_bytes: u64,
}

impl TableStorage {
    /// Bytes on disk per row, when there are rows.
    pub fn bytes_per_row(&self) -> Option<f64> {
        (self.rows > 0).then(|| self.bytes_on_disk as f64 / self.rows as f64)
    }
}

#[derive(Row, serde::Deserialize)]
struct PartsRow {
    rows: u64,
    parts: u64,
    bytes_on_disk: u64,
    uncompressed: u64,
}

impl CoolStore {
    /// The size of one of our tables (`klines`, `trades`, `assets`); zeros for a table that
    /// does not exist or holds nothing. In cluster mode, the sum of its local tables on every
    /// shard.
    pub async fn storage(&self, table: &str) -> Result<TableStorage> {
        let db = &self.config().database;
        let mut total = TableStorage {
            table: format!("{db}.{table}"),
            rows: 0,
            parts: 0,
            bytes_on_disk: 0,
            uncompressed_bytes: 0,
            columns: Vec::new(),
        };
        let local = format!("{table}_local");
        let places: Vec<(&clickhouse::Client, &str)> = if self.config().cluster.is_some() {
            self.shards().iter().map(|c| (c, local.as_str())).collect()
        } else {
            vec![(self.server(), table)]
        };
        for (client, name) in places {
            let parts = self
                .request(
                    client
                        .query(
                            "SELECT sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS bytes_on_disk, \
                             sum(data_uncompressed_bytes) AS uncompressed \
                             FROM system.parts WHERE database = ? AND table = ? AND active",
                        )
                        .bind(db.as_str())
                        .bind(name)
                        .fetch_one::<PartsRow>(),
                )
                .await?;
            total.rows += parts.rows;
            total.parts += parts.parts;
            total.bytes_on_disk += parts.bytes_on_disk;
            total.uncompressed_bytes += parts.uncompressed;
            let columns = self
                .request(
                    client
                        .query(
                            "SELECT name, data_compressed_bytes AS compressed_bytes, \
                             data_uncompressed_bytes AS uncompressed_bytes \
                             FROM system.columns WHERE database = ? AND table = ?",
                        )
                        .bind(db.as_str())
                        .bind(name)
                        .fetch_all::<ColumnStorage>(),
                )
                .await?;
            for c in columns {
                match total.columns.iter_mut().find(|t| t.name == c.name) {
                    Some(t) => {
                        t.compressed_bytes += c.compressed_bytes;
                        t.uncompressed_bytes += c.uncompressed_bytes;
                    }
                    None => total.columns.push(c),
                }
            }
        }
        Ok(total)
    }
}
