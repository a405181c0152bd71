//! The bulk kline writer the migration feeds straight from the legacy parser.

use std::collections::HashSet;

use clickhouse::insert::Insert;
use tierstore_model::{Kline, Result, StockCode, StoreError, TradeDate};

use crate::klines::{KlineRow, check_bar, encode_bar};
use crate::store::{CoolStore, next_version};

/// Rows per insert when the caller does not say. Large on purpose: every insert writes one
/// part per yearly partition it touches, and bars come sorted by code, so each batch spans
/// every year; on 18.16 (2 cores, 6.25 M bars) 50k-row batches made ~750 parts for the server
/// to merge and loaded 0.63 M rows/s, 200k rows 0.97 M rows/s, 500k rows 1.08 M rows/s. The
/// writer holds the batch's keys (about 80 bytes a bar), not its bars.
pub const DEFAULT_BATCH_ROWS: usize = 500_000;

/// Streams bars into inserts of `batch_rows` rows. Each bar is encoded into the open insert as
/// it arrives and the client sends the insert's buffer whenever it fills, so
/// [`KlineWriter::write`] waits for the server when the producer is faster (back-pressure)
/// and memory holds one send buffer and the batch's keys, whatever the batch size.
///
/// Every insert has one write version, newer than the one before; a bar whose (code, date)
/// the open insert already holds ends that insert first, so a bar written again later in the
/// stream always replaces the earlier one, as `write_klines` would — and a version per insert
/// rather than per row costs nothing on disk. A batch is stored once its insert has ended:
/// after [`KlineWriter::flush`], [`KlineWriter::finish`] or a full batch. Dropping the writer
/// abandons the open batch (the server discards an insert whose body never ended).
pub struct KlineWriter<'a> {
    store: &'a CoolStore,
    open: Option<Open>,
    batch_rows: usize,
    written: u64,
}

/// The insert in progress, its version and the keys it holds.
struct Open {
    insert: Insert<KlineRow<'static>>,
    ver: u64,
    keys: HashSet<(StockCode, TradeDate)>,
}

impl std::fmt::Debug for KlineWriter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KlineWriter")
            .field("batch_rows", &self.batch_rows)
            .field("in_batch", &self.open.as_ref().map_or(0, |o| o.keys.len()))
            .field("written", &self.written)
            .finish()
    }
}

impl CoolStore {
    /// A writer sending `batch_rows` bars per insert (1 to 1,000,000; see
    /// [`DEFAULT_BATCH_ROWS`] for why large batches pay).
    pub fn kline_writer(&self, batch_rows: usize) -> Result<KlineWriter<'_>> {
        if !(1..=1_000_000).contains(&batch_rows) {
            return Err(StoreError::invalid(
                "batch_rows",
                batch_rows.to_string(),
                "must be between 1 and 1000000",
            ));
        }
        Ok(KlineWriter { store: self, open: None, batch_rows, written: 0 })
    }
}

impl KlineWriter<'_> {
    /// Adds a bar, checked first (a refused bar leaves the batch as it was); ends the insert
    /// when the batch is full. If sending fails, the open batch is lost (none of it is
    /// stored) and the next bar starts a new one.
    pub async fn write(&mut self, bar: Kline) -> Result<()> {
        check_bar(&bar)?;
        if self.open.as_ref().is_some_and(|o| o.keys.contains(&(bar.code, bar.date))) {
            self.flush().await?;
        }
        let store = self.store;
        let error = |e| crate::error::from_clickhouse(store.config(), e);
        let open = match &mut self.open {
            Some(open) => open,
            None => {
                let timeout = Some(store.config().stream_timeout());
                let insert = store
                    .in_database()
                    .insert::<KlineRow<'static>>("klines")
                    .await
                    .map_err(error)?
                    .with_timeouts(timeout, timeout);
                self.open.insert(Open { insert, ver: next_version(), keys: HashSet::new() })
            }
        };
        if let Err(e) = open.insert.write(&encode_bar(&bar, open.ver)).await {
            // The insert is aborted: its bars are lost, and a retry starts a new one.
            self.open = None;
            return Err(error(e));
        }
        open.keys.insert((bar.code, bar.date));
        if open.keys.len() >= self.batch_rows {
            self.flush().await?;
        }
        Ok(())
    }

    /// Bars stored so far: those of every insert that has ended.
    pub fn stored(&self) -> u64 {
        self.written
    }

    /// Ends the open insert, if any: its bars are stored when this returns.
    pub async fn flush(&mut self) -> Result<()> {
        if let Some(open) = self.open.take() {
            open.insert.end().await.map_err(|e| crate::error::from_clickhouse(self.store.config(), e))?;
            self.written += open.keys.len() as u64;
        }
        Ok(())
    }

    /// Ends the open insert; returns how many bars were written in all.
    pub async fn finish(mut self) -> Result<u64> {
        self.flush().await?;
        Ok(self.written)
    }
}
