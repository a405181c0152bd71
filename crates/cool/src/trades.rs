//! The trade journal: one row per trade identity (account, journal ordinal), the last write
//! winning, so a rerun, a retried batch or a replayed outbox is the same trade, while two
//! identical journal lines — different ordinals — stay two trades.
//!
//! Each row carries what queries filter and sum on, computed once when it is written: the
//! market-local date (in the configured timezone) and price × volume in fen as an integer,
//! so sums are exact. Counts and amounts are aggregated by the server; realised profit, a
//! running average cost that ClickHouse 18.16 cannot express, is folded here over the fills
//! streamed in (account, code, time) order with the model's [`CostBook`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use clickhouse::Row;
use futures::StreamExt as _;
use futures::stream::BoxStream;
use tierstore_model::{
    AccountId, CodeStyle, CostBook, Money, OrderKind, Period, Price, Result, StockCode, StoreError,
    StrategyId, Trade, TradeDate, TradeId, TradeQuery, TradeStore, TradeSummary, Volume,
};

use crate::store::{CoolStore, next_version};

/// Rows per chunk of a stream.
const STREAM_BATCH: usize = 10_000;

const COLUMNS: &str =
    "account, seq, time, date, code, code_style, name, label, remark, price, volume, strategy";

#[derive(Row, serde::Serialize)]
struct TradeIn<'a> {
    account: &'a str,
    seq: u64,
    time: u32,
    date: u16,
    code: &'a str,
    code_style: u8,
    name: &'a str,
    kind: &'static str,
    label: &'a str,
    remark: &'a str,
    price: f64,
    volume: u64,
    amount_fen: i64,
    strategy: &'a str,
    ver: u64,
}

#[derive(Row, serde::Deserialize)]
struct TradeRow {
    account: String,
    seq: u64,
    time: u32,
    date: u16,
    code: String,
    code_style: u8,
    name: String,
    label: String,
    remark: String,
    price: f64,
    volume: u64,
    strategy: String,
}

/// The counts and fill amounts by kind that summaries and account statistics share, in the
/// column order of [`SummaryRow`] and [`StatsRow`] after their leading columns.
const KIND_COUNTS: &str = "countIf(kind IN ('buy_order', 'sell_order')) AS orders, \
     countIf(kind IN ('buy_fill', 'sell_fill')) AS fills, \
     countIf(kind = 'cancel') AS cancels, countIf(kind = 'other') AS other, \
     sumIf(amount_fen, kind = 'buy_fill') AS buy_fen, sumIf(amount_fen, kind = 'sell_fill') AS sell_fen";

#[derive(Row, serde::Deserialize)]
struct SummaryRow {
    account: String,
    period: u16,
    orders: u64,
    fills: u64,
    cancels: u64,
    other: u64,
    buy_fen: i64,
    sell_fen: i64,
}

#[derive(Row, serde::Deserialize)]
struct StatsRow {
    account: String,
    trades: u64,
    orders: u64,
    fills: u64,
    cancels: u64,
    other: u64,
    buy_fen: i64,
    sell_fen: i64,
    codes: u64,
    first: u16,
    last: u16,
}

/// One account's trading over a query's selection, from one query over all accounts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AccountTradeStats {
    /// The account.
    pub account: AccountId,
    /// Rows of every kind.
    pub trades: u64,
    /// Buy and sell orders.
    pub orders: u64,
    /// Buy and sell fills.
    pub fills: u64,
    /// Cancels.
    pub cancels: u64,
    /// Rows of no known kind.
    pub other: u64,
    /// Sum of buy fill amounts.
    pub buy_amount: Money,
    /// Sum of sell fill amounts.
    pub sell_amount: Money,
    /// Distinct stocks traded.
    pub codes: u64,
    /// Market date of the first trade.
    pub first: TradeDate,
    /// Market date of the last trade.
    pub last: TradeDate,
}

fn style_code(s: CodeStyle) -> u8 {
    match s {
        CodeStyle::Suffix => 0,
        CodeStyle::SuffixLower => 1,
        CodeStyle::Prefix => 2,
        CodeStyle::PrefixLower => 3,
        CodeStyle::Bare => 4,
    }
}

fn code_style(n: u8) -> Option<CodeStyle> {
    Some(match n {
        0 => CodeStyle::Suffix,
        1 => CodeStyle::SuffixLower,
        2 => CodeStyle::Prefix,
        3 => CodeStyle::PrefixLower,
        4 => CodeStyle::Bare,
        _ => return None,
    })
}

/// Money in whole fen (two decimals) as an integer.
fn to_fen(field: &str, m: Money) -> Result<i64> {
    let scaled = tierstore_model::trade::fen(m) * Money::ONE_HUNDRED;
    i64::try_from(scaled.trunc().mantissa())
        .map_err(|_| StoreError::invalid(field, m.to_string(), "is too large to store"))
}

fn from_fen(fen: i64) -> Money {
    Money::new(fen, 2)
}

fn decode_trade(r: TradeRow, at: &str) -> Result<Trade> {
    let bad = |what: String| StoreError::corrupt(at, None, what);
    let account = AccountId::new(&r.account).map_err(|e| bad(e.to_string()))?;
    let style = code_style(r.code_style).ok_or_else(|| bad(format!("code style {}", r.code_style)))?;
    let code = StockCode::parse(&r.code).map_err(|e| bad(e.to_string()))?.with_style(style);
    let strategy = match r.strategy.as_str() {
        "" => None,
        s => Some(StrategyId::new(s).map_err(|e| bad(e.to_string()))?),
    };
    let time = chrono::DateTime::from_timestamp(i64::from(r.time), 0)
        .ok_or_else(|| bad(format!("time {} out of range", r.time)))?;
    Ok(Trade {
        account,
        seq: Some(r.seq),
        strategy,
        time,
        code,
        name: r.name,
        kind: OrderKind::from_label(&r.label),
        remark: r.remark,
        price: Price::new("price", r.price).map_err(|e| bad(e.to_string()))?,
        volume: Volume::new(r.volume),
    })
}

/// A WHERE clause for a query's filters and the values it binds, in order.
struct Filter {
    sql: String,
    binds: Vec<Bind>,
}

#[derive(Clone)]
enum Bind {
    Text(String),
    List(Vec<String>),
}

impl Filter {
    /// `dates_until_end` keeps only the end of the date range: the cost basis of a summary
    /// needs every earlier fill.
    ///
    /// With dates, the journal ordinals are bounded too: the table is sorted by (account,
    /// seq), not by date, so a date condition alone reads every row of the accounts. Two
    /// scalar subqueries find the smallest and largest ordinal of a row in the dates (reading
    /// only the account, date and seq columns, and every stored version, so the bounds hold
    /// whichever version `FINAL` keeps); the server replaces them by their values before it
    /// picks the granules, so only the ordinals in between are read. The date condition stays:
    /// the bounds only narrow.
    fn of(table: &str, q: &TradeQuery, dates_until_end: bool, labels: &[OrderKind]) -> Self {
        let mut f = Filter { sql: "1".into(), binds: Vec::new() };
        if !q.accounts.is_empty() {
            f.sql.push_str(" AND account IN (SELECT arrayJoin(?))");
            f.binds.push(Bind::List(q.accounts.iter().map(|a| a.as_str().to_owned()).collect()));
        }
        if let Some(r) = q.dates {
            if !dates_until_end {
                f.sql.push_str(" AND date >= toDate(?)");
                f.binds.push(Bind::Text(r.start.to_string()));
            }
            f.sql.push_str(" AND date <= toDate(?)");
            f.binds.push(Bind::Text(r.end.to_string()));
            let (key_sql, key_binds) = (f.sql.clone(), f.binds.clone());
            let lower = if dates_until_end {
                String::new()
            } else {
                f.binds.extend(key_binds.iter().cloned());
                format!(" AND seq >= (SELECT min(seq) FROM {table} WHERE {key_sql})")
            };
            f.binds.extend(key_binds);
            f.sql = format!("{key_sql}{lower} AND seq <= (SELECT max(seq) FROM {table} WHERE {key_sql})");
        }
        if !q.codes.is_empty() {
            f.sql.push_str(" AND code IN (SELECT arrayJoin(?))");
            f.binds.push(Bind::List(q.codes.iter().map(|c| c.as_str().to_owned()).collect()));
        }
        if !labels.is_empty() {
            f.sql.push_str(" AND label IN (SELECT arrayJoin(?))");
            f.binds.push(Bind::List(labels.iter().map(|k| k.label().to_owned()).collect()));
        }
        if let Some(s) = &q.strategy {
            f.sql.push_str(" AND strategy = ?");
            f.binds.push(Bind::Text(s.as_str().to_owned()));
        }
        f
    }

    fn bind(self, mut q: clickhouse::query::Query) -> clickhouse::query::Query {
        for b in self.binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::List(l) => q.bind(l),
            };
        }
        q
    }
}

impl CoolStore {
    fn trades_table(&self) -> String {
        format!("{}.trades", self.config().database)
    }

    /// Counts and amounts per account over the query's selection, for every account at once,
    /// in one query; accounts without trades in it are absent.
    pub async fn account_stats(&self, query: &TradeQuery) -> Result<Vec<AccountTradeStats>> {
        let table = self.trades_table();
        let filter = Filter::of(&table, query, false, &query.kinds);
        let sql = format!(
            "SELECT account, count() AS trades, {KIND_COUNTS}, \
             uniqExact(code) AS codes, min(date) AS first, max(date) AS last \
             FROM {table} FINAL WHERE {} GROUP BY account ORDER BY account",
            filter.sql
        );
        let rows = self.request(filter.bind(self.server().query(&sql)).fetch_all::<StatsRow>()).await?;
        rows.into_iter()
            .map(|r| {
                let bad =
                    |e: StoreError| StoreError::corrupt(format!("clickhouse:{table}"), None, e.to_string());
                Ok(AccountTradeStats {
                    account: AccountId::new(&r.account).map_err(bad)?,
                    trades: r.trades,
                    orders: r.orders,
                    fills: r.fills,
                    cancels: r.cancels,
                    other: r.other,
                    buy_amount: from_fen(r.buy_fen),
                    sell_amount: from_fen(r.sell_fen),
                    codes: r.codes,
                    first: TradeDate::from_days_since_epoch(r.first).map_err(bad)?,
                    last: TradeDate::from_days_since_epoch(r.last).map_err(bad)?,
                })
            })
            .collect()
    }

    /// Realised profit per (account, period start) of the sell fills `counted` selects, with
    /// the average cost built from every earlier fill of the same account and stock.
    async fn realised(
        &self,
        counted: &TradeQuery,
        period: Period,
    ) -> Result<BTreeMap<(AccountId, TradeDate), Money>> {
        let mut profit = BTreeMap::new();
        if !(counted.kinds.is_empty() || counted.kinds.contains(&OrderKind::SellFill)) {
            return Ok(profit);
        }
        let table = self.trades_table();
        let filter = Filter::of(&table, counted, true, &[OrderKind::BuyFill, OrderKind::SellFill]);
        let sql = format!(
            "SELECT {COLUMNS} FROM {table} FINAL WHERE {} ORDER BY account, code, time, seq",
            filter.sql
        );
        let mut cursor =
            filter.bind(self.server().query(&sql)).fetch::<TradeRow>().map_err(|e| self.error(e))?;
        let mut book = CostBook::default();
        while let Some(row) = self.next_row(&mut cursor).await? {
            // The market date the row was stored with, as the server's counts use.
            let date = TradeDate::from_days_since_epoch(row.date)
                .map_err(|e| StoreError::corrupt(&table, None, e.to_string()))?;
            let t = decode_trade(row, &table)?;
            let realised = book.apply(&t);
            if t.kind != OrderKind::SellFill {
                continue;
            }
            if counted.dates.is_none_or(|r| r.contains(date)) {
                *profit.entry((t.account, period.start_of(date))).or_insert(Money::ZERO) += realised;
            }
        }
        Ok(profit)
    }

    fn error(&self, e: clickhouse::error::Error) -> StoreError {
        crate::error::from_clickhouse(self.config(), e)
    }
}

/// Checks a batch and puts it in the form it is stored in; nothing is sent if any row fails.
fn encode_batch<'a>(trades: &'a [Trade], tz: &chrono_tz::Tz, ver: u64) -> Result<Vec<TradeIn<'a>>> {
    // A journal's rows come with their identities in order: kept in a list while they do, and
    // sorted into a map (the last row of an identity winning) only when one comes out of order.
    let mut in_order: Vec<TradeIn<'a>> = Vec::with_capacity(trades.len());
    let mut latest: BTreeMap<(&'a str, u64), TradeIn<'a>> = BTreeMap::new();
    for t in trades {
        t.validate()?;
        let seq = t.seq.ok_or_else(|| {
            StoreError::invalid(
                "seq",
                format!("a trade of {} at {}", t.account, t.time.to_rfc3339()),
                "has no journal ordinal; append it to the journal first (its row's ordinal is its identity)",
            )
        })?;
        let time = u32::try_from(t.time.timestamp())
            .map_err(|_| StoreError::invalid("time", t.time.to_rfc3339(), "must be between 1970 and 2106"))?;
        let date =
            TradeDate::from_naive(t.time.with_timezone(tz).date_naive()).map_err(|e| e.in_field("time"))?;
        let row = TradeIn {
            account: t.account.as_str(),
            seq,
            time,
            date: date.days_since_epoch(),
            code: t.code.as_str(),
            code_style: style_code(t.code.style()),
            name: &t.name,
            kind: t.kind.name(),
            label: t.kind.label(),
            remark: &t.remark,
            price: t.price.get(),
            volume: t.volume.get(),
            amount_fen: to_fen("amount", t.amount())?,
            strategy: t.strategy.as_ref().map_or("", StrategyId::as_str),
            ver,
        };
        if latest.is_empty()
            && in_order.last().is_none_or(|last| (last.account, last.seq) < (t.account.as_str(), seq))
        {
            in_order.push(row);
            continue;
        }
        if latest.is_empty() {
            // Identities are unique in the list, so the map takes it as it is.
            latest.extend(in_order.drain(..).map(|r| ((r.account, r.seq), r)));
        }
        // Within one call the last row of an identity wins, as a later call's would.
        latest.insert((t.account.as_str(), seq), row);
    }
    if latest.is_empty() {
        return Ok(in_order);
    }
    Ok(latest.into_values().collect())
}

#[async_trait]
impl TradeStore for CoolStore {
    async fn append_trades(&self, trades: &[Trade]) -> Result<Vec<TradeId>> {
        let rows = encode_batch(trades, &self.config().timezone, next_version())?;
        if !rows.is_empty() {
            self.request(async {
                let mut insert = self.in_database().insert::<TradeIn<'_>>("trades").await?;
                for r in &rows {
                    insert.write(r).await?;
                }
                insert.end().await
            })
            .await?;
        }
        Ok(trades.iter().filter_map(Trade::id).collect())
    }

    async fn trades(&self, query: &TradeQuery) -> Result<Vec<Trade>> {
        let table = self.trades_table();
        let filter = Filter::of(&table, query, false, &query.kinds);
        let dir = if query.newest_first { "DESC" } else { "ASC" };
        let mut sql = format!(
            "SELECT {COLUMNS} FROM {table} FINAL WHERE {} ORDER BY time {dir}, account {dir}, seq {dir}",
            filter.sql
        );
        if query.limit.is_some() {
            sql.push_str(" LIMIT ?");
        }
        let mut q = filter.bind(self.server().query(&sql));
        if let Some(n) = query.limit {
            q = q.bind(n);
        }
        let rows = self.request(q.fetch_all::<TradeRow>()).await?;
        rows.into_iter().map(|r| decode_trade(r, &table)).collect()
    }

    fn stream_trades<'a>(&'a self, query: &'a TradeQuery) -> BoxStream<'a, Result<Vec<Trade>>> {
        if let Err(e) = query.check_streamable() {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        let table = self.trades_table();
        let filter = Filter::of(&table, query, false, &query.kinds);
        let sql = format!("SELECT {COLUMNS} FROM {table} FINAL WHERE {} ORDER BY account, seq", filter.sql);
        let cursor = match filter.bind(self.server().query(&sql)).fetch::<TradeRow>() {
            Ok(c) => c,
            Err(e) => {
                let err = self.error(e);
                return futures::stream::once(async move { Err(err) }).boxed();
            }
        };
        futures::stream::try_unfold((cursor, false), move |(mut cursor, done)| {
            let table = table.clone();
            async move {
                if done {
                    return Ok(None);
                }
                let mut batch = Vec::with_capacity(STREAM_BATCH);
                while batch.len() < STREAM_BATCH {
                    match self.next_row(&mut cursor).await? {
                        Some(r) => batch.push(decode_trade(r, &table)?),
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

    async fn summarise_trades(&self, query: &TradeQuery, period: Period) -> Result<Vec<TradeSummary>> {
        let table = self.trades_table();
        let counted = TradeQuery { newest_first: false, limit: None, ..query.clone() };
        let bucket = match period {
            Period::Day => "date",
            Period::Month => "toStartOfMonth(date)",
            Period::Year => "toStartOfYear(date)",
        };
        let filter = Filter::of(&table, &counted, false, &counted.kinds);
        let sql = format!(
            "SELECT account, {bucket} AS period, {KIND_COUNTS} \
             FROM {table} FINAL WHERE {} GROUP BY account, period ORDER BY account, period",
            filter.sql
        );
        let rows = self.request(filter.bind(self.server().query(&sql)).fetch_all::<SummaryRow>()).await?;
        let mut profit = self.realised(&counted, period).await?;
        rows.into_iter()
            .map(|r| {
                let bad =
                    |e: StoreError| StoreError::corrupt(format!("clickhouse:{table}"), None, e.to_string());
                let account = AccountId::new(&r.account).map_err(bad)?;
                let period_start = TradeDate::from_days_since_epoch(r.period).map_err(bad)?;
                let realised = profit.remove(&(account.clone(), period_start)).unwrap_or(Money::ZERO);
                Ok(TradeSummary {
                    account,
                    period_start,
                    orders: r.orders,
                    fills: r.fills,
                    cancels: r.cancels,
                    other: r.other,
                    buy_amount: from_fen(r.buy_fen),
                    sell_amount: from_fen(r.sell_fen),
                    realised_profit: tierstore_model::trade::fen(realised),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_are_exact_integers() {
        let m = |s: &str| s.parse::<Money>().unwrap();
        assert_eq!(to_fen("amount", m("10520.00")).unwrap(), 1_052_000);
        assert_eq!(to_fen("amount", m("0.015")).unwrap(), 2, "half away from zero");
        assert_eq!(to_fen("amount", m("-0.015")).unwrap(), -2);
        assert_eq!(from_fen(1_052_000).to_string(), "10520.00");
        assert_eq!(from_fen(-5).to_string(), "-0.05");
        assert!(to_fen("amount", m("100000000000000000.00")).is_err(), "10^19 fen overflow an i64");
    }

    fn trade(account: &str, seq: u64, remark: &str) -> Trade {
        Trade {
            account: AccountId::new(account).unwrap(),
            seq: Some(seq),
            strategy: None,
            time: chrono::DateTime::from_timestamp(1_728_450_000, 0).unwrap(),
            code: StockCode::parse("000001.SZ").unwrap(),
            name: "平安银行".into(),
            kind: OrderKind::BuyFill,
            remark: remark.into(),
            price: Price::new("price", 10.52).unwrap(),
            volume: Volume::new(100),
        }
    }

    fn identities(rows: &[TradeIn<'_>]) -> Vec<(String, u64, String)> {
        rows.iter().map(|r| (r.account.to_owned(), r.seq, r.remark.to_owned())).collect()
    }

    #[test]
    fn a_batch_keeps_the_last_row_of_each_identity_in_identity_order() {
        let tz = chrono_tz::Asia::Shanghai;
        let in_order = [trade("a", 1, "x"), trade("a", 2, "y"), trade("b", 1, "z")];
        let rows = encode_batch(&in_order, &tz, 7).unwrap();
        let want = [("a", 1, "x"), ("a", 2, "y"), ("b", 1, "z")].map(|(a, s, r)| (a.into(), s, r.into()));
        assert_eq!(identities(&rows), want);
        // Out of order from the fourth row on, with a repeated identity: the later row wins.
        let mixed = [
            trade("a", 1, "x"),
            trade("a", 5, "y"),
            trade("b", 1, "z"),
            trade("a", 3, "w"),
            trade("a", 5, "later"),
            trade("b", 1, "last"),
        ];
        let rows = encode_batch(&mixed, &tz, 7).unwrap();
        let want = [("a", 1, "x"), ("a", 3, "w"), ("a", 5, "later"), ("b", 1, "last")]
            .map(|(a, s, r)| (a.into(), s, r.into()));
        assert_eq!(identities(&rows), want);
        assert!(rows.iter().all(|r| r.ver == 7));
    }

    #[test]
    fn code_styles_round_trip() {
        for s in [
            CodeStyle::Suffix,
            CodeStyle::SuffixLower,
            CodeStyle::Prefix,
            CodeStyle::PrefixLower,
            CodeStyle::Bare,
        ] {
            assert_eq!(code_style(style_code(s)), Some(s));
        }
        assert_eq!(code_style(9), None);
    }
}
