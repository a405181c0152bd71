//! tierstore's domain model and storage contracts.
//!
//! This crate owns the vocabulary every other crate speaks: validated values ([`StockCode`],
//! [`AccountId`], [`TradeDate`], [`Price`], [`Volume`], ...), the records built from them
//! (positions, trades, klines, asset points, accounts, strategies, parameter versions, users),
//! the one error type [`StoreError`], and the async traits each store role implements
//! ([`PositionStore`], [`TradeStore`], [`KlineStore`], [`AssetStore`], [`AccountStore`],
//! [`StrategyStore`], [`UserStore`], [`MigrationStateStore`], [`HealthProbe`]).
//!
//! It performs no I/O (its one runtime dependency is tokio's timer, behind [`deadline`]) and
//! knows nothing of Redis, SQL, ClickHouse or file layouts: parsing
//! here is of single values, so every tier validates input the same way and rejects it with
//! an error that names the field and the value.

pub mod account;
pub mod asset;
pub mod clock;
pub mod code;
pub mod date;
pub mod deadline;
pub mod error;
pub mod health;
pub mod ident;
pub mod kline;
pub mod migration;
pub mod mode;
pub mod position;
pub mod quantity;
pub mod secret;
pub mod store;
pub mod strategy;
pub mod task_stream;
mod text_enum;
pub mod trade;
pub mod user;

pub use account::{Account, AccountStatus, AccountUpdate, Broker, NewAccount};
pub use asset::AssetPoint;
pub use clock::{Clock, FixedClock, SystemClock, market_today};
pub use code::{CodeStyle, Market, StockCode};
pub use date::{DateRange, TradeDate};
pub use error::{Result, StoreError, Tier};
pub use health::{Endpoint, HealthProbe, ProbeReport};
pub use ident::{AccountId, StrategyId};
pub use kline::{Kline, KlineBatch, KlineRange};
pub use migration::{Checkpoint, PhaseChange};
pub use mode::StorageMode;
pub use position::{AccountPositions, HeldDays, IncrementOutcome, Position};
pub use quantity::{Money, Price, Volume};
pub use secret::{Secret, SecretUrl};
pub use store::{
    AccountStore, AssetStore, KlineStore, MigrationStateStore, PositionStore, StrategyStore, TradeStore,
    UserStore,
};
pub use strategy::{
    Binding, NewStrategy, ParamChange, ParamDiff, ParamEntry, ParamEvent, ParamEventKind, ParamVersion,
    Params, RiskLimit, Strategy, StrategyKind, StrategyStatus, StrategyUpdate,
};
pub use trade::{CostBook, OrderKind, Period, Trade, TradeId, TradeQuery, TradeSummary};
pub use user::{Email, LoginPolicy, NewUser, Permission, Role, Session, User, UserStatus, Username};
