//! The kline-store contract.

use futures::TryStreamExt;
use tierstore_model::{DateRange, Kline, KlineRange, KlineStore, StockCode, StoreError, Volume};

use crate::sample::{code, date, price};

fn bar(c: &str, d: &str, close: f64, volume: u64) -> Kline {
    Kline {
        code: code(c),
        date: date(d),
        open: price(close - 0.1),
        high: price(close + 0.2),
        low: price(close - 0.3),
        close: price(close),
        volume: Volume::new(volume),
        amount: close * volume as f64,
    }
}

/// Two stocks, written out of order across a month boundary.
fn batch() -> Vec<Kline> {
    vec![
        bar("600000.SH", "2024-10-09", 8.12, 2000),
        bar("000001.SZ", "2024-10-10", 10.5, 1000),
        bar("000001.SZ", "2024-09-30", 10.1, 1100),
        bar("000001.SZ", "2024-10-09", 10.3, 1200),
        bar("600000.SH", "2024-10-10", 8.25, 2100),
        bar("000001.SZ", "2024-10-11", 10.44, 900),
    ]
}

fn sorted(mut v: Vec<Kline>, c: &str) -> Vec<Kline> {
    v.retain(|k| k.code == code(c));
    v.sort_by_key(|k| k.date);
    v
}

/// Bars read back per stock in date order, by range and as "last n".
pub async fn write_and_read(store: &dyn KlineStore) {
    assert_eq!(store.write_klines(&batch()).await.expect("write"), 6);
    let x = code("000001.SZ");
    let all = sorted(batch(), "000001.SZ");
    let range = DateRange::new(date("2024-01-01"), date("2024-12-31")).expect("range");
    assert_eq!(store.klines(&x, KlineRange::Dates(range)).await.expect("range"), all);
    let oct = DateRange::new(date("2024-10-01"), date("2024-10-10")).expect("range");
    assert_eq!(store.klines(&x, KlineRange::Dates(oct)).await.expect("oct"), all[1..3].to_vec());
    assert_eq!(store.klines(&x, KlineRange::last(2).expect("n")).await.expect("last 2"), all[2..].to_vec());
    let until = KlineRange::Last { n: 2, until: Some(date("2024-10-10")) };
    assert_eq!(store.klines(&x, until).await.expect("last 2 until"), all[1..3].to_vec());
    assert_eq!(store.klines(&x, KlineRange::last(100).expect("n")).await.expect("more than there is"), all);
}

/// Writing the same batch twice leaves the data as after once; a bar for an existing date
/// replaces it.
pub async fn writes_are_idempotent_upserts(store: &dyn KlineStore) {
    store.write_klines(&batch()).await.expect("write");
    store.write_klines(&batch()).await.expect("write again");
    let x = code("000001.SZ");
    let last = KlineRange::last(100).expect("n");
    assert_eq!(store.klines(&x, last).await.expect("read").len(), 4, "no duplicates after a rewrite");
    let fix = bar("000001.SZ", "2024-10-10", 10.6, 1500);
    store.write_klines(&[fix]).await.expect("replace");
    let got = store.klines(&x, last).await.expect("read");
    assert_eq!(got.len(), 4);
    assert_eq!(got[2], fix);
}

/// Many stocks in one call; a stock without bars maps to an empty list.
pub async fn batch_of_codes(store: &dyn KlineStore) {
    store.write_klines(&batch()).await.expect("write");
    let codes = [code("600000.SH"), code("000001.SZ"), code("830799.BJ")];
    let got = store.klines_of(&codes, KlineRange::last(60).expect("n")).await.expect("batch");
    assert_eq!(got.len(), 3);
    assert_eq!(got[&codes[0]], sorted(batch(), "600000.SH"));
    assert_eq!(got[&codes[1]], sorted(batch(), "000001.SZ"));
    assert!(got[&codes[2]].is_empty());
    let mut listed = store.kline_codes().await.expect("codes");
    listed.sort();
    assert_eq!(listed, vec![code("000001.SZ"), code("600000.SH")]);
}

/// The stream yields every bar once, ordered by code then date, optionally narrowed.
pub async fn stream_everything_in_order(store: &dyn KlineStore) {
    store.write_klines(&batch()).await.expect("write");
    let mut stream = store.stream_klines(None, None);
    let mut rows: Vec<Kline> = Vec::new();
    while let Some(b) = stream.try_next().await.expect("stream") {
        rows.extend(b);
    }
    // A merge peeks at both sides, so it may ask again after the end: still the end.
    assert!(stream.try_next().await.expect("asked again after the end").is_none());
    drop(stream);
    let mut want = sorted(batch(), "000001.SZ");
    want.extend(sorted(batch(), "600000.SH"));
    assert_eq!(rows, want);

    let only: [StockCode; 1] = [code("600000.SH")];
    let oct10 = DateRange::day(date("2024-10-10"));
    let batches: Vec<Vec<Kline>> =
        store.stream_klines(Some(&only), Some(oct10)).try_collect().await.expect("narrow stream");
    let rows: Vec<Kline> = batches.into_iter().flatten().collect();
    assert_eq!(rows, vec![bar("600000.SH", "2024-10-10", 8.25, 2100)]);
}

/// A batch with one malformed bar is refused whole, naming the field; nothing is written.
pub async fn invalid_bar_writes_nothing(store: &dyn KlineStore) {
    let mut b = batch();
    b[3].high = price(1.0); // below open, low and close
    let err = store.write_klines(&b).await.expect_err("bad bar");
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "high"), "{err:?}");
    assert!(store.kline_codes().await.expect("codes").is_empty(), "nothing was written");
}

/// Invoked as `kline_contract!(module_name, setup_fn)`: a module with one `#[tokio::test]` per kline check; `$setup` returns `(guard, store)`.
#[macro_export]
macro_rules! kline_contract {
    ($module:ident, $setup:path) => {
        mod $module {
            use super::*;

            macro_rules! check {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let (_guard, store) = $setup().await;
                        $crate::klines::$name(&store).await;
                    }
                };
            }

            check!(write_and_read);
            check!(writes_are_idempotent_upserts);
            check!(batch_of_codes);
            check!(stream_everything_in_order);
            check!(invalid_bar_writes_nothing);
        }
    };
}
