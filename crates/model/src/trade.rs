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

/// One journal row: an order, a fill or a cancel.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Trade {
    /// The account (legacy: the strategy directory).
    pub account: AccountId,
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
    /// Price × volume as money, rounded to the fen.
    pub fn amount(&self) -> Money {
        let price = Money::from_f64_retain(self.price.get()).unwrap_or_default();
        (price * Money::from(self.volume.get())).round_dp(2)
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

    #[test]
    fn amount_is_money() {
        let t = Trade {
            account: AccountId::new("a").unwrap(),
            strategy: None,
            time: DateTime::UNIX_EPOCH,
            code: StockCode::parse("000001.SZ").unwrap(),
            name: "平安银行".into(),
            kind: OrderKind::BuyFill,
            remark: String::new(),
            price: Price::new("price", 10.52).unwrap(),
            volume: Volume::new(1000),
        };
        assert_eq!(t.amount().to_string(), "10520.00");
    }
}
