//! The kline contract on a real ClickHouse (18.16 in CI), idempotence before merges, exact
//! prices of any spelling, "last N" across partitions and the batch limit.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use tierstore_cool::{CoolConfig, CoolStore};
use tierstore_model::{
    Kline, KlineRange, KlineStore, Price, SecretUrl, StockCode, StoreError, TradeDate, Volume,
};
use tierstore_testkit::ClickhouseDatabase;

async fn setup() -> (ClickhouseDatabase, CoolStore) {
    let db = ClickhouseDatabase::create().await;
    let mut config = CoolConfig::new(SecretUrl::parse("clickhouse.url", db.url()).unwrap());
    config.database = db.name().to_owned();
    let store = CoolStore::connect(config).await.unwrap();
    store.schema_up().await.unwrap();
    (db, store)
}

tierstore_contract::kline_contract!(klines, setup);

fn bar(code: &StockCode, day: u16, close: f64, open: f64, high: f64, low: f64, amount: f64) -> Kline {
    Kline {
        code: *code,
        date: TradeDate::from_days_since_epoch(day).unwrap(),
        open: Price::new("open", open).unwrap(),
        high: Price::new("high", high).unwrap(),
        low: Price::new("low", low).unwrap(),
        close: Price::new("close", close).unwrap(),
        volume: Volume::new(u64::from(day) * 10),
        amount,
    }
}

#[tokio::test]
async fn prices_of_any_spelling_come_back_bit_for_bit() {
    let (_db, store) = setup().await;
    let c = StockCode::parse("600519.SH").unwrap();
    let bars = vec![
        bar(&c, 19_000, 1688.88, 1680.0, 1699.99, 1675.5, 123_456_789.12),
        bar(&c, 19_001, 0.123_456_789_012_345, 0.12, 0.13, 0.11, 0.0),
        bar(&c, 19_002, 0.1 + 0.2, 0.3, 0.31, 0.29, 0.1 + 0.2),
        bar(&c, 19_003, 10.000_000_000_000_002, 10.0, 10.1, 9.9, 1e300),
    ];
    store.write_klines(&bars).await.unwrap();
    let got = store.klines(&c, KlineRange::last(10).unwrap()).await.unwrap();
    assert_eq!(got.len(), 4);
    for (g, w) in got.iter().zip(&bars) {
        for (a, b) in [(g.open, w.open), (g.high, w.high), (g.low, w.low), (g.close, w.close)] {
            assert_eq!(a.get().to_bits(), b.get().to_bits(), "{g:?} vs {w:?}");
        }
        assert_eq!(g.amount.to_bits(), w.amount.to_bits());
        assert_eq!(g.volume, w.volume);
    }
}

#[tokio::test]
async fn three_writes_answer_as_one_and_last_n_spans_years() {
    let (_db, store) = setup().await;
    let codes: Vec<StockCode> =
        (0..20).map(|i| StockCode::parse(&format!("{:06}.SZ", i + 1)).unwrap()).collect();
    // 20 codes × 800 weekdays (about three years, four yearly partitions).
    let mut bars = Vec::new();
    for c in &codes {
        let mut day = 17_900u16;
        for i in 0..800 {
            while (day + 4) % 7 >= 5 {
                day += 1; // 1970-01-01 was a Thursday: skip Saturdays and Sundays
            }
            let close = 10.0 + f64::from(i % 50) / 100.0;
            bars.push(bar(c, day, close, close - 0.01, close + 0.05, close - 0.05, close * 1000.0));
            day += 1;
        }
    }
    for _ in 0..3 {
        store.write_klines(&bars).await.unwrap();
    }
    let all = store.klines_of(&codes, KlineRange::last(5_000).unwrap()).await.unwrap();
    assert_eq!(all.values().map(Vec::len).sum::<usize>(), 16_000, "no duplicates before merges");
    let last = store.klines(&codes[3], KlineRange::last(300).unwrap()).await.unwrap();
    let want: Vec<Kline> = bars.iter().filter(|k| k.code == codes[3]).skip(500).copied().collect();
    assert_eq!(last, want);
    let spans = store.kline_spans().await.unwrap();
    assert_eq!(spans.len(), 20);
    let first_of = |c: &StockCode| bars.iter().find(|k| k.code == *c).unwrap().date;
    let last_of = |c: &StockCode| bars.iter().rev().find(|k| k.code == *c).unwrap().date;
    for (span, c) in spans.iter().zip(&codes) {
        assert_eq!((span.code, span.first, span.last, span.bars), (*c, first_of(c), last_of(c), 800));
    }
    let until = want[99].date;
    let before = store.klines(&codes[3], KlineRange::Last { n: 60, until: Some(until) }).await.unwrap();
    assert_eq!(before, want[40..100].to_vec());
}

#[tokio::test]
async fn more_than_100_codes_is_refused_naming_the_limit() {
    let (_db, store) = setup().await;
    let codes: Vec<StockCode> =
        (0..101).map(|i| StockCode::parse(&format!("{:06}.SZ", i + 1)).unwrap()).collect();
    let err = store.klines_of(&codes, KlineRange::last(5).unwrap()).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "codes"), "{err:?}");
    assert!(err.to_string().contains("at most 100 codes per call"), "{err}");
    assert!(store.klines_of(&codes[..100], KlineRange::last(5).unwrap()).await.is_ok());
}

#[tokio::test]
async fn the_bulk_writer_sends_batches_and_later_bars_win() {
    let (_db, store) = setup().await;
    let c = StockCode::parse("300750.SZ").unwrap();
    let mut writer = store.kline_writer(10_000).unwrap();
    for day in 0..25_000u16 {
        writer.write(bar(&c, 10_000 + day, 20.0, 19.9, 20.5, 19.5, 1.0)).await.unwrap();
    }
    // The same date again, in a later batch, with another close: it replaces the first.
    writer.write(bar(&c, 10_005, 21.0, 20.9, 21.5, 20.5, 2.0)).await.unwrap();
    assert_eq!(writer.finish().await.unwrap(), 25_001);
    let spans = store.kline_spans().await.unwrap();
    assert_eq!(spans[0].bars, 25_000);
    let day = TradeDate::from_days_since_epoch(10_005).unwrap();
    let got = store.klines(&c, KlineRange::Dates(tierstore_model::DateRange::day(day))).await.unwrap();
    assert_eq!(got[0].close.get(), 21.0);
    // The same date twice inside one open batch: the later bar still wins.
    let mut writer = store.kline_writer(100).unwrap();
    writer.write(bar(&c, 30_000, 20.0, 19.9, 20.5, 19.5, 1.0)).await.unwrap();
    writer.write(bar(&c, 30_001, 20.0, 19.9, 20.5, 19.5, 1.0)).await.unwrap();
    writer.write(bar(&c, 30_000, 22.0, 21.9, 22.5, 21.5, 3.0)).await.unwrap();
    assert_eq!(writer.finish().await.unwrap(), 3);
    let day = TradeDate::from_days_since_epoch(30_000).unwrap();
    let got = store.klines(&c, KlineRange::Dates(tierstore_model::DateRange::day(day))).await.unwrap();
    assert_eq!((got.len(), got[0].close.get(), got[0].amount), (1, 22.0, 3.0));

    // A refused bar leaves the open batch as it was: the bars before it are still sent.
    // (Days from 40,000 on: the first writer above filled 10,000 to 34,999.)
    let mut writer = store.kline_writer(100).unwrap();
    writer.write(bar(&c, 40_000, 20.0, 19.9, 20.5, 19.5, 1.0)).await.unwrap();
    let mut nan_amount = bar(&c, 40_001, 20.0, 19.9, 20.5, 19.5, 1.0);
    nan_amount.amount = f64::NAN;
    let err = writer.write(nan_amount).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "amount"), "{err:?}");
    writer.write(bar(&c, 40_002, 20.0, 19.9, 20.5, 19.5, 1.0)).await.unwrap();
    assert_eq!(writer.finish().await.unwrap(), 2);
    let window = tierstore_model::DateRange::new(
        TradeDate::from_days_since_epoch(40_000).unwrap(),
        TradeDate::from_days_since_epoch(40_002).unwrap(),
    )
    .unwrap();
    let days = |bars: Vec<Kline>| bars.iter().map(|k| k.date.days_since_epoch()).collect::<Vec<_>>();
    assert_eq!(days(store.klines(&c, KlineRange::Dates(window)).await.unwrap()), [40_000, 40_002]);
    // A writer dropped with an open batch sends nothing of it.
    let mut writer = store.kline_writer(100).unwrap();
    writer.write(bar(&c, 40_001, 20.0, 19.9, 20.5, 19.5, 1.0)).await.unwrap();
    drop(writer);
    assert_eq!(days(store.klines(&c, KlineRange::Dates(window)).await.unwrap()), [40_000, 40_002]);

    let err = store.kline_writer(0).unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "batch_rows"), "{err:?}");
    let mut bad = bar(&c, 1, 10.0, 10.0, 10.0, 10.0, 1.0);
    bad.high = Price::new("high", 9.0).unwrap();
    let mut writer = store.kline_writer(10).unwrap();
    let err = writer.write(bad).await.unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { field, .. } if field == "high"), "{err:?}");
}

/// "The last N bars" remembers where each code's bars ended, to read one window next time; bars
/// written since by another client, or removed since, still give the right answer.
#[tokio::test]
async fn last_n_is_right_after_other_writers_move_the_end() {
    let (db, reader) = setup().await;
    let writer = CoolStore::connect(reader.config().clone()).await.unwrap();
    let c = StockCode::parse("600519.SH").unwrap();
    let bars = |from: u16, to: u16| -> Vec<Kline> {
        (from..to).map(|d| bar(&c, 19_000 + d, 100.0 + f64::from(d), 100.0, 600.0, 99.0, 1.0)).collect()
    };
    writer.write_klines(&bars(0, 100)).await.unwrap();
    let last5 = reader.klines(&c, KlineRange::last(5).unwrap()).await.unwrap();
    assert_eq!(last5, bars(95, 100));
    // Another client adds 300 days: the reader's remembered end is now far behind.
    writer.write_klines(&bars(100, 400)).await.unwrap();
    let last5 = reader.klines(&c, KlineRange::last(5).unwrap()).await.unwrap();
    assert_eq!(last5, bars(395, 400), "newer bars than the remembered end");
    // The table is emptied and refilled with older bars only: the remembered end is ahead.
    db.execute(&format!("TRUNCATE TABLE {}.klines", db.name())).await;
    writer.write_klines(&bars(0, 50)).await.unwrap();
    let last5 = reader.klines(&c, KlineRange::last(5).unwrap()).await.unwrap();
    assert_eq!(last5, bars(45, 50), "the remembered end is gone");
    // A code never read starts from the newest date seen of any code: one that stopped
    // trading long before still gets its last bars, and one never traded none.
    let old = StockCode::parse("000002.SZ").unwrap();
    let early: Vec<Kline> = (0..10).map(|d| bar(&old, 18_000 + d, 10.0, 10.0, 10.5, 9.5, 1.0)).collect();
    writer.write_klines(&early).await.unwrap();
    let last3 = reader.klines(&old, KlineRange::last(3).unwrap()).await.unwrap();
    assert_eq!(last3, early[7..].to_vec());
    let none = StockCode::parse("000003.SZ").unwrap();
    assert!(reader.klines(&none, KlineRange::last(3).unwrap()).await.unwrap().is_empty());
}

/// One call with the same key twice stores the later bar, once; amounts that are not finite
/// or negative are refused with nothing written.
#[tokio::test]
async fn within_one_write_the_later_bar_of_a_key_wins_and_bad_amounts_are_refused() {
    let (_db, store) = setup().await;
    let c = StockCode::parse("600036.SH").unwrap();
    let batch = [bar(&c, 19_000, 30.0, 29.9, 30.5, 29.5, 1.0), bar(&c, 19_000, 31.0, 30.9, 31.5, 30.5, 2.0)];
    assert_eq!(store.write_klines(&batch).await.unwrap(), 2);
    let got = store.klines(&c, KlineRange::last(5).unwrap()).await.unwrap();
    assert_eq!((got.len(), got[0].close.get(), got[0].amount), (1, 31.0, 2.0));
    for amount in [f64::NAN, f64::INFINITY, -1.0] {
        let good = bar(&c, 19_001, 30.0, 29.9, 30.5, 29.5, 1.0);
        let bad = bar(&c, 19_002, 30.0, 29.9, 30.5, 29.5, amount);
        let err = store.write_klines(&[good, bad]).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::InvalidInput { field, .. } if field == "amount"),
            "{amount}: {err:?}"
        );
    }
    assert_eq!(
        store.klines(&c, KlineRange::last(5).unwrap()).await.unwrap().len(),
        1,
        "nothing of a refused call"
    );
}

/// Bars older than the exchanges (a vendor's back-filled index) are stored and "last N" still
/// reaches them, however far back they lie.
#[tokio::test]
async fn last_n_reaches_bars_of_any_age() {
    let (_db, store) = setup().await;
    let c = StockCode::parse("000001.SH").unwrap();
    let mut bars: Vec<Kline> = (100..105u16).map(|d| bar(&c, d, 1.0, 1.0, 1.1, 0.9, 10.0)).collect();
    bars.push(bar(&c, 20_000, 3.0, 3.0, 3.1, 2.9, 30.0));
    store.write_klines(&bars).await.unwrap();
    let got = store.klines(&c, KlineRange::last(60).unwrap()).await.unwrap();
    assert_eq!(got, bars);
}

/// What a query answers does not change when the server merges the copies away.
#[tokio::test]
async fn answers_are_the_same_before_and_after_merges() {
    let (db, store) = setup().await;
    let codes: Vec<StockCode> =
        (0..3).map(|i| StockCode::parse(&format!("{:06}.SZ", i + 1)).unwrap()).collect();
    let bars = |close: f64| -> Vec<Kline> {
        codes
            .iter()
            .flat_map(|c| {
                (0..50u16)
                    .map(move |d| bar(c, 19_000 + d, close, close - 0.1, close + 0.5, close - 0.5, 100.0))
            })
            .collect()
    };
    // Merges held off until the copies have been read through FINAL.
    db.execute(&format!("SYSTEM STOP MERGES {}.klines", db.name())).await;
    // Three writes of the same keys, the last with other prices: the answer is the last.
    for close in [10.0, 11.0, 12.0] {
        store.write_klines(&bars(close)).await.unwrap();
    }
    let physical = format!(
        "SELECT sum(rows) FROM system.parts WHERE active AND database = '{}' AND table = 'klines'",
        db.name()
    );
    assert_eq!(db.number(&physical).await, 450, "the three copies are there before the merge");
    let before = store.klines_of(&codes, KlineRange::last(100).unwrap()).await.unwrap();
    assert_eq!(before.values().flatten().cloned().collect::<Vec<_>>(), bars(12.0));
    let spans_before = store.kline_spans().await.unwrap();
    db.execute(&format!("SYSTEM START MERGES {}.klines", db.name())).await;
    db.execute(&format!("OPTIMIZE TABLE {}.klines FINAL", db.name())).await;
    assert_eq!(db.number(&physical).await, 150, "the copies are merged away");
    assert_eq!(store.klines_of(&codes, KlineRange::last(100).unwrap()).await.unwrap(), before);
    assert_eq!(store.kline_spans().await.unwrap(), spans_before);
    assert_eq!(before.values().map(Vec::len).sum::<usize>(), 150);
}

/// A stream reads runs of codes and keeps the newest version of each bar itself (no `FINAL`):
/// with copies of every key unmerged, whatever the run size, it yields each bar once, the
/// last written, in (code, date) order, and a run never splits a code.
#[tokio::test]
async fn a_stream_in_runs_of_codes_yields_the_newest_version_of_each_bar_once() {
    use futures::TryStreamExt;
    let (db, store) = setup().await;
    let codes: Vec<StockCode> =
        ["000001.SZ", "000001.SH", "300750.SZ", "600000.SH", "600519.SH", "688981.SH", "830799.BJ"]
            .iter()
            .map(|c| StockCode::parse(c).unwrap())
            .collect();
    db.execute(&format!("SYSTEM STOP MERGES {}.klines", db.name())).await;
    let mut newest = std::collections::BTreeMap::new();
    // Three writes: every key at 10, every key at 11, then only even days of some codes at 12.
    for (close, every) in [(10.0, true), (11.0, true), (12.0, false)] {
        let mut batch = Vec::new();
        for (i, c) in codes.iter().enumerate() {
            for d in 0..30u16 {
                if every || (i % 2 == 1 && d % 2 == 0) {
                    let day = if d < 15 { 19_700 + d } else { 20_100 + d }; // two yearly partitions
                    let k = bar(c, day, close, close - 0.1, close + 0.5, close - 0.5, 1000.0 * close);
                    newest.insert((c.as_str().to_owned(), day), k);
                    batch.push(k);
                }
            }
        }
        store.write_klines(&batch).await.unwrap();
    }
    let physical = format!(
        "SELECT sum(rows) FROM system.parts WHERE active AND database = '{}' AND table = 'klines'",
        db.name()
    );
    assert_eq!(db.number(&physical).await, 7 * 30 * 2 + 3 * 15, "the copies are unmerged");
    let want: Vec<Kline> = newest.values().copied().collect();
    assert_eq!(want.iter().filter(|k| k.close.get() == 12.0).count(), 45);
    // Stored rows per code, in code order: 75 (000001.SH), 60, 60, 75, 60, 75, 60; a run ends
    // at the code that brings it to the size asked.
    for (chunk_rows, batches) in [(1u64, 7usize), (70, 5), (200, 2), (100_000, 1)] {
        let got: Vec<Vec<Kline>> =
            store.stream_klines_in_chunks(None, None, chunk_rows).try_collect().await.unwrap();
        assert_eq!(got.len(), batches, "runs of about {chunk_rows} rows");
        if chunk_rows == 1 {
            for batch in &got {
                assert!(batch.iter().all(|k| k.code == batch[0].code) && batch.len() == 30);
            }
        }
        let got: Vec<Kline> = got.into_iter().flatten().collect();
        assert_eq!(got, want, "runs of about {chunk_rows} rows");
    }
    // Narrowed to some codes (given out of order) and a date range.
    let some = [codes[4], codes[1]];
    let range = tierstore_model::DateRange::new(
        TradeDate::from_days_since_epoch(19_710).unwrap(),
        TradeDate::from_days_since_epoch(20_120).unwrap(),
    )
    .unwrap();
    let got: Vec<Kline> = store
        .stream_klines_in_chunks(Some(&some), Some(range), 1)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    let narrowed: Vec<Kline> = want
        .iter()
        .filter(|k| some.contains(&k.code) && k.date >= range.start && k.date <= range.end)
        .copied()
        .collect();
    assert_eq!(narrowed.len(), 2 * (5 + 6), "days 10..15 and 15..21 of two codes");
    assert_eq!(got, narrowed);
    db.execute(&format!("SYSTEM START MERGES {}.klines", db.name())).await;
}

/// A stored row that cannot be decoded fails a stream only if it is the newest version of its
/// bar, as through `FINAL`: an older version is never decoded into an answer.
#[tokio::test]
async fn an_unreadable_old_version_does_not_fail_a_stream_and_an_unreadable_newest_does() {
    use futures::TryStreamExt;
    let (db, store) = setup().await;
    let c = StockCode::parse("600000.SH").unwrap();
    let raw = |ver: u64| {
        // vscale 7: no such volume scale.
        format!(
            "INSERT INTO {}.klines (code, date, close, open_zz, open_hi, high_off, low_off, pscale, volume, \
             volume_hi, vscale, amount_off, ascale, ver) VALUES ('600000.SH', toDate('2024-10-09'), 1000, 0, 0, 0, 0, \
             2, 1, 0, 7, 0, 2, {ver})",
            db.name()
        )
    };
    db.execute(&raw(1)).await;
    let good = bar(&c, 20_005, 10.0, 9.9, 10.5, 9.5, 1000.0); // 2024-10-09
    store.write_klines(&[good]).await.unwrap();
    let got: Vec<Vec<Kline>> = store.stream_klines(None, None).try_collect().await.unwrap();
    assert_eq!(got, vec![vec![good]], "the newer, readable version");
    db.execute(&raw(u64::MAX)).await;
    let err = store.stream_klines(None, None).try_collect::<Vec<_>>().await.unwrap_err();
    assert!(err.to_string().contains("vscale 7"), "{err}");
    let err = store.klines(&c, KlineRange::last(5).unwrap()).await.unwrap_err();
    assert!(err.to_string().contains("vscale 7"), "through FINAL too: {err}");
}
