//! Versioned strategy parameters and their event log.
//!
//! The strategy row holds the newest version number, the active version and the event count.
//! A save or an activation locks that row first (`FOR UPDATE`; SQLite's `BEGIN IMMEDIATE`),
//! so concurrent saves take consecutive numbers, and "the active version" is one column:
//! two active versions cannot be represented at all.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use tierstore_model::strategy::check_params;
use tierstore_model::{ParamEvent, ParamEventKind, ParamVersion, Params, Result, StoreError, StrategyId};

use crate::entity::{param_event, param_version, strategy};
use crate::rows::stored;
use crate::store::WarmStore;

/// Longest remark kept.
const MAX_REMARK_CHARS: usize = 1000;

fn check_remark(remark: &str) -> Result<()> {
    if remark.chars().count() > MAX_REMARK_CHARS {
        return Err(StoreError::invalid(
            "remark",
            remark,
            format!("longer than {MAX_REMARK_CHARS} characters"),
        ));
    }
    Ok(())
}

fn to_version(m: param_version::Model, active: Option<i32>) -> Result<ParamVersion> {
    let at = format!("strategy_params[{},{}].params", m.strategy_code, m.version);
    let params: Params = stored(
        serde_json::from_str(&m.params).map_err(|e| StoreError::invalid("params", &m.params, e.to_string())),
        at,
    )?;
    Ok(ParamVersion {
        strategy: stored(StrategyId::new(&m.strategy_code), format!("strategy_params[{}]", m.strategy_code))?,
        version: u32::try_from(m.version).unwrap_or_default(),
        active: active == Some(m.version),
        params,
        remark: m.remark,
        created_at: m.created_at,
    })
}

fn to_event(m: param_event::Model) -> Result<ParamEvent> {
    Ok(ParamEvent {
        seq: u32::try_from(m.seq).unwrap_or_default(),
        version: u32::try_from(m.version).unwrap_or_default(),
        kind: stored(
            ParamEventKind::parse(&m.kind),
            format!("strategy_param_events[{},{}].kind", m.strategy_code, m.seq),
        )?,
        remark: m.remark,
        at: m.at,
    })
}

fn version_number(v: u32) -> Result<i32> {
    i32::try_from(v).map_err(|_| StoreError::invalid("version", v.to_string(), "too large"))
}

impl WarmStore {
    pub(crate) async fn save_param_version(
        &self,
        code: &StrategyId,
        params: &Params,
        remark: &str,
    ) -> Result<ParamVersion> {
        check_params(params)?;
        check_remark(remark)?;
        let json =
            serde_json::to_string(params).map_err(|e| StoreError::invalid("params", "", e.to_string()))?;
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_strategy(&txn, code).await?;
            let version = row.last_param_version + 1;
            let seq = row.last_param_event + 1;
            let now = self.now();
            let saved = param_version::ActiveModel {
                strategy_code: Set(code.as_str().to_owned()),
                version: Set(version),
                params: Set(json),
                remark: Set(remark.to_owned()),
                created_at: Set(now),
            }
            .insert(&txn)
            .await
            .map_err(|e| self.err(e))?;
            self.record_event(&txn, code, seq, version, ParamEventKind::Saved, remark, now).await?;
            let mut s: strategy::ActiveModel = row.into();
            s.last_param_version = Set(version);
            s.active_param_version = Set(Some(version));
            s.last_param_event = Set(seq);
            s.updated_at = Set(now);
            s.update(&txn).await.map_err(|e| self.err(e))?;
            txn.commit().await.map_err(|e| self.err(e))?;
            to_version(saved, Some(version))
        })
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn record_event(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        code: &StrategyId,
        seq: i32,
        version: i32,
        kind: ParamEventKind,
        remark: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<()> {
        param_event::ActiveModel {
            strategy_code: Set(code.as_str().to_owned()),
            seq: Set(seq),
            version: Set(version),
            kind: Set(kind.as_str().to_owned()),
            remark: Set(remark.to_owned()),
            at: Set(at),
        }
        .insert(txn)
        .await
        .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub(crate) async fn param_version(
        &self,
        code: &StrategyId,
        version: Option<u32>,
    ) -> Result<ParamVersion> {
        let s = self
            .run(strategy::Entity::find_by_id(code.as_str()).one(&self.db))
            .await?
            .ok_or_else(|| StoreError::not_found("strategy", code))?;
        let wanted = match version {
            Some(v) => version_number(v)?,
            None => {
                s.active_param_version.ok_or_else(|| StoreError::not_found("parameters of strategy", code))?
            }
        };
        let row = self
            .run(param_version::Entity::find_by_id((code.as_str().to_owned(), wanted)).one(&self.db))
            .await?
            .ok_or_else(|| StoreError::not_found("parameter version", format!("{code} v{wanted}")))?;
        to_version(row, s.active_param_version)
    }

    pub(crate) async fn param_versions(&self, code: &StrategyId) -> Result<Vec<ParamVersion>> {
        let s = self
            .run(strategy::Entity::find_by_id(code.as_str()).one(&self.db))
            .await?
            .ok_or_else(|| StoreError::not_found("strategy", code))?;
        let rows = self
            .run(
                param_version::Entity::find()
                    .filter(param_version::Column::StrategyCode.eq(code.as_str()))
                    .order_by_asc(param_version::Column::Version)
                    .all(&self.db),
            )
            .await?;
        rows.into_iter().map(|r| to_version(r, s.active_param_version)).collect()
    }

    pub(crate) async fn activate_param_version(
        &self,
        code: &StrategyId,
        version: u32,
        remark: &str,
    ) -> Result<ParamVersion> {
        check_remark(remark)?;
        let wanted = version_number(version)?;
        self.op(async {
            let txn = self.write_txn().await?;
            let row = self.lock_strategy(&txn, code).await?;
            let target = param_version::Entity::find_by_id((code.as_str().to_owned(), wanted))
                .one(&txn)
                .await
                .map_err(|e| self.err(e))?
                .ok_or_else(|| StoreError::not_found("parameter version", format!("{code} v{wanted}")))?;
            if row.active_param_version == Some(wanted) {
                return Err(StoreError::conflict(
                    "parameter version",
                    format!("{code} v{wanted}"),
                    "already active",
                ));
            }
            let seq = row.last_param_event + 1;
            let now = self.now();
            self.record_event(&txn, code, seq, wanted, ParamEventKind::Activated, remark, now).await?;
            let mut s: strategy::ActiveModel = row.into();
            s.active_param_version = Set(Some(wanted));
            s.last_param_event = Set(seq);
            s.updated_at = Set(now);
            s.update(&txn).await.map_err(|e| self.err(e))?;
            txn.commit().await.map_err(|e| self.err(e))?;
            to_version(target, Some(wanted))
        })
        .await
    }

    pub(crate) async fn param_event_log(&self, code: &StrategyId) -> Result<Vec<ParamEvent>> {
        self.strategy_exists(code).await?;
        let rows = self
            .run(
                param_event::Entity::find()
                    .filter(param_event::Column::StrategyCode.eq(code.as_str()))
                    .order_by_asc(param_event::Column::Seq)
                    .all(&self.db),
            )
            .await?;
        rows.into_iter().map(to_event).collect()
    }

    async fn strategy_exists(&self, code: &StrategyId) -> Result<()> {
        self.run(strategy::Entity::find_by_id(code.as_str()).one(&self.db))
            .await?
            .map(|_| ())
            .ok_or_else(|| StoreError::not_found("strategy", code))
    }
}
