//! `PositionStore` on Redis: every operation is one script on the account's slot.

use async_trait::async_trait;
use redis::{RedisError, Script, ScriptInvocation};
use tierstore_model::{
    AccountId, AccountPositions, HeldDays, IncrementOutcome, Position, PositionStore, Price, Result,
    StockCode, StoreError, TradeDate,
};

use crate::error::{from_redis, missing};
use crate::keys::{self, AccountKeys, CLOSED};
use crate::scripts;
use crate::store::{Epoch, HotStore};

impl HotStore {
    fn keys(&self, account: &AccountId) -> AccountKeys {
        AccountKeys::new(&self.config.namespace, account)
    }

    fn corrupt(&self, account: &AccountId, reason: impl Into<String>) -> StoreError {
        self.corrupt_at(&format!("{{{account}}}"), reason)
    }

    /// Data under `<namespace>:<what>` that is not what our schema writes.
    fn corrupt_at(&self, what: &str, reason: impl Into<String>) -> StoreError {
        StoreError::corrupt(
            format!("{}/{}:{what}", self.config.url.redacted(), self.config.namespace),
            None,
            reason,
        )
    }

    /// Runs a script on one account's keys; a refusal because the account is not seeded is
    /// reported as missing state.
    async fn script<T: redis::FromRedisValue>(
        &self,
        account: &AccountId,
        script: &Script,
        args: &[String],
    ) -> Result<T> {
        let k = self.keys(account);
        let mut inv: ScriptInvocation<'_> = script.prepare_invoke();
        for key in k.all() {
            inv.key(key);
        }
        for a in args {
            inv.arg(a);
        }
        match tokio::time::timeout(self.config.timeout(), self.conn.invoke(&inv)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) if unseeded(&e) => Err(missing(&self.config, account)),
            Ok(Err(e)) => Err(from_redis(&self.config, e)),
            Err(_) => Err(crate::error::unavailable(
                &self.config,
                format!("no answer within {} ms", self.config.timeout_ms),
            )),
        }
    }

    fn parse_held(&self, account: &AccountId, code: &str, v: &str) -> Result<HeldDays> {
        if v == CLOSED {
            return Ok(HeldDays::Closed);
        }
        v.parse::<u32>()
            .map(HeldDays::Open)
            .map_err(|_| self.corrupt(account, format!("held days of {code} is {v:?}")))
    }

    fn parse_price(&self, account: &AccountId, field: &str, code: &str, v: &str) -> Result<Price> {
        v.parse::<f64>()
            .map_err(|_| self.corrupt(account, format!("{field} of {code} is {v:?}")))
            .and_then(|p| Price::new(field, p).map_err(|e| self.corrupt(account, e.to_string())))
    }

    fn parse_code(&self, account: &AccountId, code: &str) -> Result<StockCode> {
        StockCode::parse(code).map_err(|e| self.corrupt(account, e.to_string()))
    }

    /// Replaces an account's state in `epoch` (seeding it), and lists the account.
    pub(crate) async fn replace_in_epoch(
        &self,
        account: &AccountId,
        state: &AccountPositions,
        epoch: &Epoch,
    ) -> Result<()> {
        let mut blob =
            format!("@{}|{}", epoch.0, state.last_increment.map(|d| d.to_string()).unwrap_or_default());
        for (code, p) in &state.positions {
            if *p != Position::default() {
                blob.push('\n');
                blob.push_str(code.as_str());
                blob.push('=');
                blob.push_str(&encode(p));
            }
        }
        // One SET replaces the whole state atomically: this is how an account is seeded.
        self.run::<()>(redis::cmd("SET").arg(&self.keys(account).positions).arg(blob)).await?;
        let _: i64 = self
            .run(redis::cmd("SADD").arg(keys::accounts_key(&self.config.namespace)).arg(account.as_str()))
            .await?;
        Ok(())
    }
}

impl HotStore {
    /// The whole account: one `GET`, one round trip.
    async fn read_account(&self, account: &AccountId) -> Result<AccountPositions> {
        let blob: Option<String> = self.run(redis::cmd("GET").arg(&self.keys(account).positions)).await?;
        let blob = blob.ok_or_else(|| missing(&self.config, account))?;
        let mut lines = blob.split('\n');
        let header = lines.next().unwrap_or_default();
        let inc = header.strip_prefix('@').and_then(|h| h.split_once('|')).map(|(_, inc)| inc).ok_or_else(
            || self.corrupt(account, format!("header is {header:?}, expected @<epoch>|<date>")),
        )?;
        let mut state = AccountPositions::default();
        if !inc.is_empty() {
            state.last_increment =
                Some(TradeDate::parse(inc).map_err(|e| self.corrupt(account, e.to_string()))?);
        }
        for line in lines {
            let (code, value) = line.split_once('=').ok_or_else(|| {
                self.corrupt(account, format!("line {line:?}, expected <code>=<held>|<max>|<min>"))
            })?;
            state.positions.insert(self.parse_code(account, code)?, self.decode(account, code, value)?);
        }
        Ok(state)
    }

    /// Reads a position value `held|max|min`.
    fn decode(&self, account: &AccountId, code: &str, value: &str) -> Result<Position> {
        let mut parts = value.split('|');
        let (Some(h), Some(x), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(
                self.corrupt(account, format!("position of {code} is {value:?}, expected held|max|min"))
            );
        };
        Ok(Position {
            held_days: (!h.is_empty()).then(|| self.parse_held(account, code, h)).transpose()?,
            max_price: (!x.is_empty())
                .then(|| self.parse_price(account, "max_price", code, x))
                .transpose()?,
            min_price: (!n.is_empty())
                .then(|| self.parse_price(account, "min_price", code, n))
                .transpose()?,
        })
    }
}

/// Writes a position value `held|max|min`.
fn encode(p: &Position) -> String {
    format!(
        "{}|{}|{}",
        p.held_days.map(held_value).unwrap_or_default(),
        p.max_price.map(price_value).unwrap_or_default(),
        p.min_price.map(price_value).unwrap_or_default()
    )
}

fn unseeded(e: &RedisError) -> bool {
    e.code() == Some("UNSEEDED") || e.to_string().contains("UNSEEDED")
}

fn held_value(h: HeldDays) -> String {
    match h {
        HeldDays::Open(n) => n.to_string(),
        HeldDays::Closed => CLOSED.to_owned(),
    }
}

/// Rounded to 3 decimals, in the shortest text that reads back as the same float.
fn price_value(p: Price) -> String {
    p.round3().get().to_string()
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
            .map(|a| AccountId::new(a).map_err(|e| self.corrupt_at("accounts", e.to_string())))
            .collect::<Result<_>>()?;
        out.sort();
        Ok(out)
    }

    async fn open_positions(&self, account: &AccountId, codes: &[StockCode]) -> Result<u32> {
        let args: Vec<String> = codes.iter().map(ToString::to_string).collect();
        if args.is_empty() {
            // Still refuse an account that is not seeded.
            self.account_positions(account).await?;
            return Ok(0);
        }
        self.script(account, &scripts::OPEN, &args).await
    }

    async fn set_held_days(&self, account: &AccountId, code: &StockCode, days: HeldDays) -> Result<()> {
        let _: i64 = self.script(account, &scripts::SET_HELD, &[code.to_string(), held_value(days)]).await?;
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
        let stored: String =
            self.script(account, &scripts::RAISE_MAX, &[code.to_string(), price_value(price)]).await?;
        self.parse_price(account, "max_price", code.as_str(), &stored)
    }

    async fn lower_min_price(&self, account: &AccountId, code: &StockCode, price: Price) -> Result<Price> {
        let stored: String =
            self.script(account, &scripts::LOWER_MIN, &[code.to_string(), price_value(price)]).await?;
        self.parse_price(account, "min_price", code.as_str(), &stored)
    }

    async fn increment_held_days(&self, account: &AccountId, today: TradeDate) -> Result<IncrementOutcome> {
        let (applied, value): (i64, String) =
            self.script(account, &scripts::INCREMENT, &[today.to_string()]).await?;
        if applied == 1 {
            let incremented =
                value.parse().map_err(|_| self.corrupt(account, format!("increment count {value:?}")))?;
            return Ok(IncrementOutcome::Applied { date: today, incremented });
        }
        let date = TradeDate::parse(&value).map_err(|e| self.corrupt(account, e.to_string()))?;
        Ok(IncrementOutcome::AlreadyApplied { date })
    }

    async fn replace_account(&self, account: &AccountId, state: &AccountPositions) -> Result<()> {
        let epoch = self.current_epoch().await?;
        self.replace_in_epoch(account, state, &epoch).await
    }
}
