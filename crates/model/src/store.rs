//! The storage contracts: one trait per store role.
//!
//! Every tier implements the roles it can hold (the legacy files hold positions, trades,
//! assets and klines; Redis holds positions; SeaORM holds accounts, strategies and users;
//! ClickHouse holds trades, klines and assets). The composing layer routes each role to
//! tiers by storage mode. The shared contract suites in `tierstore-contract` pin down the
//! behaviour every implementation of a role must have.
//!
//! Bulk is first-class: a whole account's positions, klines of many codes, and row streams
//! are single calls, so a tier can answer them in one round trip or one scan rather than a
//! loop of single calls. Every write validates its input before touching storage, and a
//! failed call leaves stored data as it was.

use std::collections::BTreeMap;
use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use crate::account::{Account, AccountStatus, AccountUpdate, NewAccount};
use crate::asset::AssetPoint;
use crate::code::StockCode;
use crate::date::{DateRange, TradeDate};
use crate::error::Result;
use crate::ident::{AccountId, StrategyId};
use crate::kline::{Kline, KlineBatch, KlineRange};
use crate::position::{AccountPositions, HeldDays, IncrementOutcome, Position};
use crate::quantity::Price;
use crate::strategy::{Binding, NewStrategy, ParamVersion, Params, Strategy, StrategyStatus, StrategyUpdate};
use crate::trade::{Period, Trade, TradeQuery, TradeSummary};
use crate::user::{NewUser, Permission, Role, User, UserStatus, Username};

/// Per-account position state: held days, max and min price, the once-a-day increment.
#[async_trait]
pub trait PositionStore: Send + Sync {
    /// One stock's state; `None` when the account has nothing stored for it.
    async fn position(&self, account: &AccountId, code: &StockCode) -> Result<Option<Position>>;

    /// The whole account, including the date of the last increment, in one round trip.
    async fn account_positions(&self, account: &AccountId) -> Result<AccountPositions>;

    /// Accounts that have any position state stored.
    async fn accounts(&self) -> Result<Vec<AccountId>>;

    /// Opens positions at day 0. Codes already open keep their count; closed ones reopen at 0.
    /// Returns how many were opened.
    async fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32>;

    /// Sets the held-days entry of one stock.
    async fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()>;

    /// Marks a position closed; the increment skips it. Tiers whose format deletes instead
    /// (the legacy flat file) delete the held-days entry.
    async fn close_position(&self, account: &AccountId, code: &StockCode) -> Result<()>;

    /// Removes everything stored for one stock (held days, max and min price).
    async fn remove_position(&self, account: &AccountId, code: &StockCode) -> Result<()>;

    /// Raises the max price to `price` (rounded to 3 decimals) if it is higher; returns the
    /// stored max afterwards. Concurrent callers never lose the highest value.
    async fn raise_max_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price>;

    /// Lowers the min price to `price` (rounded to 3 decimals) if it is lower; returns the
    /// stored min afterwards.
    async fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price>;

    /// "All held days +1" for market date `today`: advances every open position once per
    /// date, atomically, even under concurrent callers. The caller supplies the market date
    /// (from the configured timezone), never the host's date.
    async fn increment_held_days(&self, account: &AccountId, today: TradeDate) -> Result<IncrementOutcome>;

    /// Replaces the account's whole state (import, rollback, rehydration) atomically.
    async fn replace_account(&self, account: &AccountId, state: &AccountPositions) -> Result<()>;
}

/// The order and fill journal.
#[async_trait]
pub trait TradeStore: Send + Sync {
    /// Appends rows; returns how many were stored.
    async fn append_trades(&self, trades: &[Trade]) -> Result<u64>;

    /// Rows matching `query`, ordered by time.
    async fn trades(&self, query: &TradeQuery) -> Result<Vec<Trade>>;

    /// Rows matching `query` as a stream of chunks, in constant memory.
    fn stream_trades<'a>(&'a self, query: &'a TradeQuery) -> BoxStream<'a, Result<Vec<Trade>>>;

    /// Counts and amounts per account and period.
    async fn summarise_trades(&self, query: &TradeQuery, period: Period) -> Result<Vec<TradeSummary>>;
}

/// Daily bars.
#[async_trait]
pub trait KlineStore: Send + Sync {
    /// Writes bars of any codes and dates; a bar for an existing (code, date) replaces it, so
    /// writing the same batch twice leaves the data as after once. Returns rows written.
    async fn write_klines(&self, batch: &[Kline]) -> Result<u64>;

    /// Bars of one stock, in date order.
    async fn klines(&self, code: &StockCode, range: KlineRange) -> Result<Vec<Kline>>;

    /// Bars of many stocks in one call; codes without data map to an empty list.
    async fn klines_of(
        &self,
        codes: &[StockCode],
        range: KlineRange,
    ) -> Result<BTreeMap<StockCode, Vec<Kline>>>;

    /// Every bar (optionally of some codes and dates) as a stream of batches, in constant
    /// memory; ordered by code, then date.
    fn stream_klines<'a>(
        &'a self,
        codes: Option<&'a [StockCode]>,
        dates: Option<DateRange>,
    ) -> BoxStream<'a, Result<KlineBatch>>;

    /// Codes that have bars.
    async fn kline_codes(&self) -> Result<Vec<StockCode>>;
}

/// The daily total-asset curve.
#[async_trait]
pub trait AssetStore: Send + Sync {
    /// Records points; a point for an existing (account, date) replaces it. Returns rows written.
    async fn record_assets(&self, points: &[AssetPoint]) -> Result<u64>;

    /// Points of one account, in date order.
    async fn assets(&self, account: &AccountId, dates: Option<DateRange>) -> Result<Vec<AssetPoint>>;
}

/// Accounts.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an account; a duplicate id is a conflict.
    async fn create_account(&self, new: &NewAccount) -> Result<Account>;

    /// One account, or not found.
    async fn account(&self, id: &AccountId) -> Result<Account>;

    /// Applies a partial update; returns the account afterwards.
    async fn update_account(&self, id: &AccountId, update: &AccountUpdate) -> Result<Account>;

    /// Accounts, optionally only those in one state, ordered by id.
    async fn list_accounts(&self, status: Option<AccountStatus>) -> Result<Vec<Account>>;
}

/// Strategies, their bindings to accounts and their versioned parameters.
#[async_trait]
pub trait StrategyStore: Send + Sync {
    /// Creates a strategy in `testing`; a duplicate code or name is a conflict.
    async fn create_strategy(&self, new: &NewStrategy) -> Result<Strategy>;

    /// One strategy, or not found.
    async fn strategy(&self, id: &StrategyId) -> Result<Strategy>;

    /// Applies a partial update; returns the strategy afterwards.
    async fn update_strategy(&self, id: &StrategyId, update: &StrategyUpdate) -> Result<Strategy>;

    /// Strategies, optionally only those in one state, ordered by code.
    async fn list_strategies(&self, status: Option<StrategyStatus>) -> Result<Vec<Strategy>>;

    /// Binds a strategy to an account, or updates the binding's capital and risk limit.
    async fn bind(&self, binding: &Binding) -> Result<()>;

    /// Removes a binding; not found if there is none.
    async fn unbind(&self, account: &AccountId, strategy: &StrategyId) -> Result<()>;

    /// Strategies bound to an account.
    async fn bindings_of_account(&self, account: &AccountId) -> Result<Vec<Binding>>;

    /// Accounts a strategy is bound to.
    async fn bindings_of_strategy(&self, strategy: &StrategyId) -> Result<Vec<Binding>>;

    /// Saves a new parameter version (n+1), makes it active and older ones history.
    async fn save_params(&self, strategy: &StrategyId, params: &Params, remark: &str)
    -> Result<ParamVersion>;

    /// One version, or the active one when `version` is `None`.
    async fn params(&self, strategy: &StrategyId, version: Option<u32>) -> Result<ParamVersion>;

    /// Every version, oldest first.
    async fn param_history(&self, strategy: &StrategyId) -> Result<Vec<ParamVersion>>;
}

/// Users, roles and permissions.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Registers a user; a duplicate username or e-mail is a conflict.
    async fn create_user(&self, new: &NewUser) -> Result<User>;

    /// One user, or not found.
    async fn user(&self, name: &Username) -> Result<User>;

    /// Changes a user's state.
    async fn set_user_status(&self, name: &Username, status: UserStatus) -> Result<()>;

    /// Replaces a user's roles.
    async fn set_roles(&self, name: &Username, roles: &[Role]) -> Result<()>;

    /// Records a successful login.
    async fn record_login(&self, name: &Username, at: DateTime<Utc>, ip: Option<IpAddr>) -> Result<()>;

    /// Every permission the user's roles grant.
    async fn permissions(&self, name: &Username) -> Result<Vec<Permission>>;
}
