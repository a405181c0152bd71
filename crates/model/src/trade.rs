//! Orders, fills and cancels: the trade journal.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::code::StockCode;
use crate::date::{DateRange, TradeDate};
use crate::error::StoreError;
use crate::ident::{AccountId, StrategyId};
use crate::quantity::{Money, Price, Volume};

/// What a journal row records. Unknown legacy labels are data, kept verbatim in
/// [`OrderKind::Other`], never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderKind {
    /// 买入委托
    BuyOrder,
    /// 卖出委托
    SellOrder,
    /// 买入成交
    BuyFill,
    /// 卖出成交
    SellFill,
    /// 撤单
    Cancel,
    /// Any other label, e.g. a strategy-specific `<kind>委托`.
    Other(String),
}

impl OrderKind {
    /// Maps a legacy journal label to a kind; unknown labels become [`OrderKind::Other`].
    pub fn from_label(label: &str) -> Self {
        match label {
            "买入委托" => OrderKind::BuyOrder,
            "卖出委托" => OrderKind::SellOrder,
            "买入成交" => OrderKind::BuyFill,
            "卖出成交" => OrderKind::SellFill,
            "撤单" => OrderKind::Cancel,
            other => OrderKind::Other(other.to_owned()),
        }
    }

    /// The label the legacy journal uses.
    pub fn label(&self) -> &str {
        match self {
            OrderKind::BuyOrder => "买入委托",
            OrderKind::SellOrder => "卖出委托",
            OrderKind::BuyFill => "买入成交",
            OrderKind::SellFill => "卖出成交",
            OrderKind::Cancel => "撤单",
            OrderKind::Other(s) => s,
        }
    }

    /// A stable English name for APIs and databases: `buy_order`, ..., `other`.
    pub fn name(&self) -> &'static str {
        match self {
            OrderKind::BuyOrder => "buy_order",
            OrderKind::SellOrder => "sell_order",
            OrderKind::BuyFill => "buy_fill",
            OrderKind::SellFill => "sell_fill",
            OrderKind::Cancel => "cancel",
            OrderKind::Other(_) => "other",
        }
    }

    /// Parses an English name (`buy_fill`) or a legacy label (`买入成交`).
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "buy_order" => OrderKind::BuyOrder,
            "sell_order" => OrderKind::SellOrder,
            "buy_fill" => OrderKind::BuyFill,
            "sell_fill" => OrderKind::SellFill,
            "cancel" => OrderKind::Cancel,
            "" => return Err(StoreError::invalid("kind", s, "must not be empty")),
            label => OrderKind::from_label(label),
        })
    }

    /// Fills move money and positions; orders and cancels do not.
    pub fn is_fill(&self) -> bool {
        matches!(self, OrderKind::BuyFill | OrderKind::SellFill)
    }
}

impl fmt::Display for OrderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl serde::Serialize for OrderKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OrderKind::Other(label) => s.serialize_str(label),
            known => s.serialize_str(known.name()),
        }
    }
}

impl<'de> serde::Deserialize<'de> for OrderKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        OrderKind::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What makes a trade "the same trade" on a rerun: its account and the ordinal of its row in
/// that account's journal. Content is not identity: two identical journal lines are two fills.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TradeId {
    /// The account.
    pub account: AccountId,
    /// 1-based ordinal of the row among the journal's data rows (the header not counted).
    pub seq: u64,
}

impl fmt::Display for TradeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.account, self.seq)
    }
}

/// One journal row: an order, a fill or a cancel.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    /// The account (legacy: the strategy directory).
    pub account: AccountId,
    /// The row's ordinal in the account's journal (see [`TradeId`]): assigned by the journal
    /// append and carried to every other tier. `None` only for a trade not yet appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The strategy that placed it, when known (the legacy journal does not say).
    pub strategy: Option<StrategyId>,
    /// The instant of the order. Legacy files hold market-local wall-clock time; tiers convert
    /// with the configured timezone.
    pub time: DateTime<Utc>,
    /// The stock.
    pub code: StockCode,
    /// The stock's name as recorded (may contain commas and quotes).
    pub name: String,
    /// Order, fill or cancel.
    pub kind: OrderKind,
    /// Free text remark (may contain commas, quotes, or text that looks like SQL: stored verbatim).
    pub remark: String,
    /// Price.
    pub price: Price,
    /// Shares.
    pub volume: Volume,
}

impl Trade {
    /// Checks what the types cannot: the journal's resolution is one second, so a time with a
    /// fraction of a second is refused rather than silently truncated by one tier and kept by
    /// another; names and remarks have no NUL characters.
    pub fn validate(&self) -> Result<(), StoreError> {
        use chrono::Timelike;
        if self.time.nanosecond() != 0 {
            return Err(StoreError::invalid(
                "time",
                self.time.to_rfc3339(),
                "must be whole seconds (the journal's resolution); truncate it first",
            ));
        }
        for (field, text) in [("name", &self.name), ("remark", &self.remark)] {
            if text.contains('\0') {
                return Err(StoreError::invalid(field, text, "must not contain NUL characters"));
            }
        }
        if self.seq == Some(0) {
            return Err(StoreError::invalid("seq", "0", "journal ordinals start at 1"));
        }
        if let OrderKind::Other(label) = &self.kind
            && (label.is_empty() || label.contains(['\r', '\n']))
        {
            return Err(StoreError::invalid("kind", label, "a label must be one non-empty line"));
        }
        Ok(())
    }

    /// Price × volume as money, rounded to the fen.
    pub fn amount(&self) -> Money {
        fen(self.price.as_money() * Money::from(self.volume.get()))
    }

    /// The trade's identity, once the journal has given it an ordinal.
    pub fn id(&self) -> Option<TradeId> {
        self.seq.map(|seq| TradeId { account: self.account.clone(), seq })
    }

    /// The order every query returns trades in (reversed for newest first): time, then
    /// account, then journal ordinal, so trades of the same second keep their journal order.
    pub fn order_key(&self) -> (DateTime<Utc>, &AccountId, Option<u64>) {
        (self.time, &self.account, self.seq)
    }
}

/// A filter over the journal. Empty lists mean "all".
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TradeQuery {
    /// Accounts to include.
    pub accounts: Vec<AccountId>,
    /// Market-local dates, inclusive.
    pub dates: Option<DateRange>,
    /// Stocks to include.
    pub codes: Vec<StockCode>,
    /// Kinds to include.
    pub kinds: Vec<OrderKind>,
    /// Strategy to include.
    pub strategy: Option<StrategyId>,
    /// Newest first instead of oldest first.
    #[serde(default)]
    pub newest_first: bool,
    /// At most this many rows (the newest ones with `newest_first`, else the oldest).
    #[serde(default)]
    pub limit: Option<u64>,
}

impl TradeQuery {
    /// Refuses what a stream cannot honour in constant memory: an order other than identity
    /// order, or a limit.
    pub fn check_streamable(&self) -> Result<(), StoreError> {
        if self.newest_first {
            return Err(StoreError::invalid(
                "newest_first",
                "true",
                "a trade stream is in identity order; ask trades() for newest first",
            ));
        }
        if let Some(n) = self.limit {
            return Err(StoreError::invalid(
                "limit",
                n.to_string(),
                "a trade stream has no limit; ask trades() for a limited list",
            ));
        }
        Ok(())
    }

    /// Puts `trades` in the query's order and applies its limit; for stores that filter
    /// in memory.
    pub fn order_and_limit(&self, trades: &mut Vec<Trade>) {
        trades.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        if self.newest_first {
            trades.reverse();
        }
        if let Some(n) = self.limit {
            trades.truncate(usize::try_from(n).unwrap_or(usize::MAX));
        }
    }

    /// Whether `t` passes every filter; dates are market-local in `tz`.
    pub fn matches<Tz: chrono::TimeZone>(&self, t: &Trade, tz: &Tz) -> bool {
        (self.accounts.is_empty() || self.accounts.contains(&t.account))
            && (self.codes.is_empty() || self.codes.contains(&t.code))
            && (self.kinds.is_empty() || self.kinds.contains(&t.kind))
            && self.strategy.as_ref().is_none_or(|s| t.strategy.as_ref() == Some(s))
            && self.dates.is_none_or(|r| {
                TradeDate::from_naive(t.time.with_timezone(tz).date_naive()).is_ok_and(|d| r.contains(d))
            })
    }
}

/// Calendar buckets for aggregation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// One trading day.
    Day,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

/// Aggregates of one account over one period. Orders, fills and cancels are counted apart so
/// amounts are never doubled by adding an order to its own fill.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TradeSummary {
    /// The account.
    pub account: AccountId,
    /// First day of the bucket.
    pub period_start: TradeDate,
    /// Orders placed (buy and sell orders).
    pub orders: u64,
    /// Fills (buy and sell fills).
    pub fills: u64,
    /// Cancels.
    pub cancels: u64,
    /// Rows with labels of no known kind (kept, counted apart).
    pub other: u64,
    /// Sum of buy fill amounts.
    pub buy_amount: Money,
    /// Sum of sell fill amounts.
    pub sell_amount: Money,
    /// Profit realised by sell fills against the average cost of earlier buy fills.
    pub realised_profit: Money,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_unknown_labels_are_kept() {
        for k in [
            OrderKind::BuyOrder,
            OrderKind::SellOrder,
            OrderKind::BuyFill,
            OrderKind::SellFill,
            OrderKind::Cancel,
        ] {
            assert_eq!(OrderKind::from_label(k.label()), k);
            assert_eq!(OrderKind::parse(k.name()).unwrap(), k);
        }
        let k = OrderKind::from_label("尾盘买入委托");
        assert_eq!(k, OrderKind::Other("尾盘买入委托".into()));
        assert_eq!(k.label(), "尾盘买入委托");
        assert_eq!(serde_json::to_string(&k).unwrap(), r#""尾盘买入委托""#);
        assert!(OrderKind::parse("").is_err());
    }

    fn trade() -> Trade {
        Trade {
            account: AccountId::new("a").unwrap(),
            seq: None,
            strategy: None,
            time: DateTime::UNIX_EPOCH,
            code: StockCode::parse("000001.SZ").unwrap(),
            name: "平安银行".into(),
            kind: OrderKind::BuyFill,
            remark: String::new(),
            price: Price::new("price", 10.52).unwrap(),
            volume: Volume::new(1000),
        }
    }

    #[test]
    fn amount_is_money() {
        assert_eq!(trade().amount().to_string(), "10520.00");
    }

    #[test]
    fn validation_refuses_sub_second_times_and_bad_labels() {
        let mut t = trade();
        t.validate().unwrap();
        t.time = DateTime::from_timestamp(1_700_000_000, 5).unwrap();
        let e = t.validate().unwrap_err();
        assert!(matches!(&e, StoreError::InvalidInput { field, .. } if field == "time"), "{e}");
        let mut t = trade();
        t.kind = OrderKind::Other("a\nb".into());
        assert!(t.validate().is_err());
        let mut t = trade();
        t.remark = "x\0".into();
        assert!(t.validate().is_err());
    }
}

/// Aggregates trades per account and period. `trades` must be in time order and may hold
/// more than is counted: the average cost of a sell fill is built from every earlier buy fill
/// of the same account and stock given, but only trades that `counted` matches (its dates,
/// in `tz`, and kinds; the caller has already chosen accounts, codes and strategy) are
/// counted. Sells beyond the known holding realise nothing (their cost is unknown).
pub fn summarise<'a, Tz: chrono::TimeZone>(
    trades: impl IntoIterator<Item = &'a Trade>,
    period: Period,
    tz: &Tz,
    counted: &TradeQuery,
) -> Vec<TradeSummary> {
    use std::collections::BTreeMap;
    let mut book = CostBook::default();
    let mut out: BTreeMap<(AccountId, TradeDate), TradeSummary> = BTreeMap::new();
    for t in trades {
        let date = TradeDate::from_naive(t.time.with_timezone(tz).date_naive());
        let in_range = counted.matches(t, tz);
        let realised = book.apply(t);
        let (true, Ok(date)) = (in_range, date) else { continue };
        let start = period.start_of(date);
        let s = out.entry((t.account.clone(), start)).or_insert_with(|| TradeSummary {
            account: t.account.clone(),
            period_start: start,
            orders: 0,
            fills: 0,
            cancels: 0,
            other: 0,
            buy_amount: Money::ZERO,
            sell_amount: Money::ZERO,
            realised_profit: Money::ZERO,
        });
        match &t.kind {
            OrderKind::BuyOrder | OrderKind::SellOrder => s.orders += 1,
            OrderKind::BuyFill => {
                s.fills += 1;
                s.buy_amount += t.amount();
            }
            OrderKind::SellFill => {
                s.fills += 1;
                s.sell_amount += t.amount();
                s.realised_profit += realised;
            }
            OrderKind::Cancel => s.cancels += 1,
            OrderKind::Other(_) => s.other += 1,
        }
    }
    out.into_values()
        .map(|mut s| {
            s.realised_profit = fen(s.realised_profit);
            s.buy_amount = fen(s.buy_amount);
            s.sell_amount = fen(s.sell_amount);
            s
        })
        .collect()
}

/// What each account holds of each stock and at what average cost, built from fills in time
/// order. A buy fill adds its shares at its price; a sell fill realises (its price − the
/// average cost) × the shares it takes out of the holding, which leaves the average cost as it
/// was. Shares sold beyond the holding (a sell before any buy, or more than was bought)
/// realise nothing — their cost is unknown — and the holding stops at zero. Holdings of
/// different accounts or stocks never mix, so fills may come grouped by (account, stock) as
/// long as each group is in time order.
#[derive(Debug, Default)]
pub struct CostBook {
    /// (account, code) -> (shares held, their total cost)
    held: std::collections::BTreeMap<(AccountId, StockCode), (Money, Money)>,
}

impl CostBook {
    /// Applies `t` (orders, cancels and other rows change nothing) and returns the profit it
    /// realised, unrounded.
    pub fn apply(&mut self, t: &Trade) -> Money {
        if !t.kind.is_fill() {
            return Money::ZERO;
        }
        let volume = Money::from(t.volume.get());
        let price = t.price.as_money();
        let holding = self.held.entry((t.account.clone(), t.code)).or_insert((Money::ZERO, Money::ZERO));
        match t.kind {
            OrderKind::BuyFill => {
                holding.0 += volume;
                holding.1 += price * volume;
                Money::ZERO
            }
            OrderKind::SellFill if holding.0 > Money::ZERO => {
                let matched = volume.min(holding.0);
                let avg = holding.1 / holding.0;
                holding.1 -= avg * matched;
                holding.0 -= matched;
                (price - avg) * matched
            }
            _ => Money::ZERO,
        }
    }
}

/// Money rounded half away from zero to the fen, always with two decimals.
pub fn fen(m: Money) -> Money {
    let mut r = m.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    r.rescale(2);
    r
}

impl Period {
    /// The first day of the bucket holding `date`.
    pub fn start_of(self, date: TradeDate) -> TradeDate {
        use chrono::Datelike;
        let d = date.naive();
        let start = match self {
            Period::Day => d,
            Period::Month => d.with_day(1).unwrap_or(d),
            Period::Year => d.with_day(1).and_then(|x| x.with_month(1)).unwrap_or(d),
        };
        TradeDate::from_naive(start).unwrap_or(date)
    }
}

#[cfg(test)]
mod summary_tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: u32, hour: u32, kind: OrderKind, price: f64, volume: u64) -> Trade {
        let shanghai = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        Trade {
            account: AccountId::new("a").unwrap(),
            seq: None,
            strategy: None,
            time: shanghai.with_ymd_and_hms(2024, 10, day, hour, 0, 0).unwrap().with_timezone(&Utc),
            code: StockCode::parse("000001.SZ").unwrap(),
            name: "平安银行".into(),
            kind,
            remark: String::new(),
            price: Price::new("price", price).unwrap(),
            volume: Volume::new(volume),
        }
    }

    #[test]
    fn orders_fills_and_cancels_are_counted_apart_and_profit_uses_average_cost() {
        let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let trades = [
            t(8, 10, OrderKind::BuyOrder, 10.0, 100),
            t(8, 10, OrderKind::BuyFill, 10.0, 100),
            t(9, 10, OrderKind::BuyFill, 12.0, 100),
            t(10, 10, OrderKind::SellOrder, 13.0, 150),
            t(10, 10, OrderKind::SellFill, 13.0, 150),
            t(10, 11, OrderKind::Cancel, 13.0, 50),
            t(10, 11, OrderKind::Other("尾盘买入委托".into()), 13.0, 50),
        ];
        let all = summarise(&trades, Period::Month, &tz, &TradeQuery::default());
        assert_eq!(all.len(), 1);
        let m = &all[0];
        assert_eq!((m.orders, m.fills, m.cancels, m.other), (2, 3, 1, 1));
        assert_eq!(m.buy_amount.to_string(), "2200.00");
        assert_eq!(m.sell_amount.to_string(), "1950.00");
        // average cost 11.00, 150 sold at 13.00
        assert_eq!(m.realised_profit.to_string(), "300.00");

        // Only the 10th counts, but the cost basis still comes from the 8th and 9th.
        let d = TradeDate::parse("2024-10-10").unwrap();
        let q = TradeQuery { dates: Some(DateRange::day(d)), ..Default::default() };
        let day = summarise(&trades, Period::Day, &tz, &q);
        assert_eq!(day.len(), 1);
        assert_eq!((day[0].fills, day[0].realised_profit.to_string()), (1, "300.00".to_owned()));
    }

    #[test]
    fn local_dates_decide_the_bucket() {
        // 07:00 in Shanghai on the 1st is still the 30th of the month before in UTC.
        let tz = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let mut tr = t(1, 7, OrderKind::BuyFill, 10.0, 100);
        tr.time = tz.with_ymd_and_hms(2024, 10, 1, 7, 0, 0).unwrap().with_timezone(&Utc);
        let s = summarise([&tr], Period::Month, &tz, &TradeQuery::default());
        assert_eq!(s[0].period_start.to_string(), "2024-10-01");
    }
}
