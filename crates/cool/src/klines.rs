//! Daily bars: one row per (code, date), the last write winning; prices as exact scaled
//! integers ([`crate::scaled`]).
//!
//! "The last N bars" is never `ORDER BY date DESC LIMIT N` (on 18.16 that reads a granule of
//! every partition): it becomes a date window of about N trading days before the end date,
//! widened and asked again only when the window held fewer than N bars and older data may
//! exist.

use std::collections::BTreeMap;

use async_trait::async_trait;
use clickhouse::Row;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use tierstore_model::quantity::non_negative;
use tierstore_model::{
    DateRange, Kline, KlineBatch, KlineRange, KlineStore, Price, Result, StockCode, StoreError, TradeDate,
    Volume,
};

use crate::scaled::{decode, encode};
use crate::store::CoolStore;
use crate::store::next_version;

/// Most codes one `klines_of` call may ask for.
pub const MAX_CODES: usize = 100;

/// Rows per batch of a stream.
const STREAM_BATCH: usize = 10_000;

/// The first trading day of China's exchanges: no bar is older.
const FIRST_TRADING_DAY: (i32, u32, u32) = (1990, 12, 19);

#[derive(Row, serde::Serialize, serde::Deserialize)]
struct KlineRow {
    code: String,
    date: u16,
    close: i64,
    open_off: i64,
    high_off: i64,
    low_off: i64,
    pscale: u8,
    volume: u64,
    amount: i64,
    ascale: u8,
}

#[derive(Row, serde::Serialize)]
struct KlineIn<'a> {
    code: &'a str,
    date: u16,
    close: i64,
    open_off: i64,
    high_off: i64,
    low_off: i64,
    pscale: u8,
    volume: u64,
    amount: i64,
    ascale: u8,
    ver: u64,
}

const COLUMNS: &str = "code, date, close, open_off, high_off, low_off, pscale, volume, amount, ascale";

fn encode_bar(k: &Kline, ver: u64) -> KlineIn<'_> {
    let ([close, open, high, low], pscale) = encode([k.close.get(), k.open.get(), k.high.get(), k.low.get()]);
    // Offsets from close are small; raw bit patterns are kept as they are.
    let off = |v: i64| if pscale == crate::scaled::RAW { v } else { v - close };
    let ([amount], ascale) = encode([k.amount]);
    KlineIn {
        code: k.code.as_str(),
        date: k.date.days_since_epoch(),
        close,
        open_off: off(open),
        high_off: off(high),
        low_off: off(low),
        pscale,
        volume: k.volume.get(),
        amount,
        ascale,
        ver,
    }
}

fn decode_bar(r: KlineRow, table: &str) -> Result<Kline> {
    let corrupt =
        |e: StoreError| StoreError::corrupt(format!("clickhouse:{table}[{}]", r.code), None, e.to_string());
    let abs = |off: i64| if r.pscale == crate::scaled::RAW { off } else { r.close + off };
    let price = |field: &str, n: i64| Price::new(field, decode(n, r.pscale)).map_err(corrupt);
    Ok(Kline {
        code: StockCode::parse(&r.code).map_err(corrupt)?,
        date: TradeDate::from_days_since_epoch(r.date).map_err(corrupt)?,
        open: price("open", abs(r.open_off))?,
        high: price("high", abs(r.high_off))?,
        low: price("low", abs(r.low_off))?,
        close: price("close", r.close)?,
        volume: Volume::new(r.volume),
        amount: decode(r.amount, r.ascale),
    })
}

/// A window of calendar days that holds about `n` trading days ending at `until`: five
/// trading days a week plus room for China's long holidays.
fn window_start(until: TradeDate, n: u32, widen: u32) -> TradeDate {
    let days = (i64::from(n) * 7 / 5 + 20) << widen;
    let first =
        chrono::NaiveDate::from_ymd_opt(FIRST_TRADING_DAY.0, FIRST_TRADING_DAY.1, FIRST_TRADING_DAY.2);
    let start = until.naive() - chrono::Duration::days(days);
    let start = first.map_or(start, |f| start.max(f));
    TradeDate::from_naive(start).unwrap_or(until)
}

fn reaches_first_day(d: TradeDate) -> bool {
    chrono::NaiveDate::from_ymd_opt(FIRST_TRADING_DAY.0, FIRST_TRADING_DAY.1, FIRST_TRADING_DAY.2)
        .is_some_and(|f| d.naive() <= f)
}

impl CoolStore {
    fn klines_table(&self) -> String {
        format!("{}.klines", self.config().database)
    }

    /// Bars of `codes` between `start` and `end`, grouped by code in date order.
    async fn bars_between(
        &self,
        codes: &[StockCode],
        start: TradeDate,
        end: TradeDate,
    ) -> Result<BTreeMap<StockCode, Vec<Kline>>> {
        let table = self.klines_table();
        let names: Vec<&str> = codes.iter().map(StockCode::as_str).collect();
        let rows = self
            .request(
                self.server()
                    .query(&format!(
                        "SELECT {COLUMNS} FROM {table} FINAL \
                         WHERE code IN (SELECT arrayJoin(?)) AND date >= toDate(?) AND date <= toDate(?) \
                         ORDER BY code, date"
                    ))
                    .bind(names)
                    .bind(start.to_string())
                    .bind(end.to_string())
                    .fetch_all::<KlineRow>(),
            )
            .await?;
        let mut out: BTreeMap<StockCode, Vec<Kline>> = codes.iter().map(|c| (*c, Vec::new())).collect();
        for r in rows {
            let bar = decode_bar(r, &table)?;
            out.entry(bar.code).or_default().push(bar);
        }
        Ok(out)
    }

    /// The last `n` bars up to `until` (today's far future when `None`) of each code.
    async fn last_bars(
        &self,
        codes: &[StockCode],
        n: u32,
        until: Option<TradeDate>,
    ) -> Result<BTreeMap<StockCode, Vec<Kline>>> {
        let end = match until {
            Some(u) => u,
            None => match self.latest_date(codes).await? {
                Some(d) => d,
                None => return Ok(codes.iter().map(|c| (*c, Vec::new())).collect()),
            },
        };
        let mut done: BTreeMap<StockCode, Vec<Kline>> = BTreeMap::new();
        let mut pending: Vec<StockCode> = codes.to_vec();
        let mut widen = 0;
        while !pending.is_empty() {
            let start = window_start(end, n, widen);
            let found = self.bars_between(&pending, start, end).await?;
            let exhausted = reaches_first_day(start) || widen >= 16;
            pending.clear();
            for (code, mut bars) in found {
                if bars.len() >= n as usize || exhausted {
                    let keep = bars.len().saturating_sub(n as usize);
                    bars.drain(..keep);
                    done.insert(code, bars);
                } else {
                    pending.push(code);
                }
            }
            widen += 1;
        }
        Ok(done)
    }

    /// The newest date any of `codes` has a bar for.
    async fn latest_date(&self, codes: &[StockCode]) -> Result<Option<TradeDate>> {
        let table = self.klines_table();
        let names: Vec<&str> = codes.iter().map(StockCode::as_str).collect();
        // max() over the primary key: a cheap read of each part's last granules.
        let (days, rows) = self
            .request(
                self.server()
                    .query(&format!(
                        "SELECT max(date), count() FROM {table} WHERE code IN (SELECT arrayJoin(?))"
                    ))
                    .bind(names)
                    .fetch_one::<(u16, u64)>(),
            )
            .await?;
        if rows == 0 {
            return Ok(None);
        }
        TradeDate::from_days_since_epoch(days)
            .map(Some)
            .map_err(|e| StoreError::corrupt(table, None, e.to_string()))
    }
}

/// What the kline table holds for one code.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeSpan {
    /// The stock.
    pub code: StockCode,
    /// Its first bar.
    pub first: TradeDate,
    /// Its last bar.
    pub last: TradeDate,
    /// How many bars (each date once, however often it was written).
    pub bars: u64,
}

#[derive(Row, serde::Deserialize)]
struct SpanRow {
    code: String,
    first: u16,
    last: u16,
    bars: u64,
}

impl CoolStore {
    /// Every code with its first and last date and its number of bars, ordered by code.
    pub async fn kline_spans(&self) -> Result<Vec<CodeSpan>> {
        let table = self.klines_table();
        let rows = self
            .request(
                self.server()
                    .query(&format!(
                        "SELECT code, min(date) AS first, max(date) AS last, count() AS bars \
                         FROM {table} FINAL GROUP BY code ORDER BY code"
                    ))
                    .fetch_all::<SpanRow>(),
            )
            .await?;
        let corrupt = |e: StoreError| StoreError::corrupt(format!("clickhouse:{table}"), None, e.to_string());
        rows.into_iter()
            .map(|r| {
                Ok(CodeSpan {
                    code: StockCode::parse(&r.code).map_err(corrupt)?,
                    first: TradeDate::from_days_since_epoch(r.first).map_err(corrupt)?,
                    last: TradeDate::from_days_since_epoch(r.last).map_err(corrupt)?,
                    bars: r.bars,
                })
            })
            .collect()
    }
}

/// What a bar must satisfy before it is sent: the shape of its prices, a usable amount.
pub(crate) fn check_bar(k: &Kline) -> Result<()> {
    k.check_shape()?;
    non_negative("amount", k.amount)?;
    Ok(())
}

impl CoolStore {
    /// Sends checked bars in one insert with one new write version; within the insert the
    /// last bar of a key wins, as a later insert's would.
    pub(crate) async fn send_bars(&self, bars: &[Kline]) -> Result<()> {
        let mut latest: BTreeMap<(StockCode, TradeDate), &Kline> = BTreeMap::new();
        for k in bars {
            latest.insert((k.code, k.date), k);
        }
        if latest.is_empty() {
            return Ok(());
        }
        let ver = next_version();
        self.request(async {
            let mut insert = self.in_database().insert::<KlineIn<'_>>("klines").await?;
            for k in latest.values() {
                insert.write(&encode_bar(k, ver)).await?;
            }
            insert.end().await
        })
        .await
    }
}

fn check_codes(codes: &[StockCode]) -> Result<()> {
    if codes.len() > MAX_CODES {
        return Err(StoreError::invalid(
            "codes",
            format!("{} codes", codes.len()),
            format!("at most {MAX_CODES} codes per call; split the list"),
        ));
    }
    Ok(())
}

#[async_trait]
impl KlineStore for CoolStore {
    async fn write_klines(&self, batch: &[Kline]) -> Result<u64> {
        // Checked whole before anything is sent.
        for k in batch {
            check_bar(k)?;
        }
        self.send_bars(batch).await?;
        Ok(batch.len() as u64)
    }

    async fn klines(&self, code: &StockCode, range: KlineRange) -> Result<Vec<Kline>> {
        let mut all = self.klines_of(std::slice::from_ref(code), range).await?;
        Ok(all.remove(code).unwrap_or_default())
    }

    async fn klines_of(
        &self,
        codes: &[StockCode],
        range: KlineRange,
    ) -> Result<BTreeMap<StockCode, Vec<Kline>>> {
        check_codes(codes)?;
        if codes.is_empty() {
            return Ok(BTreeMap::new());
        }
        match range {
            KlineRange::Dates(r) => self.bars_between(codes, r.start, r.end).await,
            KlineRange::Last { n, until } => self.last_bars(codes, n, until).await,
        }
    }

    fn stream_klines<'a>(
        &'a self,
        codes: Option<&'a [StockCode]>,
        dates: Option<DateRange>,
    ) -> BoxStream<'a, Result<KlineBatch>> {
        let table = self.klines_table();
        let mut sql = format!("SELECT {COLUMNS} FROM {table} FINAL WHERE 1");
        if codes.is_some() {
            sql.push_str(" AND code IN (SELECT arrayJoin(?))");
        }
        if dates.is_some() {
            sql.push_str(" AND date >= toDate(?) AND date <= toDate(?)");
        }
        sql.push_str(" ORDER BY code, date");
        let mut q = self.server().query(&sql);
        if let Some(c) = codes {
            q = q.bind(c.iter().map(StockCode::as_str).collect::<Vec<_>>());
        }
        if let Some(r) = dates {
            q = q.bind(r.start.to_string()).bind(r.end.to_string());
        }
        let cursor = match q.fetch::<KlineRow>() {
            Ok(c) => c,
            Err(e) => {
                let err = crate::error::from_clickhouse(self.config(), e);
                return futures::stream::once(async move { Err(err) }).boxed();
            }
        };
        let config = self.config().clone();
        futures::stream::try_unfold((cursor, false), move |(mut cursor, done)| {
            let table = table.clone();
            let config = config.clone();
            async move {
                if done {
                    return Ok(None);
                }
                let mut batch = Vec::with_capacity(STREAM_BATCH);
                while batch.len() < STREAM_BATCH {
                    match cursor.next().await.map_err(|e| crate::error::from_clickhouse(&config, e))? {
                        Some(r) => batch.push(decode_bar(r, &table)?),
                        None => {
                            return Ok(if batch.is_empty() { None } else { Some((batch, (cursor, true))) });
                        }
                    }
                }
                Ok(Some((batch, (cursor, false))))
            }
        })
        .boxed()
    }

    async fn kline_codes(&self) -> Result<Vec<StockCode>> {
        let table = self.klines_table();
        let names = self
            .request(
                self.server()
                    .query(&format!("SELECT DISTINCT code FROM {table} ORDER BY code"))
                    .fetch_all::<String>(),
            )
            .await?;
        names
            .iter()
            .map(|c| {
                StockCode::parse(c)
                    .map_err(|e| StoreError::corrupt(format!("clickhouse:{table}"), None, e.to_string()))
            })
            .collect()
    }
}
