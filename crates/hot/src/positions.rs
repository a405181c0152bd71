//! `PositionStore` on Redis: a read is one round trip for the account string and the namespace
//! marker; every update is one script on the account's slot.

use async_trait::async_trait;
use redis::{RedisError, Script};
use tierstore_model::deadline::within;
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, IncrementOutcome, Position, PositionStore, Price, Result,
    StockCode, StoreError, TradeDate,
};

use crate::codec::{self, Epoch};
use crate::error::{NO_STRING, corrupt, from_redis, not_seeded, script_reason};
use crate::keys::{self, AccountKeys};
use crate::scripts;
use crate::store::{HotStore, NamespaceStatus};

impl HotStore {
    fn keys(&self, account: &AccountId) -> AccountKeys {
        AccountKeys::new(&self.config.namespace, account)
    }

    fn corrupt_account(&self, account: &AccountId, reason: impl Into<String>) -> StoreError {
        corrupt(&self.config, &format!("{{{account}}}:pos"), reason)
    }

    /// Refuses an account string whose epoch is not the namespace's current one.
    fn check_epoch(&self, account: &AccountId, epoch: &Epoch, marker: Option<&str>) -> Result<()> {
        let status =
            NamespaceStatus::parse(marker).map_err(|reason| corrupt(&self.config, "epoch", reason))?;
        match status.epoch() {
            None => Err(not_seeded(
                &self.config,
                account,
                "the namespace marker is missing: Redis lost the namespace",
            )),
            Some(current) if current != epoch => Err(not_seeded(
                &self.config,
                account,
                format!("the account string is from epoch {epoch} but the namespace is in epoch {current}"),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Runs a script on one account (see `scripts` for the calling convention) and maps its
    /// refusals.
    async fn script<T: redis::FromRedisValue>(
        &self,
        account: &AccountId,
        script: &Script,
        args: &[String],
    ) -> Result<T> {
        let positions = self.keys(account).positions;
        let marker_key = keys::epoch_key(&self.config.namespace);
        within(&self.endpoint, self.config.timeout(), async {
            let mut inv = script.prepare_invoke();
            inv.key(&positions);
            if self.conn.is_cluster() {
                // The marker lives in another slot: read it first and pass it along.
                let marker: Option<String> = self
                    .conn
                    .query(redis::cmd("GET").arg(&marker_key))
                    .await
                    .map_err(|e| from_redis(&self.config, e))?;
                inv.arg(marker.unwrap_or_default());
            } else {
                inv.key(&marker_key);
                inv.arg("");
            }
            for a in args {
                inv.arg(a);
            }
            self.conn.invoke(&inv).await.map_err(|e| self.script_error(account, e))
        })
        .await
    }

    fn script_error(&self, account: &AccountId, e: RedisError) -> StoreError {
        match e.code() {
            Some("UNSEEDED") => not_seeded(&self.config, account, NO_STRING),
            Some("STALE") => not_seeded(&self.config, account, script_reason(&e)),
            Some("CORRUPT") => self.corrupt_account(account, script_reason(&e)),
            _ => from_redis(&self.config, e),
        }
    }

    /// The whole account: the string and the marker in one round trip, decoded and checked.
    async fn read_account(&self, account: &AccountId) -> Result<AccountPositions> {
        let positions = self.keys(account).positions;
        let marker_key = keys::epoch_key(&self.config.namespace);
        let (blob, marker) = within(&self.endpoint, self.config.timeout(), async {
            self.conn.get_two(&positions, &marker_key).await.map_err(|e| from_redis(&self.config, e))
        })
        .await?;
        let blob = blob.ok_or_else(|| not_seeded(&self.config, account, NO_STRING))?;
        let (epoch, state) =
            codec::decode(&blob).map_err(|m| self.corrupt_account(account, m.to_string()))?;
        self.check_epoch(account, &epoch, marker.as_deref())?;
        Ok(state)
    }

    fn stored_price(&self, account: &AccountId, field: &str, text: &str) -> Result<Price> {
        codec::decode_price(field, text).map_err(|reason| self.corrupt_account(account, reason))
    }
}

#[async_trait]
impl PositionStore for HotStore {
    async fn position(&self, account: &AccountId, code: &StockCode) -> Result<Option<Position>> {
        Ok(self.read_account(account).await?.positions.get(code).copied())
    }

    async fn account_positions(&self, account: &AccountId) -> Result<AccountPositions> {
        self.read_account(account).await
    }

    async fn accounts(&self) -> Result<Vec<AccountId>> {
        let raw: Vec<String> =
            self.run(redis::cmd("SMEMBERS").arg(keys::accounts_key(&self.config.namespace))).await?;
        let mut out: Vec<AccountId> = raw
            .into_iter()
            .map(|a| AccountId::new(a).map_err(|e| corrupt(&self.config, "accounts", e.to_string())))
            .collect::<Result<_>>()?;
        out.sort();
        Ok(out)
    }

    async fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32> {
        // Even with no codes, an account that is not current is refused.
        let args: Vec<String> = codes.iter().map(ToString::to_string).collect();
        self.script(account, &scripts::OPEN, &args).await
    }

    async fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()> {
        let _: i64 =
            self.script(account, &scripts::SET_HELD, &[code.to_string(), codec::held_text(days)]).await?;
        Ok(())
    }

    async fn close_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let _: i64 = self.script(account, &scripts::CLOSE, &[code.to_string()]).await?;
        Ok(())
    }

    async fn remove_position(&self, account: &AccountId, code: &StockCode) -> Result<()> {
        let _: i64 = self.script(account, &scripts::REMOVE, &[code.to_string()]).await?;
        Ok(())
    }

    async fn raise_max_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let price = codec::price_text(price.round3("max_price")?);
        let stored: String = self.script(account, &scripts::RAISE_MAX, &[code.to_string(), price]).await?;
        self.stored_price(account, "max_price", &stored)
    }

    async fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let price = codec::price_text(price.round3("min_price")?);
        let stored: String = self.script(account, &scripts::LOWER_MIN, &[code.to_string(), price]).await?;
        self.stored_price(account, "min_price", &stored)
    }

    async fn increment_held_days(&self, account: &AccountId, today: TradeDate) -> Result<IncrementOutcome> {
        let (applied, value): (i64, String) =
            self.script(account, &scripts::INCREMENT, &[today.to_string()]).await?;
        if applied == 1 {
            let incremented = value
                .parse()
                .map_err(|_| self.corrupt_account(account, format!("increment count {value:?}")))?;
            return Ok(IncrementOutcome::Applied { date: today, incremented });
        }
        let date = TradeDate::parse(&value).map_err(|e| self.corrupt_account(account, e.to_string()))?;
        Ok(IncrementOutcome::AlreadyApplied { date })
    }

    async fn replace_account(&self, account: &AccountId, state: &AccountPositions) -> Result<()> {
        let state = state.rounded()?;
        let epoch = self.current_epoch().await?;
        self.seed_in(account, &state, &epoch).await
    }
}
