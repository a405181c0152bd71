//! The model's store traits on [`Store`], routed as the module documentation's table says,
//! and [`SourcedReads`], the same reads telling which tier answered.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tierstore_cool::CoolStore;
use tierstore_hot::HotStore;
use tierstore_legacy::LegacyStore;
use tierstore_model::{
    Account, AccountId, AccountPositions, AccountStatus, AccountStore, AccountUpdate, AssetPoint, AssetStore,
    Binding, DateRange, HeldDays, IncrementOutcome, Kline, KlineBatch, KlineRange, KlineStore, NewAccount,
    NewStrategy, NewUser, ParamEvent, ParamVersion, Params, Period, Permission, Position, PositionStore,
    Price, Result, Role, Secret, Session, StockCode, StorageMode, StoreError, Strategy, StrategyId,
    StrategyStatus, StrategyStore, StrategyUpdate, Trade, TradeId, TradeQuery, TradeStore, TradeSummary,
    User, UserStatus, UserStore, Username,
};
use tierstore_warm::WarmStore;

use super::secondary::Secondary;
use super::{Inner, Sourced, Store};
use crate::tier_write::{TierWrite, WriteTargets};

/// Reads that say which tier answered: [`Store::sourced`].
#[derive(Clone, Copy)]
pub struct SourcedReads<'a>(&'a Inner);

impl Store {
    /// The reads of this store, each answer with the tier it came from (in db_first, a
    /// database that did not answer in time shows as [`tierstore_model::Tier::Legacy`]).
    pub fn sourced(&self) -> SourcedReads<'_> {
        SourcedReads(&self.inner)
    }
}

impl SourcedReads<'_> {
    /// [`PositionStore::position`].
    pub async fn position(&self, account: &AccountId, code: &StockCode) -> Result<Sourced<Option<Position>>> {
        let i = self.0;
        i.read(
            i.hot.as_ref(),
            Some(account),
            async |h: &HotStore| h.position(account, code).await,
            async |l| l.position(account, code).await,
        )
        .await
    }

    /// [`PositionStore::account_positions`].
    pub async fn account_positions(&self, account: &AccountId) -> Result<Sourced<AccountPositions>> {
        let i = self.0;
        i.read(
            i.hot.as_ref(),
            Some(account),
            async |h: &HotStore| h.account_positions(account).await,
            async |l| l.account_positions(account).await,
        )
        .await
    }

    /// [`TradeStore::trades`].
    pub async fn trades(&self, query: &TradeQuery) -> Result<Sourced<Vec<Trade>>> {
        let i = self.0;
        i.read(
            i.cool.as_ref(),
            None,
            async |c: &CoolStore| c.trades(query).await,
            async |l| l.trades(query).await,
        )
        .await
    }

    /// [`TradeStore::summarise_trades`].
    pub async fn summarise_trades(
        &self,
        query: &TradeQuery,
        period: Period,
    ) -> Result<Sourced<Vec<TradeSummary>>> {
        let i = self.0;
        i.read(
            i.cool.as_ref(),
            None,
            async |c: &CoolStore| c.summarise_trades(query, period).await,
            async |l| l.summarise_trades(query, period).await,
        )
        .await
    }

    /// [`KlineStore::klines`].
    pub async fn klines(&self, code: &StockCode, range: KlineRange) -> Result<Sourced<Vec<Kline>>> {
        let i = self.0;
        i.read(
            i.cool.as_ref(),
            None,
            async |c: &CoolStore| c.klines(code, range).await,
            async |l| l.klines(code, range).await,
        )
        .await
    }

    /// [`KlineStore::klines_of`].
    pub async fn klines_of(
        &self,
        codes: &[StockCode],
        range: KlineRange,
    ) -> Result<Sourced<BTreeMap<StockCode, Vec<Kline>>>> {
        let i = self.0;
        i.read(
            i.cool.as_ref(),
            None,
            async |c: &CoolStore| c.klines_of(codes, range).await,
            async |l| l.klines_of(codes, range).await,
        )
        .await
    }

    /// [`KlineStore::kline_codes`].
    pub async fn kline_codes(&self) -> Result<Sourced<Vec<StockCode>>> {
        let i = self.0;
        i.read(
            i.cool.as_ref(),
            None,
            async |c: &CoolStore| c.kline_codes().await,
            async |l| l.kline_codes().await,
        )
        .await
    }

    /// [`AssetStore::assets`].
    pub async fn assets(
        &self,
        account: &AccountId,
        dates: Option<DateRange>,
    ) -> Result<Sourced<Vec<AssetPoint>>> {
        let i = self.0;
        i.read(
            i.cool.as_ref(),
            None,
            async |c: &CoolStore| c.assets(account, dates).await,
            async |l| l.assets(account, dates).await,
        )
        .await
    }
}

impl Inner {
    /// A position write: the files, then Redis (or its outbox), under the account's lock.
    async fn position_write<R>(
        &self,
        account: &AccountId,
        write: impl FnOnce() -> TierWrite,
        files: impl AsyncFnOnce(&LegacyStore) -> Result<R>,
    ) -> Result<R> {
        let _guard = self.lock_account(account).await;
        let out = files(&self.legacy).await?;
        if let Some(hot) = self.hot.as_ref().filter(|_| self.writes_databases()) {
            let sent = self
                .write_secondary(hot, write(), async |h: &HotStore, w: &TierWrite| {
                    w.apply(&WriteTargets { positions: Some(h), ..WriteTargets::default() }).await
                })
                .await;
            if let Err(e) = sent {
                // The outbox did not take it: rebuild the account from the files (which hold
                // it) before Redis serves it again.
                hot.heal([account]);
                return Err(e);
            }
        }
        Ok(out)
    }

    /// A trade append's ClickHouse write after the journal took it (numbered): pushed, and
    /// sent by the cool tier's sender (`recovery`). If the outbox cannot take it, ClickHouse
    /// is out of service until it has caught up with the files (which hold it), and the error
    /// says the files have it, so a caller does not write it twice.
    async fn trades_write(&self, write: impl FnOnce() -> TierWrite) -> Result<()> {
        let Some(cool) = self.cool.as_ref().filter(|_| self.writes_databases()) else { return Ok(()) };
        let pushed = cool.enqueue(&write()).await;
        cool.wake.notify_one();
        pushed.map(drop).map_err(|e| {
            if let Err(marker) = self.need_catch_up() {
                tracing::error!(error = %marker, "cannot record that ClickHouse must catch up");
            }
            self.catch_up_cool();
            StoreError::unavailable(
                tierstore_model::Tier::Cool,
                "outbox",
                "",
                format!("the files took the write but the outbox did not ({e}); do not repeat it: ClickHouse will catch up with the files"),
            )
        })
    }

    /// A bar or asset-point write: the outbox first, then the files, then (by the cool tier's
    /// sender) ClickHouse. A
    /// process killed anywhere in between leaves the record, and its replay sends the keys as
    /// the files hold them then (`recovery`), so ClickHouse ends as the files whether or not
    /// their write happened, or only some of it.
    async fn keyed_write<R>(
        &self,
        write: impl FnOnce() -> TierWrite,
        files: impl AsyncFnOnce(&LegacyStore) -> Result<R>,
    ) -> Result<R> {
        let Some(cool) = self.cool.as_ref().filter(|_| self.writes_databases()) else {
            return files(&self.legacy).await;
        };
        cool.enqueue(&write()).await?;
        let out = files(&self.legacy).await;
        // Sent by the cool tier's sender, which reads the keys back from the files — also
        // when their write failed, which may have changed some files and not others.
        cool.wake.notify_one();
        out
    }

    /// The cool store, when db_first reads go to it, it is connected and serving and has
    /// every write pushed so far (for streams, which neither wait nor fall back half way).
    fn cool_for_streams(&self) -> Option<&CoolStore> {
        let cool: &Secondary<CoolStore> = self.cool.as_ref()?;
        (self.mode() == StorageMode::DbFirst && cool.serving() && cool.all_arrived())
            .then(|| cool.store.connected())
            .flatten()
    }

    async fn warm(&self) -> Result<&WarmStore> {
        match &self.warm {
            Some(w) => w.get().await,
            None => Err(StoreError::invalid(
                "warm",
                "(not configured)",
                "accounts, strategies, parameters and users live only in the warm tier, in every mode: \
                 add a [warm] section with a url, or set TIERSTORE_WARM_URL",
            )),
        }
    }
}

impl Store {
    /// Runs a write to its end in a task of its own: a caller that stops waiting (a timeout,
    /// a `select!`) cannot cut it between its file write and its outbox push, nor release the
    /// lock it holds while its file write still runs.
    async fn detached<R, F>(&self, write: impl FnOnce(Arc<Inner>) -> F) -> Result<R>
    where
        F: Future<Output = Result<R>> + Send + 'static,
        R: Send + 'static,
    {
        tokio::spawn(write(Arc::clone(&self.inner)))
            .await
            .map_err(|e| StoreError::invalid("write", "task", format!("the write's task failed: {e}")))?
    }
}

#[async_trait]
impl PositionStore for Store {
    async fn position(&self, account: &AccountId, code: &StockCode) -> Result<Option<Position>> {
        Ok(self.sourced().position(account, code).await?.value)
    }

    async fn account_positions(&self, account: &AccountId) -> Result<AccountPositions> {
        Ok(self.sourced().account_positions(account).await?.value)
    }

    async fn accounts(&self) -> Result<Vec<AccountId>> {
        self.inner.legacy.accounts().await
    }

    async fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32> {
        let (a, codes) = (account.clone(), codes.to_vec());
        self.detached(move |i| async move {
            let write = || TierWrite::OpenPositions { account: a.clone(), codes: codes.clone() };
            i.position_write(&a, write, async |l| l.open_positions(&a, &codes).await).await
        })
        .await
    }

    async fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()> {
        let (a, c) = (account.clone(), *code);
        self.detached(move |i| async move {
            let write = || TierWrite::SetHeldDays { account: a.clone(), code: c, days };
            i.position_write(&a, write, async |l| l.set_held_days(&a, &c, days).await).await
        })
        .await
    }

    async fn close_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let (a, c) = (account.clone(), *code);
        self.detached(move |i| async move {
            let write = || TierWrite::ClosePosition { account: a.clone(), code: c };
            i.position_write(&a, write, async |l| l.close_position(&a, &c).await).await
        })
        .await
    }

    async fn remove_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let (a, c) = (account.clone(), *code);
        self.detached(move |i| async move {
            let write = || TierWrite::RemovePosition { account: a.clone(), code: c };
            i.position_write(&a, write, async |l| l.remove_position(&a, &c).await).await
        })
        .await
    }

    async fn raise_max_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let (a, c) = (account.clone(), *code);
        self.detached(move |i| async move {
            let write = || TierWrite::RaiseMaxPrice { account: a.clone(), code: c, price };
            i.position_write(&a, write, async |l| l.raise_max_price(&a, &c, price).await).await
        })
        .await
    }

    async fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let (a, c) = (account.clone(), *code);
        self.detached(move |i| async move {
            let write = || TierWrite::LowerMinPrice { account: a.clone(), code: c, price };
            i.position_write(&a, write, async |l| l.lower_min_price(&a, &c, price).await).await
        })
        .await
    }

    async fn increment_held_days(
        &self,
        account: &AccountId,
        today: tierstore_model::TradeDate,
    ) -> Result<IncrementOutcome> {
        let a = account.clone();
        self.detached(move |i| async move {
            let write = || TierWrite::IncrementHeldDays { account: a.clone(), today };
            i.position_write(&a, write, async |l| l.increment_held_days(&a, today).await).await
        })
        .await
    }

    async fn replace_account(&self, account: &AccountId, state: &AccountPositions) -> Result<()> {
        let (a, state) = (account.clone(), state.clone());
        self.detached(move |i| async move {
            let write = || TierWrite::ReplaceAccount { account: a.clone(), state: state.clone() };
            i.position_write(&a, write, async |l| l.replace_account(&a, &state).await).await
        })
        .await
    }
}

#[async_trait]
impl TradeStore for Store {
    /// The journal first, in every mode (its append numbers the rows under the journal's
    /// lock), then the outbox with those numbers; ClickHouse's sender sends them.
    async fn append_trades(&self, trades: &[Trade]) -> Result<Vec<TradeId>> {
        let trades = trades.to_vec();
        self.detached(move |i| async move {
            // Under the accounts' write locks, so that only the last append of an account can
            // be between its journal and the outbox when the process dies.
            let accounts = trades.iter().map(|t| t.account.clone()).collect();
            let _guards = i.lock_accounts(&accounts).await;
            let ids = i.legacy.append_trades(&trades).await?;
            if !trades.is_empty() {
                let numbered = || TierWrite::Trades {
                    trades: trades
                        .iter()
                        .zip(&ids)
                        .map(|(t, id)| Trade { seq: Some(id.seq), ..t.clone() })
                        .collect(),
                };
                i.trades_write(numbered).await?;
            }
            Ok(ids)
        })
        .await
    }

    async fn trades(&self, query: &TradeQuery) -> Result<Vec<Trade>> {
        Ok(self.sourced().trades(query).await?.value)
    }

    fn stream_trades<'a>(&'a self, query: &'a TradeQuery) -> BoxStream<'a, Result<Vec<Trade>>> {
        match self.inner.cool_for_streams() {
            Some(cool) => cool.stream_trades(query),
            None => self.inner.legacy.stream_trades(query),
        }
    }

    async fn summarise_trades(&self, query: &TradeQuery, period: Period) -> Result<Vec<TradeSummary>> {
        Ok(self.sourced().summarise_trades(query, period).await?.value)
    }
}

#[async_trait]
impl KlineStore for Store {
    async fn write_klines(&self, batch: &[Kline]) -> Result<u64> {
        let batch = batch.to_vec();
        self.detached(move |i| async move {
            // One at a time, so the files, the outbox and ClickHouse see a bar's writes in one
            // order.
            let _guard = i.kline_lock.lock().await;
            if batch.is_empty() {
                return i.legacy.write_klines(&batch).await;
            }
            for bar in &batch {
                bar.check_shape()?;
            }
            let write = || TierWrite::Klines { bars: batch.clone() };
            i.keyed_write(write, async |l| l.write_klines(&batch).await).await
        })
        .await
    }

    async fn klines(&self, code: &StockCode, range: KlineRange) -> Result<Vec<Kline>> {
        Ok(self.sourced().klines(code, range).await?.value)
    }

    async fn klines_of(
        &self,
        codes: &[StockCode],
        range: KlineRange,
    ) -> Result<BTreeMap<StockCode, Vec<Kline>>> {
        Ok(self.sourced().klines_of(codes, range).await?.value)
    }

    fn stream_klines<'a>(
        &'a self,
        codes: Option<&'a [StockCode]>,
        dates: Option<DateRange>,
    ) -> BoxStream<'a, Result<KlineBatch>> {
        match self.inner.cool_for_streams() {
            Some(cool) => cool.stream_klines(codes, dates),
            None => self.inner.legacy.stream_klines(codes, dates),
        }
    }

    async fn kline_codes(&self) -> Result<Vec<StockCode>> {
        Ok(self.sourced().kline_codes().await?.value)
    }
}

#[async_trait]
impl AssetStore for Store {
    async fn record_assets(&self, points: &[AssetPoint]) -> Result<u64> {
        let points = points.to_vec();
        self.detached(move |i| async move {
            // Checked before anything is queued: an account this store does not write, or a
            // negative total.
            for p in &points {
                if !i.accounts.contains(&p.account) {
                    return Err(StoreError::not_found("account", &p.account));
                }
                tierstore_model::quantity::non_negative_money("asset", p.total)?;
            }
            // Under the accounts' write locks, so the files, the outbox and ClickHouse see a
            // point's writes in one order.
            let accounts = points.iter().map(|p| p.account.clone()).collect();
            let _guards = i.lock_accounts(&accounts).await;
            if points.is_empty() {
                return i.legacy.record_assets(&points).await;
            }
            let write = || TierWrite::Assets { points: points.clone() };
            i.keyed_write(write, async |l| l.record_assets(&points).await).await
        })
        .await
    }

    async fn assets(&self, account: &AccountId, dates: Option<DateRange>) -> Result<Vec<AssetPoint>> {
        Ok(self.sourced().assets(account, dates).await?.value)
    }
}

#[async_trait]
impl AccountStore for Store {
    async fn create_account(&self, new: &NewAccount) -> Result<Account> {
        self.inner.warm().await?.create_account(new).await
    }
    async fn account(&self, id: &AccountId) -> Result<Account> {
        self.inner.warm().await?.account(id).await
    }
    async fn update_account(&self, id: &AccountId, update: &AccountUpdate) -> Result<Account> {
        self.inner.warm().await?.update_account(id, update).await
    }
    async fn set_account_status(&self, id: &AccountId, status: AccountStatus) -> Result<Account> {
        self.inner.warm().await?.set_account_status(id, status).await
    }
    async fn list_accounts(&self, status: Option<AccountStatus>) -> Result<Vec<Account>> {
        self.inner.warm().await?.list_accounts(status).await
    }
}

#[async_trait]
impl StrategyStore for Store {
    async fn create_strategy(&self, new: &NewStrategy) -> Result<Strategy> {
        self.inner.warm().await?.create_strategy(new).await
    }
    async fn strategy(&self, id: &StrategyId) -> Result<Strategy> {
        self.inner.warm().await?.strategy(id).await
    }
    async fn update_strategy(&self, id: &StrategyId, update: &StrategyUpdate) -> Result<Strategy> {
        self.inner.warm().await?.update_strategy(id, update).await
    }
    async fn set_strategy_status(&self, id: &StrategyId, status: StrategyStatus) -> Result<Strategy> {
        self.inner.warm().await?.set_strategy_status(id, status).await
    }
    async fn list_strategies(&self, status: Option<StrategyStatus>) -> Result<Vec<Strategy>> {
        self.inner.warm().await?.list_strategies(status).await
    }
    async fn bind(&self, binding: &Binding) -> Result<Binding> {
        self.inner.warm().await?.bind(binding).await
    }
    async fn unbind(&self, account: &AccountId, strategy: &StrategyId) -> Result<()> {
        self.inner.warm().await?.unbind(account, strategy).await
    }
    async fn bindings_of_account(&self, account: &AccountId) -> Result<Vec<Binding>> {
        self.inner.warm().await?.bindings_of_account(account).await
    }
    async fn bindings_of_strategy(&self, strategy: &StrategyId) -> Result<Vec<Binding>> {
        self.inner.warm().await?.bindings_of_strategy(strategy).await
    }
    async fn save_params(
        &self,
        strategy: &StrategyId,
        params: &Params,
        remark: &str,
    ) -> Result<ParamVersion> {
        self.inner.warm().await?.save_params(strategy, params, remark).await
    }
    async fn params(&self, strategy: &StrategyId, version: Option<u32>) -> Result<ParamVersion> {
        self.inner.warm().await?.params(strategy, version).await
    }
    async fn param_history(&self, strategy: &StrategyId) -> Result<Vec<ParamVersion>> {
        self.inner.warm().await?.param_history(strategy).await
    }
    async fn activate_params(
        &self,
        strategy: &StrategyId,
        version: u32,
        remark: &str,
    ) -> Result<ParamVersion> {
        self.inner.warm().await?.activate_params(strategy, version, remark).await
    }
    async fn param_events(&self, strategy: &StrategyId) -> Result<Vec<ParamEvent>> {
        self.inner.warm().await?.param_events(strategy).await
    }
}

#[async_trait]
impl UserStore for Store {
    async fn register(&self, new: &NewUser) -> Result<User> {
        self.inner.warm().await?.register(new).await
    }
    async fn user(&self, name: &Username) -> Result<User> {
        self.inner.warm().await?.user(name).await
    }
    async fn list_users(&self) -> Result<Vec<User>> {
        self.inner.warm().await?.list_users().await
    }
    async fn login(&self, name: &Username, password: &Secret<String>, ip: Option<IpAddr>) -> Result<Session> {
        self.inner.warm().await?.login(name, password, ip).await
    }
    async fn logout(&self, token: &Secret<String>) -> Result<()> {
        self.inner.warm().await?.logout(token).await
    }
    async fn session_user(&self, token: &Secret<String>) -> Result<User> {
        self.inner.warm().await?.session_user(token).await
    }
    async fn set_user_status(&self, name: &Username, status: UserStatus) -> Result<User> {
        self.inner.warm().await?.set_user_status(name, status).await
    }
    async fn set_roles(&self, name: &Username, roles: &[Role]) -> Result<User> {
        self.inner.warm().await?.set_roles(name, roles).await
    }
    async fn permissions(&self, name: &Username) -> Result<Vec<Permission>> {
        self.inner.warm().await?.permissions(name).await
    }
    async fn has_permission(&self, name: &Username, wanted: &Permission) -> Result<bool> {
        self.inner.warm().await?.has_permission(name, wanted).await
    }
}
