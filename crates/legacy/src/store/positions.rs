//! `PositionStore` on `held_days.json`, `max_price.json` and `min_price.json`: each call loads
//! the three documents (a writer under the directory lock), applies the operation and
//! atomically rewrites the files that changed.

use std::path::Path;

use async_trait::async_trait;
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, IncrementOutcome, Position, PositionStore, Price, Result,
    StockCode, TradeDate,
};

use super::{LegacyStore, blocking};
use crate::config::LegacyConfig;
use crate::format::positions::{HELD_DAYS, JsonDoc, MAX_PRICE, MIN_PRICE, PositionDocs};
use crate::fsio::{self, DirLock};

/// Reads the three files of `dir`; a missing file is an empty one. Any malformed entry is an
/// error naming file and line.
pub(crate) fn load(dir: &Path, config: &LegacyConfig) -> Result<PositionDocs> {
    let eol = config.platform.text_eol();
    let load = |name: &str| -> Result<JsonDoc> {
        let path = dir.join(name);
        Ok(fsio::read_parsed(&path, |b| JsonDoc::parse(&path, b))?
            .unwrap_or_else(|| JsonDoc::empty(path, eol)))
    };
    PositionDocs::new(load(HELD_DAYS)?, load(MAX_PRICE)?, load(MIN_PRICE)?, config.held_days_format)
}

/// Writes the documents that changed; all are rendered before the first is written.
pub(crate) fn save(docs: &PositionDocs) -> Result<()> {
    for (path, bytes) in docs.changed_files() {
        fsio::atomic_write(path, &bytes)?;
    }
    Ok(())
}

impl LegacyStore {
    async fn positions<T: Send + 'static>(
        &self,
        account: &AccountId,
        write: bool,
        f: impl FnOnce(&mut PositionDocs) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let dir = self.account_dir(account)?;
        let config = self.config.clone();
        blocking(move || {
            let _lock = if write { Some(DirLock::acquire(&dir)?) } else { None };
            let mut docs = load(&dir, &config)?;
            let out = f(&mut docs)?;
            if write {
                save(&docs)?;
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl PositionStore for LegacyStore {
    async fn position(&self, account: &AccountId, code: &StockCode) -> Result<Option<Position>> {
        let code = *code;
        let p = self.positions(account, false, move |d| d.position(&code)).await?;
        Ok((p != Position::default()).then_some(p))
    }

    async fn account_positions(&self, account: &AccountId) -> Result<AccountPositions> {
        self.positions(account, false, |d| d.snapshot()).await
    }

    async fn accounts(&self) -> Result<Vec<AccountId>> {
        Ok(self.config.accounts.keys().cloned().collect())
    }

    async fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32> {
        let codes = codes.to_vec();
        self.positions(account, true, move |d| d.open(&codes)).await
    }

    async fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()> {
        let code = *code;
        self.positions(account, true, move |d| {
            d.set_held_days(&code, days);
            Ok(())
        })
        .await
    }

    async fn close_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let code = *code;
        self.positions(account, true, move |d| d.close(&code)).await
    }

    async fn remove_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let code = *code;
        self.positions(account, true, move |d| {
            d.remove(&code);
            Ok(())
        })
        .await
    }

    async fn raise_max_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let code = *code;
        self.positions(account, true, move |d| d.raise_max(&code, price)).await
    }

    async fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let code = *code;
        self.positions(account, true, move |d| d.lower_min(&code, price)).await
    }

    async fn increment_held_days(&self, account: &AccountId, today: TradeDate) -> Result<IncrementOutcome> {
        self.positions(account, true, move |d| d.increment(today)).await
    }

    async fn replace_account(&self, account: &AccountId, state: &AccountPositions) -> Result<()> {
        let state = state.clone();
        self.positions(account, true, move |d| d.replace(&state)).await
    }
}
