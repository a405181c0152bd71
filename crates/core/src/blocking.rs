//! The store for strategy code that is not async: every call blocks until it is done.
//!
//! A [`Store`] here owns a small Tokio runtime (two worker threads) on which the async
//! [`crate::Store`] and its background tasks (phase polling, recovery) run. Calls made from
//! inside an async runtime are refused with an error, since blocking there would stall it:
//! async code uses [`crate::Store`] directly.

use std::collections::BTreeMap;

use tierstore_model::{
    Account, AccountId, AccountPositions, AccountStore, AssetPoint, AssetStore, DateRange, HeldDays,
    IncrementOutcome, Kline, KlineRange, KlineStore, ParamVersion, Params, Position, PositionStore, Price,
    Result, StockCode, StorageMode, StoreError, StrategyId, StrategyStore, Trade, TradeDate, TradeId,
    TradeQuery, TradeStore,
};

use crate::{Config, Sourced};

/// [`crate::Store`], blocking.
pub struct Store {
    inner: crate::Store,
    // Taken when the store is dropped, to shut down without waiting (which would panic
    // inside another runtime).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Store").field("mode", &self.inner.mode()).finish_non_exhaustive()
    }
}

impl Store {
    /// [`crate::Store::open`] on a runtime of its own.
    pub fn open(config: &Config) -> Result<Store> {
        refuse_inside_a_runtime()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tierstore")
            .enable_all()
            .build()
            .map_err(|e| StoreError::invalid("runtime", "tokio", format!("cannot start: {e}")))?;
        let inner = runtime.block_on(crate::Store::open(config))?;
        Ok(Store { inner, runtime: Some(runtime) })
    }

    /// [`crate::Store::close`]: closes after the writes taken reached their tiers, waiting up
    /// to `within`.
    pub fn close(mut self, within: std::time::Duration) -> Result<()> {
        refuse_inside_a_runtime()?;
        let Some(rt) = self.runtime.take() else { return Ok(()) };
        let closing = self.inner.clone();
        drop(self); // the store's last other handle: `close` below drops the last one
        let result = rt.block_on(closing.close(within));
        rt.shutdown_background();
        result
    }

    /// The async store underneath (to hand to async code).
    pub fn as_async(&self) -> &crate::Store {
        &self.inner
    }

    fn run<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        refuse_inside_a_runtime()?;
        match &self.runtime {
            Some(rt) => rt.block_on(call),
            None => Err(StoreError::invalid("tierstore::blocking", "closed", "the store was dropped")),
        }
    }

    /// [`crate::Store::mode`].
    pub fn mode(&self) -> StorageMode {
        self.inner.mode()
    }

    /// [`crate::Store::market_today`].
    pub fn market_today(&self) -> Result<TradeDate> {
        self.inner.market_today()
    }

    /// [`PositionStore::account_positions`], with the tier that answered.
    pub fn account_positions(&self, account: &AccountId) -> Result<Sourced<AccountPositions>> {
        self.run(self.inner.sourced().account_positions(account))
    }

    /// [`PositionStore::position`], with the tier that answered.
    pub fn position(&self, account: &AccountId, code: &StockCode) -> Result<Sourced<Option<Position>>> {
        self.run(self.inner.sourced().position(account, code))
    }

    /// [`PositionStore::open_positions`].
    pub fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32> {
        self.run(self.inner.open_positions(account, codes))
    }

    /// [`PositionStore::set_held_days`].
    pub fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()> {
        self.run(self.inner.set_held_days(account, code, days))
    }

    /// [`PositionStore::close_position`].
    pub fn close_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        self.run(self.inner.close_position(account, code))
    }

    /// [`PositionStore::remove_position`].
    pub fn remove_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        self.run(self.inner.remove_position(account, code))
    }

    /// [`PositionStore::raise_max_price`].
    pub fn raise_max_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        self.run(self.inner.raise_max_price(account, code, price))
    }

    /// [`PositionStore::lower_min_price`].
    pub fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        self.run(self.inner.lower_min_price(account, code, price))
    }

    /// [`crate::Store::increment_held_days_today`]: "all held days +1" for today's market date.
    pub fn increment_held_days_today(&self, account: &AccountId) -> Result<IncrementOutcome> {
        self.run(self.inner.increment_held_days_today(account))
    }

    /// [`TradeStore::append_trades`].
    pub fn append_trades(&self, trades: &[Trade]) -> Result<Vec<TradeId>> {
        self.run(self.inner.append_trades(trades))
    }

    /// [`TradeStore::trades`], with the tier that answered.
    pub fn trades(&self, query: &TradeQuery) -> Result<Sourced<Vec<Trade>>> {
        self.run(self.inner.sourced().trades(query))
    }

    /// [`KlineStore::write_klines`].
    pub fn write_klines(&self, bars: &[Kline]) -> Result<u64> {
        self.run(self.inner.write_klines(bars))
    }

    /// [`KlineStore::klines`], with the tier that answered.
    pub fn klines(&self, code: &StockCode, range: KlineRange) -> Result<Sourced<Vec<Kline>>> {
        self.run(self.inner.sourced().klines(code, range))
    }

    /// [`KlineStore::klines_of`], with the tier that answered.
    pub fn klines_of(
        &self,
        codes: &[StockCode],
        range: KlineRange,
    ) -> Result<Sourced<BTreeMap<StockCode, Vec<Kline>>>> {
        self.run(self.inner.sourced().klines_of(codes, range))
    }

    /// [`AssetStore::record_assets`].
    pub fn record_assets(&self, points: &[AssetPoint]) -> Result<u64> {
        self.run(self.inner.record_assets(points))
    }

    /// [`AssetStore::assets`], with the tier that answered.
    pub fn assets(&self, account: &AccountId, dates: Option<DateRange>) -> Result<Sourced<Vec<AssetPoint>>> {
        self.run(self.inner.sourced().assets(account, dates))
    }

    /// [`AccountStore::account`] (warm tier).
    pub fn account(&self, id: &AccountId) -> Result<Account> {
        self.run(self.inner.account(id))
    }

    /// [`StrategyStore::params`] (warm tier): one version, or the active one.
    pub fn params(&self, strategy: &StrategyId, version: Option<u32>) -> Result<ParamVersion> {
        self.run(self.inner.params(strategy, version))
    }

    /// [`StrategyStore::save_params`] (warm tier).
    pub fn save_params(&self, strategy: &StrategyId, params: &Params, remark: &str) -> Result<ParamVersion> {
        self.run(self.inner.save_params(strategy, params, remark))
    }
}

fn refuse_inside_a_runtime() -> Result<()> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(StoreError::invalid(
            "tierstore::blocking",
            "called inside an async runtime",
            "blocking here would stall the runtime: use tierstore::Store (async) from async code",
        ));
    }
    Ok(())
}
