//! Values the suites build their cases from.

use chrono::{TimeZone, Utc};
use tierstore_model::{AccountId, OrderKind, Price, StockCode, Trade, TradeDate, Volume};

pub fn code(s: &str) -> StockCode {
    StockCode::parse(s).unwrap_or_else(|e| panic!("sample code {s}: {e}"))
}

pub fn date(s: &str) -> TradeDate {
    TradeDate::parse(s).unwrap_or_else(|e| panic!("sample date {s}: {e}"))
}

pub fn price(v: f64) -> Price {
    Price::new("price", v).unwrap_or_else(|e| panic!("sample price {v}: {e}"))
}

/// A trade at a market-local wall-clock time.
#[allow(clippy::too_many_arguments)]
pub fn trade(
    tz: &chrono_tz::Tz,
    account: &AccountId,
    local: &str,
    code_: &str,
    name: &str,
    kind: OrderKind,
    remark: &str,
    price_: f64,
    volume: u64,
) -> Trade {
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("sample time {local}: {e}"));
    let time = tz
        .from_local_datetime(&naive)
        .single()
        .unwrap_or_else(|| panic!("{local} is ambiguous"))
        .with_timezone(&Utc);
    Trade {
        account: account.clone(),
        seq: None,
        strategy: None,
        time,
        code: code(code_),
        name: name.to_owned(),
        kind,
        remark: remark.to_owned(),
        price: price(price_),
        volume: Volume::new(volume),
    }
}
