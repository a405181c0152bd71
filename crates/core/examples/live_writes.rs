//! Strategy code's side of the migration: open the composed store from a configuration and
//! record a few fills — a journal row, the position's max price, the day's asset point — in
//! whatever phase the warm tier says. `cargo xtask demo` runs it between `migrate switch
//! dual_write` and `verify`.
//!
//! `cargo run -p tierstore --example live_writes -- CONFIG [FILLS]`

use std::time::Duration;

use tierstore::Store;
use tierstore::model::{
    AssetPoint, AssetStore, OrderKind, PositionStore, Price, StockCode, Trade, TradeStore, Volume,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let config = args.next().ok_or("usage: live_writes CONFIG [FILLS]")?;
    let fills: u32 = args.next().map(|n| n.parse()).transpose()?.unwrap_or(3);
    let config = tierstore::Config::load(Some(std::path::Path::new(&config)))?;
    let store = Store::open(&config).await?;
    let code = StockCode::parse("600000.SH")?;
    let today = store.market_today()?;
    let mut trades = 0u32;
    for account in store.accounts() {
        for i in 0..fills {
            let price = Price::new("price", 9.5 + f64::from(i) / 100.0)?;
            let trade = Trade {
                account: account.clone(),
                seq: None,
                strategy: None,
                // The journal keeps whole seconds.
                time: chrono::DateTime::from_timestamp(chrono::Utc::now().timestamp(), 0).ok_or("clock")?,
                code,
                name: "浦发银行".into(),
                kind: OrderKind::from_label("买入成交"),
                remark: format!("demo fill {i}"),
                price,
                volume: Volume::new(100),
            };
            store.append_trades(&[trade]).await?;
            store.open_positions(account, &[code]).await?;
            store.raise_max_price(account, &code, price).await?;
            trades += 1;
        }
        let total = tierstore::model::quantity::parse_money("total", "1000000")?;
        store.record_assets(&[AssetPoint { account: account.clone(), date: today, total }]).await?;
    }
    store.close(Duration::from_secs(30)).await?;
    println!("{}", serde_json::json!({ "trades": trades }));
    Ok(())
}
