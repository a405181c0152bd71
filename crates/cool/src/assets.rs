//! The asset curve: one point per (account, date), the last write winning.

use async_trait::async_trait;
use clickhouse::Row;
use tierstore_model::quantity::non_negative_money;
use tierstore_model::{AccountId, AssetPoint, AssetStore, DateRange, Money, Result, StoreError, TradeDate};

use crate::store::{CoolStore, next_version};

#[derive(Row, serde::Serialize)]
struct AssetRow<'a> {
    account: &'a str,
    date: u16,
    total: String,
    ver: u64,
}

#[derive(Row, serde::Deserialize)]
struct AssetOut {
    date: u16,
    total: String,
}

#[async_trait]
impl AssetStore for CoolStore {
    async fn record_assets(&self, points: &[AssetPoint]) -> Result<u64> {
        // Everything is checked before anything is sent; within one call the last point of a
        // key wins, as a later call's would.
        let mut latest = std::collections::BTreeMap::new();
        for p in points {
            non_negative_money("asset", p.total)?;
            latest.insert((p.account.as_str(), p.date), p.total);
        }
        if latest.is_empty() {
            return Ok(0);
        }
        let ver = next_version();
        self.request(async {
            let mut insert = self.in_database().insert::<AssetRow<'_>>("assets").await?;
            for ((account, date), total) in &latest {
                insert
                    .write(&AssetRow {
                        account,
                        date: date.days_since_epoch(),
                        total: total.to_string(),
                        ver,
                    })
                    .await?;
            }
            insert.end().await
        })
        .await?;
        Ok(points.len() as u64)
    }

    async fn assets(&self, account: &AccountId, dates: Option<DateRange>) -> Result<Vec<AssetPoint>> {
        let db = &self.config().database;
        // Dates travel as ISO text, which `toDate` reads the same way on every server version.
        let mut q = self.server().query(&format!(
            "SELECT date, total FROM {db}.assets FINAL WHERE account = ?{} ORDER BY date",
            if dates.is_some() { " AND date >= toDate(?) AND date <= toDate(?)" } else { "" }
        ));
        q = q.bind(account.as_str());
        if let Some(r) = dates {
            q = q.bind(r.start.to_string()).bind(r.end.to_string());
        }
        let rows = self.request(q.fetch_all::<AssetOut>()).await?;
        rows.into_iter()
            .map(|r| {
                let at = format!("clickhouse:{db}.assets[{account}]");
                let date = TradeDate::from_days_since_epoch(r.date)
                    .map_err(|e| StoreError::corrupt(&at, None, e.to_string()))?;
                let total: Money = r.total.parse().map_err(|_| {
                    StoreError::corrupt(&at, None, format!("total {:?} is not a number", r.total))
                })?;
                Ok(AssetPoint { account: account.clone(), date, total })
            })
            .collect()
    }
}
