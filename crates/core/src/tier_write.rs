//! A write to a secondary tier, as data: what the [`crate::outbox`] keeps for a tier that
//! missed it, and what [`replay`] applies when the tier is back.
//!
//! Every variant is idempotent — applied twice in a row it leaves the tier as applied once:
//! setting held days, closing and removing a position set a value; raising the max price and
//! lowering the min price only ever move one way; "all held days +1" runs once per market
//! date (the tier keeps the date it last ran); trades are keyed by (account, journal
//! ordinal), bars by (code, date), asset points by (account, date), each write replacing the
//! row of its key.
//!
//! A *sequence* of them is not: held days set to 3 and then advanced for the 9th give 4, but
//! the pair replayed gives 3 (the advance for the 9th already ran). So [`replay`]
//! acknowledges each record before it applies the next: after a crash at most the one
//! record in flight is applied again, and a record applied twice in a row is idempotent.
//! Two duties fall to the routing that feeds the outbox, for this to hold: while a tier's
//! outbox is not empty every later write for that tier goes through it too (a write that
//! timed out may have reached the tier, and must not be overtaken), and pending position
//! writes are dropped, not replayed, once the hot tier has been rehydrated from the files
//! (the files already hold them).

use serde::{Deserialize, Serialize};
use tierstore_model::{
    AccountId, AccountPositions, AssetPoint, AssetStore, HeldDays, Kline, KlineStore, PositionStore, Price,
    StockCode, StoreError, Trade, TradeDate, TradeStore,
};

use crate::outbox::Outbox;

/// One write, as the outbox keeps it (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum TierWrite {
    /// [`PositionStore::open_positions`].
    OpenPositions {
        /// The account.
        account: AccountId,
        /// The stocks opened.
        codes: Vec<StockCode>,
    },
    /// [`PositionStore::replace_account`].
    ReplaceAccount {
        /// The account.
        account: AccountId,
        /// Its whole state.
        state: AccountPositions,
    },
    /// [`PositionStore::set_held_days`].
    SetHeldDays {
        /// The account.
        account: AccountId,
        /// The stock.
        code: StockCode,
        /// The value set.
        days: HeldDays,
    },
    /// [`PositionStore::close_position`].
    ClosePosition {
        /// The account.
        account: AccountId,
        /// The stock.
        code: StockCode,
    },
    /// [`PositionStore::remove_position`].
    RemovePosition {
        /// The account.
        account: AccountId,
        /// The stock.
        code: StockCode,
    },
    /// [`PositionStore::raise_max_price`].
    RaiseMaxPrice {
        /// The account.
        account: AccountId,
        /// The stock.
        code: StockCode,
        /// The price seen.
        price: Price,
    },
    /// [`PositionStore::lower_min_price`].
    LowerMinPrice {
        /// The account.
        account: AccountId,
        /// The stock.
        code: StockCode,
        /// The price seen.
        price: Price,
    },
    /// [`PositionStore::increment_held_days`] for one market date.
    IncrementHeldDays {
        /// The account.
        account: AccountId,
        /// The market date it ran for.
        today: TradeDate,
    },
    /// [`TradeStore::append_trades`]; every trade carries its journal ordinal.
    Trades {
        /// The trades, as the journal numbered them.
        trades: Vec<Trade>,
    },
    /// [`KlineStore::write_klines`].
    Klines {
        /// The bars.
        bars: Vec<Kline>,
    },
    /// [`AssetStore::record_assets`].
    Assets {
        /// The points.
        points: Vec<AssetPoint>,
    },
}

/// The stores a secondary tier offers; a write for a role the tier does not hold is refused.
#[derive(Clone, Copy, Default)]
pub struct WriteTargets<'a> {
    /// Position state (the hot tier).
    pub positions: Option<&'a dyn PositionStore>,
    /// The trade journal (the cool tier).
    pub trades: Option<&'a dyn TradeStore>,
    /// Daily bars (the cool tier).
    pub klines: Option<&'a dyn KlineStore>,
    /// Asset curves (the cool tier).
    pub assets: Option<&'a dyn AssetStore>,
}

impl TierWrite {
    /// The account a position write is for; `None` for the cool tier's writes.
    pub fn position_account(&self) -> Option<&AccountId> {
        match self {
            TierWrite::OpenPositions { account, .. }
            | TierWrite::ReplaceAccount { account, .. }
            | TierWrite::SetHeldDays { account, .. }
            | TierWrite::ClosePosition { account, .. }
            | TierWrite::RemovePosition { account, .. }
            | TierWrite::RaiseMaxPrice { account, .. }
            | TierWrite::LowerMinPrice { account, .. }
            | TierWrite::IncrementHeldDays { account, .. } => Some(account),
            TierWrite::Trades { .. } | TierWrite::Klines { .. } | TierWrite::Assets { .. } => None,
        }
    }

    /// The record's bytes. A write that could never be applied is refused here, before it
    /// reaches the outbox, where it would block every write behind it: trades without their
    /// journal ordinal, and empty batches.
    pub fn encode(&self) -> Result<Vec<u8>, StoreError> {
        match self {
            TierWrite::Trades { trades } if trades.iter().any(|t| t.seq.is_none()) => {
                return Err(StoreError::invalid(
                    "seq",
                    "none",
                    "a trade goes to the outbox with the ordinal its journal append gave it",
                ));
            }
            TierWrite::Trades { trades } if trades.is_empty() => return Err(empty("trades")),
            TierWrite::Klines { bars } if bars.is_empty() => return Err(empty("bars")),
            TierWrite::Assets { points } if points.is_empty() => return Err(empty("points")),
            _ => {}
        }
        serde_json::to_vec(self)
            .map_err(|e| StoreError::invalid("outbox write", format!("{self:?}"), e.to_string()))
    }

    /// A record read back; `seq` names it in the error.
    pub fn decode(bytes: &[u8], seq: u64) -> Result<TierWrite, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| {
            StoreError::corrupt(format!("outbox record {seq}"), None, format!("not a tier write: {e}"))
        })
    }

    /// Applies the write to the tier's store for its role.
    pub async fn apply(&self, to: &WriteTargets<'_>) -> Result<(), StoreError> {
        let missing = |role: &str| {
            StoreError::invalid("outbox write", role, "the tier replayed to does not hold this role")
        };
        let positions = || to.positions.ok_or_else(|| missing("positions"));
        match self {
            TierWrite::OpenPositions { account, codes } => {
                positions()?.open_positions(account, codes).await.map(drop)
            }
            TierWrite::ReplaceAccount { account, state } => {
                positions()?.replace_account(account, state).await
            }
            TierWrite::SetHeldDays { account, code, days } => {
                positions()?.set_held_days(account, code, *days).await
            }
            TierWrite::ClosePosition { account, code } => positions()?.close_position(account, code).await,
            TierWrite::RemovePosition { account, code } => positions()?.remove_position(account, code).await,
            TierWrite::RaiseMaxPrice { account, code, price } => {
                positions()?.raise_max_price(account, code, *price).await.map(drop)
            }
            TierWrite::LowerMinPrice { account, code, price } => {
                positions()?.lower_min_price(account, code, *price).await.map(drop)
            }
            TierWrite::IncrementHeldDays { account, today } => {
                positions()?.increment_held_days(account, *today).await.map(drop)
            }
            TierWrite::Trades { trades } => {
                to.trades.ok_or_else(|| missing("trades"))?.append_trades(trades).await.map(drop)
            }
            TierWrite::Klines { bars } => {
                to.klines.ok_or_else(|| missing("klines"))?.write_klines(bars).await.map(drop)
            }
            TierWrite::Assets { points } => {
                to.assets.ok_or_else(|| missing("assets"))?.record_assets(points).await.map(drop)
            }
        }
    }
}

fn empty(field: &str) -> StoreError {
    StoreError::invalid(field, "[]", "an empty batch is not a write")
}

/// What a replay did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    /// Records applied and acknowledged.
    pub applied: u64,
    /// Records still pending.
    pub pending: u64,
}

/// Applies the outbox's pending writes to `to` in order, acknowledging each before the next
/// (see the module documentation for why one at a time). Stops at the first write that
/// fails and returns its error, leaving it and everything after it pending: order is never
/// broken, and a write that cannot succeed keeps the outbox from draining, for the caller to
/// report.
pub async fn replay(outbox: &mut Outbox, to: &WriteTargets<'_>) -> Result<ReplayReport, StoreError> {
    let mut applied = 0;
    loop {
        let batch = outbox.pending(256)?;
        if batch.is_empty() {
            return Ok(ReplayReport { applied, pending: 0 });
        }
        for entry in batch {
            let write = TierWrite::decode(&entry.payload, entry.seq)?;
            write.apply(to).await?;
            outbox.ack(entry.seq)?;
            applied += 1;
        }
    }
}
