//! Daily bars (klines) and the batches they move in.

use crate::code::StockCode;
use crate::date::{DateRange, TradeDate};
use crate::error::StoreError;
use crate::quantity::{Price, Volume, non_negative};

/// One trading day of one stock.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Kline {
    /// The stock.
    pub code: StockCode,
    /// The trading day.
    pub date: TradeDate,
    /// Opening price.
    pub open: Price,
    /// Highest price.
    pub high: Price,
    /// Lowest price.
    pub low: Price,
    /// Closing price.
    pub close: Price,
    /// Shares traded.
    pub volume: Volume,
    /// Turnover in yuan (market data, kept as the source's float).
    pub amount: f64,
}

impl Kline {
    /// Builds a bar from raw values, validating each field and the bar's shape
    /// (`low <= open, close <= high`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        code: StockCode,
        date: TradeDate,
        open: f64,
        high: f64,
        low: f64,
        close: f64,
        volume: Volume,
        amount: f64,
    ) -> Result<Self, StoreError> {
        let bar = Kline {
            code,
            date,
            open: Price::new("open", open)?,
            high: Price::new("high", high)?,
            low: Price::new("low", low)?,
            close: Price::new("close", close)?,
            volume,
            amount: non_negative("amount", amount)?,
        };
        bar.check_shape()?;
        Ok(bar)
    }

    /// Checks that high is the highest and low the lowest of the four prices.
    pub fn check_shape(&self) -> Result<(), StoreError> {
        let (o, h, l, c) = (self.open.get(), self.high.get(), self.low.get(), self.close.get());
        if h < o.max(c).max(l) {
            return Err(StoreError::invalid(
                "high",
                h.to_string(),
                format!("below open {o}, low {l} or close {c}"),
            ));
        }
        if l > o.min(c) {
            return Err(StoreError::invalid("low", l.to_string(), format!("above open {o} or close {c}")));
        }
        Ok(())
    }
}

/// Rows moving together: a write batch, or one chunk of a stream. Batches may mix codes and
/// dates; writers group them for the engine (e.g. by partition).
pub type KlineBatch = Vec<Kline>;

/// Which bars of a stock to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KlineRange {
    /// Every bar with a date in the range.
    Dates(DateRange),
    /// The last `n` bars on or before `until` (or the newest, if `None`), in date order.
    Last {
        /// How many bars.
        n: u32,
        /// Latest date to include.
        until: Option<TradeDate>,
    },
}

impl KlineRange {
    /// Most bars a single [`KlineRange::Last`] may ask for (20 years of trading days).
    pub const MAX_LAST: u32 = 5_000;

    /// The last `n` bars up to the newest.
    pub fn last(n: u32) -> Result<Self, StoreError> {
        if n == 0 || n > Self::MAX_LAST {
            return Err(StoreError::invalid(
                "n",
                n.to_string(),
                format!("must be between 1 and {}", Self::MAX_LAST),
            ));
        }
        Ok(KlineRange::Last { n, until: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> StockCode {
        StockCode::parse("000001.SZ").unwrap()
    }

    fn date() -> TradeDate {
        TradeDate::parse("2024-10-10").unwrap()
    }

    #[test]
    fn valid_bar() {
        let k = Kline::new(code(), date(), 10.0, 10.5, 9.8, 10.2, Volume::new(100), 1020.0).unwrap();
        assert_eq!(k.close.get(), 10.2);
    }

    #[test]
    fn invalid_bars_name_the_field() {
        let cases = [
            ((-1.0, 10.5, 9.8, 10.2, 1.0), "open"),
            ((10.0, 10.5, 9.8, f64::NAN, 1.0), "close"),
            ((10.0, 9.9, 9.8, 10.2, 1.0), "high"),
            ((10.0, 10.5, 10.1, 10.2, 1.0), "low"),
            ((10.0, 10.5, 9.8, 10.2, -5.0), "amount"),
        ];
        for ((o, h, l, c, a), field) in cases {
            let e = Kline::new(code(), date(), o, h, l, c, Volume::new(1), a).unwrap_err();
            assert!(matches!(&e, StoreError::InvalidInput { field: f, .. } if f == field), "{field}: {e}");
        }
    }

    #[test]
    fn last_n_is_bounded() {
        assert!(KlineRange::last(0).is_err());
        assert!(KlineRange::last(KlineRange::MAX_LAST + 1).is_err());
        assert_eq!(KlineRange::last(60).unwrap(), KlineRange::Last { n: 60, until: None });
    }
}
