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
use futures::stream::BoxStream;
use tierstore_model::quantity::non_negative;
use tierstore_model::{
    DateRange, Kline, KlineBatch, KlineRange, KlineStore, Price, Result, StockCode, StoreError, TradeDate,
    Volume,
};

use std::time::Duration;

use tierstore_model::deadline::within;
use tierstore_model::task_stream::{TaskFailure, task_stream};

use crate::config::CoolConfig;
use crate::scaled::{decode, encode};
use crate::store::{CoolStore, next_version};

/// Most codes one `klines_of` call may ask for.
pub const MAX_CODES: usize = 100;

/// The oldest day a ClickHouse `Date` holds: no stored bar is older, so a widening search
/// stops here. (China's exchanges opened on 1990-12-19, but a bar dated earlier, say an
/// index back-filled by a data vendor, is stored and must be found too.)
const OLDEST_DAY: (i32, u32, u32) = (1970, 1, 1);

/// A stored bar as the server sends and takes it (RowBinary): the code borrowed from the
/// response buffer, so reading a bar allocates nothing.
#[derive(Row, serde::Serialize, serde::Deserialize)]
pub(crate) struct KlineRow<'a> {
    code: &'a str,
    date: u16,
    close: i64,
    open_zz: u32,
    open_hi: u32,
    high_off: i64,
    low_off: i64,
    pscale: u8,
    volume: u32,
    volume_hi: u32,
    vscale: u8,
    amount_off: i64,
    ascale: u8,
    ver: u64,
}

const COLUMNS: &str = "code, date, close, open_zz, open_hi, high_off, low_off, pscale, volume, volume_hi, vscale, \
                       amount_off, ascale, ver";

/// A-share volumes are nearly always whole board lots of 100 shares: stored in lots they are
/// two decimal digits shorter.
const LOT: u64 = 100;

/// What the amount is stored as an offset from: volume × (open + high + low + close) / 4, in
/// the amount's scale — turnover is volume times the average price paid, which the bar's
/// four prices bracket, so the offset is a small number. `price_sum` is the four scaled
/// prices added. Computed from stored columns only, so decoding recomputes it exactly; 0 (no
/// prediction) when a scale is raw bits or the product does not fit.
fn predicted_amount(volume: u64, price_sum: i128, pscale: u8, ascale: u8) -> i64 {
    use crate::scaled::RAW;
    if pscale == RAW || ascale == RAW {
        return 0;
    }
    let power = |n: u8| 10i128.checked_pow(u32::from(n));
    let (up, down) = if ascale >= pscale { (ascale - pscale, 0) } else { (0, pscale - ascale) };
    let numerator = power(up).and_then(|p| i128::from(volume).checked_mul(price_sum)?.checked_mul(p));
    let denominator = power(down).and_then(|p| p.checked_mul(4));
    let predicted = match (numerator, denominator) {
        // Round half away from zero, in integers.
        (Some(n), Some(d)) => (n + d / 2 * n.signum()) / d,
        _ => return 0,
    };
    i64::try_from(predicted).unwrap_or(0)
}

/// A 64-bit value as two 32-bit columns: the high half is almost always zero and costs next
/// to nothing, and the low half compresses better than the eight bytes would (what T64 does
/// on a modern server). Signed values go through zigzag first (small magnitudes, either sign,
/// become small numbers).
fn halves(v: u64) -> (u32, u32) {
    ((v & 0xFFFF_FFFF) as u32, (v >> 32) as u32)
}

fn whole(lo: u32, hi: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

pub(crate) fn encode_bar(k: &Kline, ver: u64) -> KlineRow<'_> {
    let ([close, open, high, low], pscale) = encode([k.close.get(), k.open.get(), k.high.get(), k.low.get()]);
    // Offsets from close are small; raw bit patterns are kept as they are.
    let off = |v: i64| if pscale == crate::scaled::RAW { v } else { v.wrapping_sub(close) };
    let ([amount], ascale) = encode([k.amount]);
    let shares = k.volume.get();
    let (volume, vscale) = if shares.is_multiple_of(LOT) { (shares / LOT, 2) } else { (shares, 0) };
    let (open_zz, open_hi) = halves(zigzag(off(open)));
    let (volume, volume_hi) = halves(volume);
    let price_sum = i128::from(close) + i128::from(open) + i128::from(high) + i128::from(low);
    KlineRow {
        code: k.code.as_str(),
        date: k.date.days_since_epoch(),
        close,
        open_zz,
        open_hi,
        high_off: off(high),
        low_off: off(low),
        pscale,
        volume,
        volume_hi,
        vscale,
        amount_off: amount.wrapping_sub(predicted_amount(shares, price_sum, pscale, ascale)),
        ascale,
        ver,
    }
}

/// Decodes the bars of one response. Rows come in runs of one code, so a code is parsed once
/// per run.
struct BarDecoder<'t> {
    table: &'t str,
    last: Option<StockCode>,
}

impl<'t> BarDecoder<'t> {
    fn new(table: &'t str) -> Self {
        BarDecoder { table, last: None }
    }

    fn code(&mut self, r: &KlineRow<'_>) -> Result<StockCode> {
        match self.last {
            Some(c) if c.as_str() == r.code => Ok(c),
            _ => {
                let c = StockCode::parse(r.code).map_err(|e| corrupt_row(self.table, r, e))?;
                self.last = Some(c);
                Ok(c)
            }
        }
    }
}

fn corrupt_row(table: &str, r: &KlineRow<'_>, e: StoreError) -> StoreError {
    StoreError::corrupt(format!("clickhouse:{table}[{}]", r.code), None, e.to_string())
}

fn decode_bar(r: &KlineRow<'_>, code: StockCode, table: &str) -> Result<Kline> {
    let corrupt = |e: StoreError| corrupt_row(table, r, e);
    let abs = |off: i64| if r.pscale == crate::scaled::RAW { off } else { r.close.wrapping_add(off) };
    let price = |field: &str, n: i64| Price::new(field, decode(n, r.pscale)).map_err(corrupt);
    let volume = whole(r.volume, r.volume_hi);
    let shares = match r.vscale {
        0 => Some(volume),
        2 => volume.checked_mul(LOT),
        _ => None,
    }
    .ok_or_else(|| {
        corrupt(StoreError::invalid("volume", volume.to_string(), format!("vscale {}", r.vscale)))
    })?;
    let [open, high, low] = [unzigzag(whole(r.open_zz, r.open_hi)), r.high_off, r.low_off].map(abs);
    let price_sum = i128::from(r.close) + i128::from(open) + i128::from(high) + i128::from(low);
    let amount = r.amount_off.wrapping_add(predicted_amount(shares, price_sum, r.pscale, r.ascale));
    Ok(Kline {
        code,
        date: TradeDate::from_days_since_epoch(r.date).map_err(corrupt)?,
        open: price("open", open)?,
        high: price("high", high)?,
        low: price("low", low)?,
        close: price("close", r.close)?,
        volume: Volume::new(shares),
        amount: decode(amount, r.ascale),
    })
}

/// Which dates a read covers.
#[derive(Clone, Copy)]
enum Span {
    /// From the first date to the second, inclusive.
    Dates(TradeDate, TradeDate),
    /// This many calendar days up to the newest bar of the codes read.
    BeforeLatest(u32),
    /// From this date on, however new.
    From(TradeDate),
}

/// Calendar days that hold about `n` trading days: five trading days a week plus room for
/// China's long holidays; doubled `widen` times.
fn window_days(n: u32, widen: u32) -> u32 {
    (n.saturating_mul(7) / 5 + 20).saturating_mul(1 << widen.min(16))
}

/// The first day of a window of [`window_days`] ending at `until`.
fn window_start(until: TradeDate, n: u32, widen: u32) -> TradeDate {
    let days = i64::from(window_days(n, widen));
    let first = chrono::NaiveDate::from_ymd_opt(OLDEST_DAY.0, OLDEST_DAY.1, OLDEST_DAY.2);
    let start = until.naive() - chrono::Duration::days(days);
    let start = first.map_or(start, |f| start.max(f));
    TradeDate::from_naive(start).unwrap_or(until)
}

fn reaches_first_day(d: TradeDate) -> bool {
    chrono::NaiveDate::from_ymd_opt(OLDEST_DAY.0, OLDEST_DAY.1, OLDEST_DAY.2).is_some_and(|f| d.naive() <= f)
}

impl CoolStore {
    fn klines_table(&self) -> String {
        format!("{}.klines", self.config().database)
    }

    /// Bars of `codes` in `span`, grouped by code in date order.
    async fn bars_between(&self, codes: &[StockCode], span: Span) -> Result<BTreeMap<StockCode, Vec<Kline>>> {
        let table = self.klines_table();
        let names: Vec<&str> = codes.iter().map(StockCode::as_str).collect();
        let query = match span {
            Span::Dates(start, end) => self
                .server()
                .query(&format!(
                    "SELECT {COLUMNS} FROM {table} FINAL \
                     WHERE code IN (SELECT arrayJoin(?)) AND date >= toDate(?) AND date <= toDate(?) \
                     ORDER BY code, date"
                ))
                .bind(names)
                .bind(start.to_string())
                .bind(end.to_string()),
            Span::From(start) => self
                .server()
                .query(&format!(
                    "SELECT {COLUMNS} FROM {table} FINAL \
                     WHERE code IN (SELECT arrayJoin(?)) AND date >= toDate(?) ORDER BY code, date"
                ))
                .bind(names)
                .bind(start.to_string()),
            // The server replaces the scalar subqueries by their values before it picks the
            // granules to read, so this is one round trip with the primary key still in use.
            Span::BeforeLatest(days) => {
                let latest = format!("(SELECT max(date) FROM {table} WHERE code IN (SELECT arrayJoin(?)))");
                self.server()
                    .query(&format!(
                        "SELECT {COLUMNS} FROM {table} FINAL \
                         WHERE code IN (SELECT arrayJoin(?)) AND date <= {latest} AND date >= {latest} - ? \
                         ORDER BY code, date"
                    ))
                    .bind(names.clone())
                    .bind(names.clone())
                    .bind(names)
                    .bind(days)
            }
        };
        let limit = self.config().timeout();
        let rows =
            within(&self.config().endpoint(), limit, fetch_bars(self.config(), query, &table, limit)).await?;
        let mut out: BTreeMap<StockCode, Vec<Kline>> = codes.iter().map(|c| (*c, Vec::new())).collect();
        for row in rows {
            let bar = row.bar.map_err(|e| *e)?;
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
        // Without an end date, the first window starts a window's length before the newest
        // bar this store has seen (for these codes, else for any) and is open-ended, so bars
        // written since (by anyone) come back too and the window is right however stale the
        // hint; the first time, the server finds the newest bar itself, in the same query.
        // The newest bar found is then the end of any wider window.
        let (mut found, end, mut start) = match until {
            Some(end) => {
                let start = window_start(end, n, 0);
                (self.bars_between(codes, Span::Dates(start, end)).await?, end, start)
            }
            None => {
                let hint = self.latest_hint(codes);
                let mut found = match hint {
                    Some(hint) => self.bars_between(codes, Span::From(window_start(hint, n, 0))).await?,
                    None => BTreeMap::new(),
                };
                let mut start = hint.map(|h| window_start(h, n, 0));
                if found.values().all(Vec::is_empty) {
                    // No hint yet, or nothing since it (the bars it saw are gone): ask the
                    // server for the newest bar, in the same query.
                    found = self.bars_between(codes, Span::BeforeLatest(window_days(n, 0))).await?;
                    start = None;
                }
                for (code, bars) in &found {
                    if let Some(last) = bars.last() {
                        self.saw_latest(*code, last.date);
                    }
                }
                match found.values().flatten().map(|k| k.date).max() {
                    Some(end) => {
                        let start = start.unwrap_or_else(|| window_start(end, n, 0));
                        (found, end, start)
                    }
                    None => return Ok(found),
                }
            }
        };
        let mut done: BTreeMap<StockCode, Vec<Kline>> = BTreeMap::new();
        let mut pending: Vec<StockCode> = Vec::new();
        let mut widen = 0;
        loop {
            // `start` is where the last query began: only a window reaching the first trading
            // day, or the widest one, is the whole history.
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
            if pending.is_empty() {
                return Ok(done);
            }
            // The next window must begin before the last one did.
            while widen < 16 && window_start(end, n, widen) >= start {
                widen += 1;
            }
            start = start.min(window_start(end, n, widen));
            found = self.bars_between(&pending, Span::Dates(start, end)).await?;
        }
    }
}

/// A stored row as read, before the newest version of its key is chosen: its key, its write
/// version, and the bar or why it cannot be decoded — an error only if this version is kept
/// (`FINAL` would not show an older one either).
struct Fetched {
    code: StockCode,
    date: u16,
    ver: u64,
    bar: std::result::Result<Kline, Box<StoreError>>,
}

/// Every row a query returns, each wait for the server bounded by `wait`. A code that cannot
/// be read is an error at once: the row's key is unknown.
async fn fetch_bars(
    config: &CoolConfig,
    query: clickhouse::query::Query,
    table: &str,
    wait: Duration,
) -> Result<Vec<Fetched>> {
    let error = |e| crate::error::from_clickhouse(config, e);
    let mut cursor = query.fetch::<KlineRow<'_>>().map_err(error)?;
    let mut decoder = BarDecoder::new(table);
    let mut out = Vec::new();
    loop {
        let next = within(&config.endpoint(), wait, async { cursor.next().await.map_err(error) }).await?;
        let Some(r) = next else { return Ok(out) };
        let code = decoder.code(&r)?;
        let bar = decode_bar(&r, code, table).map_err(Box::new);
        out.push(Fetched { code, date: r.date, ver: r.ver, bar });
    }
}

/// Rows per query of a kline stream (every stored version counts). A stream holds up to four
/// such runs: the one the caller has, two waiting for it, one being read (~130 bytes a row
/// while read, ~70 a bar after).
pub const STREAM_CHUNK_ROWS: u64 = 131_072;

/// The conditions of a kline stream, as SQL and the values it binds.
struct StreamFilter {
    codes: Option<Vec<String>>,
    dates: Option<DateRange>,
}

impl StreamFilter {
    fn sql(&self) -> String {
        let mut sql = String::new();
        if self.codes.is_some() {
            sql.push_str(" AND code IN (SELECT arrayJoin(?))");
        }
        if self.dates.is_some() {
            sql.push_str(" AND date >= toDate(?) AND date <= toDate(?)");
        }
        sql
    }

    fn bind(&self, mut q: clickhouse::query::Query) -> clickhouse::query::Query {
        if let Some(c) = &self.codes {
            q = q.bind(c.clone());
        }
        if let Some(r) = self.dates {
            q = q.bind(r.start.to_string()).bind(r.end.to_string());
        }
        q
    }
}

#[derive(Row, serde::Deserialize)]
struct CodeRows {
    code: String,
    bars: u64,
}

/// Consecutive codes holding about `chunk_rows` rows together (a code is never split, so a
/// chunk holds every version of its keys): the first and last code of each.
fn chunks_of(codes: &[CodeRows], chunk_rows: u64) -> Vec<(&str, &str)> {
    let mut chunks = Vec::new();
    let mut first: Option<&str> = None;
    let mut rows = 0u64;
    for c in codes {
        let start = *first.get_or_insert(c.code.as_str());
        rows += c.bars;
        if rows >= chunk_rows {
            chunks.push((start, c.code.as_str()));
            first = None;
            rows = 0;
        }
    }
    if let (Some(start), Some(last)) = (first, codes.last()) {
        chunks.push((start, last.code.as_str()));
    }
    chunks
}

impl CoolStore {
    /// [`KlineStore::stream_klines`] reading about `chunk_rows` rows per query (at least 1).
    ///
    /// A stream does not ask the server for `FINAL … ORDER BY` over the whole table: on 18.16
    /// that builds the entire sorted answer before its first byte is sent (6.25 M bars: 4.9 s of
    /// server time, then the client's decoding after it). It first lists the codes with their
    /// row counts, then reads runs of consecutive codes by primary-key range, every stored
    /// version, and keeps the newest version of each (code, date) itself — what `FINAL` does,
    /// and every version of a key lies in the code's run. (Versions are unique per insert and
    /// grow with the clock across processes; of two rows with one version, either may be
    /// kept.) A task of its own reads the next two runs while the caller works on this one, so
    /// the server's work, the decoding and the caller's overlap; if that task fails, the
    /// stream ends with an error, never early. Each run is read as the table is when its
    /// query runs: a code first written after the listing is part of the stream only if it
    /// falls inside a run's range.
    pub fn stream_klines_in_chunks<'a>(
        &'a self,
        codes: Option<&'a [StockCode]>,
        dates: Option<DateRange>,
        chunk_rows: u64,
    ) -> BoxStream<'a, Result<KlineBatch>> {
        let filter =
            StreamFilter { codes: codes.map(|c| c.iter().map(|c| c.as_str().to_owned()).collect()), dates };
        let store = self.clone();
        let endpoint = self.config().endpoint();
        let failed = move |f: TaskFailure| {
            let cause = match f {
                TaskFailure::NoRuntime => "a kline stream needs a tokio runtime".to_owned(),
                TaskFailure::Panicked(e) => format!("the kline stream's reader failed: {e}"),
            };
            StoreError::unavailable(endpoint.tier, endpoint.service, endpoint.address, cause)
        };
        // The next two runs are read while the caller works on this one.
        task_stream(2, failed, move |runtime, tx| {
            runtime.spawn(async move {
                if let Err(e) = store.send_chunks(&filter, chunk_rows.max(1), &tx).await {
                    let _ = tx.send(Err(e)).await;
                }
            })
        })
    }

    /// Reads the runs of codes in order and sends each as one batch, until the receiver is gone.
    async fn send_chunks(
        &self,
        filter: &StreamFilter,
        chunk_rows: u64,
        tx: &tokio::sync::mpsc::Sender<Result<KlineBatch>>,
    ) -> Result<()> {
        let table = self.klines_table();
        let config = self.config();
        let wait = config.stream_timeout();
        let error = |e| crate::error::from_clickhouse(config, e);
        let conditions = filter.sql();
        let listing = filter.bind(self.server().query(&format!(
            "SELECT code, count() AS bars FROM {table} WHERE 1{conditions} GROUP BY code ORDER BY code"
        )));
        let codes =
            within(&config.endpoint(), wait, async { listing.fetch_all::<CodeRows>().await.map_err(error) })
                .await?;
        for (first, last) in chunks_of(&codes, chunk_rows) {
            let query = self
                .server()
                .query(&format!("SELECT {COLUMNS} FROM {table} WHERE code >= ? AND code <= ?{conditions}"))
                .bind(first)
                .bind(last);
            let mut rows = fetch_bars(config, filter.bind(query), &table, wait).await?;
            // Newest version first within a key, then keep the first of each key. The rows come
            // as a few sorted runs (one per stored part): the stable sort merges runs.
            rows.sort_by(|a, b| (a.code, a.date).cmp(&(b.code, b.date)).then(b.ver.cmp(&a.ver)));
            rows.dedup_by(|later, kept| (later.code, later.date) == (kept.code, kept.date));
            let bars = rows.into_iter().map(|r| r.bar.map_err(|e| *e)).collect::<Result<KlineBatch>>()?;
            if bars.is_empty() {
                // The run's codes lost their bars since the listing.
                continue;
            }
            if tx.send(Ok(bars)).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
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
        // Checked whole before anything is sent, then sent in one insert with one version;
        // within it the last bar of a key wins, as a later call's would. The server writes a
        // part per partition, so an insert that fails part-way may leave some bars stored:
        // retrying the call stores the same rows, which leaves the table as if written once.
        let mut latest: BTreeMap<(StockCode, TradeDate), &Kline> = BTreeMap::new();
        for k in batch {
            check_bar(k)?;
            latest.insert((k.code, k.date), k);
        }
        if latest.is_empty() {
            return Ok(0);
        }
        let ver = next_version();
        self.request(async {
            let mut insert = self.in_database().insert::<KlineRow<'_>>("klines").await?;
            for k in latest.values() {
                insert.write(&encode_bar(k, ver)).await?;
            }
            insert.end().await
        })
        .await?;
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
            KlineRange::Dates(r) => self.bars_between(codes, Span::Dates(r.start, r.end)).await,
            KlineRange::Last { n, until } => self.last_bars(codes, n, until).await,
        }
    }

    fn stream_klines<'a>(
        &'a self,
        codes: Option<&'a [StockCode]>,
        dates: Option<DateRange>,
    ) -> BoxStream<'a, Result<KlineBatch>> {
        self.stream_klines_in_chunks(codes, dates, STREAM_CHUNK_ROWS)
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

#[cfg(test)]
mod layout_tests {
    use super::*;

    fn round_trip(k: &Kline) -> Kline {
        let row = encode_bar(k, 7);
        let code = BarDecoder::new("t").code(&row).unwrap();
        decode_bar(&row, code, "t").unwrap()
    }

    fn bar(close: f64, volume: u64, amount: f64) -> Kline {
        let p = |v: f64| Price::new("p", v).unwrap();
        Kline {
            code: StockCode::parse("600000.SH").unwrap(),
            date: TradeDate::parse("2024-10-09").unwrap(),
            open: p(close),
            high: p(close * 1.01),
            low: p(close * 0.99),
            close: p(close),
            volume: Volume::new(volume),
            amount,
        }
    }

    #[test]
    fn lots_and_amount_offsets_are_small_and_exact() {
        let p = |v: f64| Price::new("p", v).unwrap();
        let k =
            Kline { open: p(10.30), high: p(10.50), low: p(10.20), ..bar(10.35, 1_234_500, 12_781_234.56) };
        let i = encode_bar(&k, 1);
        assert_eq!((i.volume, i.volume_hi, i.vscale), (12_345, 0, 2), "whole lots");
        // Open 10.30 is 5 fen under the close 10.35: zigzag 9, nothing in the high half.
        assert_eq!((i.open_zz, i.open_hi, i.high_off, i.low_off), (9, 0, 15, -15));
        // (10.30 + 10.50 + 10.20 + 10.35) / 4 = 10.3375; × 1,234,500 = 12,761,643.75
        // yuan = 1,276,164,375 fen; the amount is 1,278,123,456 fen: 1,959,081 fen off.
        assert_eq!((i.amount_off, i.ascale), (1_959_081, 2));
        assert_eq!(round_trip(&k), k);
    }

    #[test]
    fn odd_lots_raw_bits_and_overflow_round_trip_bit_for_bit() {
        for k in [
            bar(10.35, 1_234_567, 12_781_234.56),        // an odd lot
            bar(0.1 + 0.2, 100, 1.0),                    // raw price bits: no prediction
            bar(10.0, 300, 0.1 + 0.2),                   // raw amount bits
            bar(99_999.99, u64::MAX / 100 * 100, 1e300), // the product overflows
            bar(10.0, 0, 0.0),
            bar(1.005, 100, 100.5), // price at scale 3, amount at scale 1
        ] {
            let back = round_trip(&k);
            assert_eq!(back, k);
            assert_eq!(back.amount.to_bits(), k.amount.to_bits(), "{k:?}");
            for (b, w) in [(back.open, k.open), (back.high, k.high), (back.low, k.low), (back.close, k.close)]
            {
                assert_eq!(b.get().to_bits(), w.get().to_bits(), "{k:?}");
            }
        }
        // Scaled prices whose predicted amount fits i128 but not i64: no prediction.
        let p = |v: f64| Price::new("p", v).unwrap();
        let k = Kline {
            open: p(99_999.99),
            high: p(99_999.99),
            low: p(99_999.99),
            ..bar(99_999.99, u64::MAX / 100 * 100, 1.0)
        };
        let i = encode_bar(&k, 1);
        assert_eq!((i.pscale, i.volume_hi > 0, i.amount_off), (2, true, 1), "{k:?}");
        assert_eq!(round_trip(&k), k);
        assert_eq!(encode_bar(&bar(10.35, 1_234_567, 1.0), 1).vscale, 0);
    }

    #[test]
    fn the_prediction_rounds_when_the_amount_has_fewer_decimals() {
        // Four prices of 1.005 (1005 at scale 3) sum to 4020: 333 × 1.005 = 334.665 → 334.7 at
        // scale 1 (3347), half away from zero.
        assert_eq!(predicted_amount(333, 4020, 3, 1), 3347);
        // Sum 4141 fen: 100 × 10.3525 = 1035.25 yuan = 103,525 fen; at scale 4, 10,352,500.
        assert_eq!(predicted_amount(100, 4141, 2, 2), 103_525);
        assert_eq!(predicted_amount(100, 4141, 2, 4), 10_352_500);
        // 3 × 4141 / 4 = 3105.75 → 3106 fen; 2 × 4141 / 4 = 2070.5, a tie → 2071.
        assert_eq!(predicted_amount(3, 4141, 2, 2), 3106);
        assert_eq!(predicted_amount(2, 4141, 2, 2), 2071);
        assert_eq!(predicted_amount(100, 4141, crate::scaled::RAW, 2), 0);
        assert_eq!(
            predicted_amount(u64::MAX, i128::from(i64::MAX) * 4, 0, 15),
            0,
            "does not fit: no prediction"
        );
    }

    #[test]
    fn halves_and_zigzag_are_exact_and_small_for_small_values() {
        for v in [0i64, 1, -1, 5, -5, i64::MAX, i64::MIN, 4_607_182_418_800_017_408] {
            let (lo, hi) = halves(zigzag(v));
            assert_eq!(unzigzag(whole(lo, hi)), v);
        }
        assert_eq!(halves(zigzag(-5)), (9, 0));
        assert_eq!(halves(zigzag(5)), (10, 0));
        assert_eq!(halves(u64::MAX / 100), (0xF5C2_8F5C, 0x028F_5C28));
    }
}
