//! The bulk kline writer the migration feeds straight from the legacy parser.

use tierstore_model::{Kline, Result, StoreError};

use crate::klines::check_bar;
use crate::store::CoolStore;

/// Rows per insert when the caller does not say.
pub const DEFAULT_BATCH_ROWS: usize = 50_000;

/// Sends bars in inserts of `batch_rows`. [`KlineWriter::write`] sends a full batch before it
/// returns, so a fast producer waits for the server (back-pressure) and memory holds at most
/// one batch. Each batch gets a newer write version than the one before, so a bar written
/// again later in the stream replaces the earlier one, as `write_klines` would.
#[derive(Debug)]
pub struct KlineWriter<'a> {
    store: &'a CoolStore,
    batch: Vec<Kline>,
    batch_rows: usize,
    written: u64,
}

impl CoolStore {
    /// A writer sending `batch_rows` bars per insert (1 to 1,000,000; 10k–100k is the useful
    /// range).
    pub fn kline_writer(&self, batch_rows: usize) -> Result<KlineWriter<'_>> {
        if !(1..=1_000_000).contains(&batch_rows) {
            return Err(StoreError::invalid(
                "batch_rows",
                batch_rows.to_string(),
                "must be between 1 and 1000000",
            ));
        }
        Ok(KlineWriter { store: self, batch: Vec::with_capacity(batch_rows), batch_rows, written: 0 })
    }
}

impl KlineWriter<'_> {
    /// Adds a bar, checked first; sends the batch when it is full.
    pub async fn write(&mut self, bar: Kline) -> Result<()> {
        check_bar(&bar)?;
        self.batch.push(bar);
        if self.batch.len() >= self.batch_rows {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends what is buffered.
    pub async fn flush(&mut self) -> Result<()> {
        self.store.send_bars(&self.batch).await?;
        self.written += self.batch.len() as u64;
        self.batch.clear();
        Ok(())
    }

    /// Sends the rest; returns how many bars were written in all.
    pub async fn finish(mut self) -> Result<u64> {
        self.flush().await?;
        Ok(self.written)
    }
}
