//! The bulk kline writer the migration feeds straight from the legacy parser.

use std::collections::HashSet;

use clickhouse::insert::Insert;
use tierstore_model::{Kline, Result, StockCode, StoreError, TradeDate};

use crate::klines::{KlineRow, check_bar, encode_bar};
use crate::store::{CoolStore, next_version};

/// Rows per insert when the caller does not say. Large on purpose: every insert writes one
/// part per yearly partition it touches, and bars come sorted by code, so each batch spans
/// every year; on 18.16 (2 cores, 6.25 M bars) 50k-row batches made ~750 parts for the server
/// to merge and loaded 0.63 M rows/s, 200k rows 0.97 M rows/s, 500k rows 1.08 M rows/s; in the
/// migrate bench, parsing beside it, 500k rows gave 1.00–1.03 M rows/s and 1M rows 1.04 M on
/// the same (busy) machine, so the largest batch the writer takes is the default. The writer
/// holds the batch's keys (16 bytes a bar while they come in key order, 16 MB), not its bars.
pub const DEFAULT_BATCH_ROWS: usize = 1_000_000;

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
    keys: BatchKeys,
}

type Key = (StockCode, TradeDate);

/// The keys of the open batch. Bars usually come in key order (a migration reads one file per
/// code, each in date order): while they do, the keys are a sorted list, where a new key is
/// told apart by one comparison with the last and a repeated one is found by binary search,
/// with no hashing. The first key out of order turns the list into a set.
enum BatchKeys {
    Sorted(Vec<Key>),
    Unsorted(HashSet<Key>),
}

impl BatchKeys {
    fn contains(&self, key: &Key) -> bool {
        match self {
            BatchKeys::Sorted(keys) => match keys.last() {
                Some(last) if key > last => false,
                Some(_) => keys.binary_search(key).is_ok(),
                None => false,
            },
            BatchKeys::Unsorted(keys) => keys.contains(key),
        }
    }

    /// Adds a key the batch does not hold.
    fn add(&mut self, key: Key) {
        match self {
            BatchKeys::Sorted(keys) => {
                if keys.last().is_none_or(|last| key > *last) {
                    keys.push(key);
                } else {
                    let mut set: HashSet<Key> = keys.drain(..).collect();
                    set.insert(key);
                    *self = BatchKeys::Unsorted(set);
                }
            }
            BatchKeys::Unsorted(keys) => {
                keys.insert(key);
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            BatchKeys::Sorted(keys) => keys.len(),
            BatchKeys::Unsorted(keys) => keys.len(),
        }
    }
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
                self.open.insert(Open { insert, ver: next_version(), keys: BatchKeys::Sorted(Vec::new()) })
            }
        };
        if let Err(e) = open.insert.write(&encode_bar(&bar, open.ver)).await {
            // The insert is aborted: its bars are lost, and a retry starts a new one.
            self.open = None;
            return Err(error(e));
        }
        open.keys.add((bar.code, bar.date));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: &str, day: u16) -> Key {
        (StockCode::parse(code).unwrap(), TradeDate::from_days_since_epoch(day).unwrap())
    }

    #[test]
    fn keys_in_order_stay_a_list_and_a_repeat_is_found() {
        let mut keys = BatchKeys::Sorted(Vec::new());
        for k in [key("000001.SZ", 10), key("000001.SZ", 11), key("600000.SH", 3)] {
            assert!(!keys.contains(&k));
            keys.add(k);
        }
        assert!(matches!(&keys, BatchKeys::Sorted(v) if v.len() == 3));
        assert!(keys.contains(&key("000001.SZ", 11)), "an earlier key, by binary search");
        assert!(keys.contains(&key("600000.SH", 3)), "the last key");
        assert!(!keys.contains(&key("000001.SZ", 12)), "before the last, not held");
        assert!(!keys.contains(&key("600000.SH", 4)), "after the last");
    }

    #[test]
    fn a_key_out_of_order_turns_the_list_into_a_set_that_keeps_every_key() {
        let mut keys = BatchKeys::Sorted(Vec::new());
        keys.add(key("600000.SH", 5));
        keys.add(key("600000.SH", 9));
        keys.add(key("000001.SZ", 1)); // before the last: out of order
        assert!(matches!(&keys, BatchKeys::Unsorted(s) if s.len() == 3));
        for (k, held) in [
            (key("600000.SH", 5), true),
            (key("600000.SH", 9), true),
            (key("000001.SZ", 1), true),
            (key("600000.SH", 10), false),
            (key("000001.SZ", 2), false),
        ] {
            assert_eq!(keys.contains(&k), held, "{k:?}");
        }
        keys.add(key("600000.SH", 10));
        assert_eq!(keys.len(), 4);
    }
}
