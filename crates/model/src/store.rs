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
use futures::stream::BoxStream;

use crate::account::{Account, AccountStatus, AccountUpdate, NewAccount};
use crate::asset::AssetPoint;
use crate::code::StockCode;
use crate::date::{DateRange, TradeDate};
use crate::error::Result;
use crate::ident::{AccountId, StrategyId};
use crate::kline::{Kline, KlineBatch, KlineRange};
use crate::migration::{Checkpoint, PhaseChange};
use crate::mode::StorageMode;
use crate::position::{AccountPositions, HeldDays, IncrementOutcome, Position};
use crate::quantity::Price;
use crate::secret::Secret;
use crate::strategy::{
    Binding, NewStrategy, ParamEvent, ParamVersion, Params, Strategy, StrategyStatus, StrategyUpdate,
};
use crate::trade::{Period, Trade, TradeId, TradeQuery, TradeSummary};
use crate::user::{NewUser, Permission, Role, Session, User, UserStatus, Username};

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
    /// Stores rows and returns their identities, in input order. A row without a `seq` gets
    /// the next ordinal of its account's journal where the store keeps the journal, and is
    /// refused elsewhere. A row whose identity is already stored is not stored again: the
    /// same row written twice is one trade, two identical rows with different ordinals are
    /// two. The whole batch is checked before anything is written.
    async fn append_trades(&self, trades: &[Trade]) -> Result<Vec<TradeId>>;

    /// Rows matching `query`, in [`Trade::order_key`] order (reversed with `newest_first`),
    /// at most `limit` of them.
    async fn trades(&self, query: &TradeQuery) -> Result<Vec<Trade>>;

    /// Every row matching `query`'s filters as a stream of chunks, in constant memory, in
    /// identity order (account, then journal ordinal) — the order a verify merges two tiers
    /// in. A query with `newest_first` or a `limit` is refused: those are for
    /// [`TradeStore::trades`].
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

/// Accounts. Every write validates before it touches storage and leaves stored data as it
/// was when it fails.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Creates an active account; a duplicate id is a conflict naming the id.
    async fn create_account(&self, new: &NewAccount) -> Result<Account>;

    /// One account, or not found.
    async fn account(&self, id: &AccountId) -> Result<Account>;

    /// Applies a partial update of name and money; returns the account afterwards.
    async fn update_account(&self, id: &AccountId, update: &AccountUpdate) -> Result<Account>;

    /// Moves the account to `status` if [`AccountStatus::check_transition`] allows it.
    async fn set_account_status(&self, id: &AccountId, status: AccountStatus) -> Result<Account>;

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

    /// Applies a partial update of name, version label and description.
    async fn update_strategy(&self, id: &StrategyId, update: &StrategyUpdate) -> Result<Strategy>;

    /// Moves the strategy to `status` if [`StrategyStatus::check_transition`] allows it.
    async fn set_strategy_status(&self, id: &StrategyId, status: StrategyStatus) -> Result<Strategy>;

    /// Strategies, optionally only those in one state, ordered by code.
    async fn list_strategies(&self, status: Option<StrategyStatus>) -> Result<Vec<Strategy>>;

    /// Binds a strategy to an account, or updates the binding's capital and risk limit. The
    /// allocations of all the account's bindings together must not exceed its current capital,
    /// and an inactive account takes no new binding.
    async fn bind(&self, binding: &Binding) -> Result<Binding>;

    /// Removes a binding; not found if there is none.
    async fn unbind(&self, account: &AccountId, strategy: &StrategyId) -> Result<()>;

    /// Strategies bound to an account, ordered by strategy.
    async fn bindings_of_account(&self, account: &AccountId) -> Result<Vec<Binding>>;

    /// Accounts a strategy is bound to, ordered by account.
    async fn bindings_of_strategy(&self, strategy: &StrategyId) -> Result<Vec<Binding>>;

    /// Saves a new parameter version n+1 in one transaction and makes it the only active one.
    /// Concurrent saves get distinct consecutive versions.
    async fn save_params(&self, strategy: &StrategyId, params: &Params, remark: &str)
    -> Result<ParamVersion>;

    /// One version, or the active one when `version` is `None`.
    async fn params(&self, strategy: &StrategyId, version: Option<u32>) -> Result<ParamVersion>;

    /// Every version, oldest first.
    async fn param_history(&self, strategy: &StrategyId) -> Result<Vec<ParamVersion>>;

    /// Makes an existing version the active one again, recorded as a new event.
    async fn activate_params(
        &self,
        strategy: &StrategyId,
        version: u32,
        remark: &str,
    ) -> Result<ParamVersion>;

    /// Every save and activation, oldest first.
    async fn param_events(&self, strategy: &StrategyId) -> Result<Vec<ParamEvent>>;
}

/// Users, roles, permissions and login sessions. The store hashes passwords (argon2id) and
/// keeps only hashes of passwords and session tokens.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Registers an active user; a duplicate username or e-mail is a conflict.
    async fn register(&self, new: &NewUser) -> Result<User>;

    /// One user, or not found.
    async fn user(&self, name: &Username) -> Result<User>;

    /// Every user, ordered by name.
    async fn list_users(&self) -> Result<Vec<User>>;

    /// Checks the password and opens a session. Wrong credentials, an unknown user, a locked
    /// or inactive user are [`crate::StoreError::Denied`]; too many failures in a row lock the
    /// user for a while ([`crate::user::LoginPolicy`]).
    async fn login(&self, name: &Username, password: &Secret<String>, ip: Option<IpAddr>) -> Result<Session>;

    /// Ends a session; an unknown token is not found.
    async fn logout(&self, token: &Secret<String>) -> Result<()>;

    /// The user a live session belongs to; an unknown or expired token is denied.
    async fn session_user(&self, token: &Secret<String>) -> Result<User>;

    /// Sets the user's state: `locked` locks until unlocked, `active` also clears failed
    /// logins and a timed lock, `inactive` switches the user off and ends their sessions.
    async fn set_user_status(&self, name: &Username, status: UserStatus) -> Result<User>;

    /// Replaces a user's roles.
    async fn set_roles(&self, name: &Username, roles: &[Role]) -> Result<User>;

    /// Every permission the user's roles grant, ordered.
    async fn permissions(&self, name: &Username) -> Result<Vec<Permission>>;

    /// Whether the user's roles grant `wanted`. An inactive or locked user holds none.
    async fn has_permission(&self, name: &Username, wanted: &Permission) -> Result<bool>;
}

/// The migration's phase, its log, and the copy checkpoints.
#[async_trait]
pub trait MigrationStateStore: Send + Sync {
    /// The current phase.
    async fn phase(&self) -> Result<StorageMode>;

    /// Moves the phase if the phase table allows it, recording from, to, when, who and note
    /// in the same transaction. Two concurrent moves cannot both start from the same phase.
    async fn move_phase(&self, to: StorageMode, by: &str, note: &str) -> Result<PhaseChange>;

    /// Every move, oldest first.
    async fn phase_history(&self) -> Result<Vec<PhaseChange>>;

    /// One unit's checkpoint.
    async fn checkpoint(&self, unit: &str) -> Result<Option<Checkpoint>>;

    /// Every checkpoint, ordered by unit.
    async fn checkpoints(&self) -> Result<Vec<Checkpoint>>;

    /// Writes checkpoints (insert or replace by unit) in one transaction: all or none.
    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<()>;

    /// Removes every checkpoint whose unit starts with `prefix` (all with `""`); returns how many.
    async fn clear_checkpoints(&self, prefix: &str) -> Result<u64>;

    /// A migration record: a named text (JSON by convention) the migration keeps beside its
    /// checkpoints, e.g. where the legacy files are or what the last verify found. `None` when
    /// never saved.
    async fn record(&self, key: &str) -> Result<Option<String>>;

    /// Saves a record, replacing the one of the same key (see
    /// [`crate::migration::check_record`] for what is accepted).
    async fn save_record(&self, key: &str, value: &str) -> Result<()>;
}
