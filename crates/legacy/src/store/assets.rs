//! `AssetStore` on each account's `assets.csv`: a point for an existing date replaces it in
//! place, a new date goes in date order, and the file keeps its own line endings.

use std::collections::BTreeMap;
use std::path::Path;

use async_trait::async_trait;
use tierstore_model::{AccountId, AssetPoint, AssetStore, DateRange, Result};

use super::{LegacyStore, blocking};
use crate::config::LegacyConfig;
use crate::format::assets::{ASSETS, AssetFile};
use crate::fsio::{self, DirLock};

fn load_assets(dir: &Path, account: &AccountId, config: &LegacyConfig) -> Result<AssetFile> {
    let path = dir.join(ASSETS);
    Ok(fsio::read_parsed(&path, |b| AssetFile::parse(&path, b, account))?
        .unwrap_or_else(|| AssetFile::empty(config.platform.text_eol())))
}

#[async_trait]
impl AssetStore for LegacyStore {
    async fn record_assets(&self, points: &[AssetPoint]) -> Result<u64> {
        let mut by_account: BTreeMap<AccountId, Vec<AssetPoint>> = BTreeMap::new();
        for p in points {
            tierstore_model::quantity::non_negative_money("asset", p.total)?;
            self.account_dir(&p.account)?;
            by_account.entry(p.account.clone()).or_default().push(p.clone());
        }
        let dirs = self.dirs_of(&by_account.keys().cloned().collect::<Vec<_>>())?;
        let config = self.config.clone();
        let n = points.len() as u64;
        blocking(move || {
            let _locks = dirs.iter().map(|(_, d)| DirLock::acquire(d)).collect::<Result<Vec<_>>>()?;
            let mut writes = Vec::new();
            for (account, dir) in &dirs {
                let mut file = load_assets(dir, account, &config)?;
                for p in &by_account[account] {
                    file.upsert(p.clone());
                }
                writes.push((dir.join(ASSETS), file.render()));
            }
            for (path, bytes) in writes {
                fsio::atomic_write(&path, &bytes)?;
            }
            Ok(n)
        })
        .await
    }

    async fn assets(&self, account: &AccountId, dates: Option<DateRange>) -> Result<Vec<AssetPoint>> {
        let dir = self.account_dir(account)?;
        let config = self.config.clone();
        let account = account.clone();
        blocking(move || {
            let mut points: Vec<AssetPoint> = load_assets(&dir, &account, &config)?
                .points
                .into_iter()
                .filter(|p| dates.is_none_or(|r| r.contains(p.date)))
                .collect();
            points.sort_by_key(|p| p.date);
            Ok(points)
        })
        .await
    }
}
