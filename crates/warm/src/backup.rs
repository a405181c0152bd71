//! Whole-table copies of the warm tier for `storectl backup` and `restore`: every row of the
//! tables an operator owns, as JSON, restored verbatim (ids, timestamps, states) into an
//! empty schema in one transaction. The role permissions are the schema's seed and sessions
//! are short-lived log-ins, so neither is copied; the phase row is restored by value.

use std::collections::BTreeMap;

use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Iterable as _, PaginatorTrait, QueryOrder};
use serde_json::Value;
use tierstore_model::{Result, StoreError};

use crate::entity::{
    account, binding, checkpoint, migration_state, param_event, param_version, phase_log, record, strategy,
    user, user_role,
};
use crate::store::WarmStore;

/// The tables copied, in an order that inserts every referenced row first.
pub const BACKUP_TABLES: [&str; 11] = [
    "accounts",
    "strategies",
    "account_strategies",
    "strategy_params",
    "strategy_param_events",
    "users",
    "user_roles",
    "migration_phase_log",
    "migration_checkpoints",
    "migration_records",
    "migration_state",
];

fn json_error(table: &str, e: serde_json::Error) -> StoreError {
    StoreError::invalid(format!("backup table {table}"), "", e.to_string())
}

macro_rules! each_table {
    ($table:expr, $m:ident => $body:expr) => {
        match $table {
            "accounts" => {
                use account as $m;
                $body
            }
            "strategies" => {
                use strategy as $m;
                $body
            }
            "account_strategies" => {
                use binding as $m;
                $body
            }
            "strategy_params" => {
                use param_version as $m;
                $body
            }
            "strategy_param_events" => {
                use param_event as $m;
                $body
            }
            "users" => {
                use user as $m;
                $body
            }
            "user_roles" => {
                use user_role as $m;
                $body
            }
            "migration_phase_log" => {
                use phase_log as $m;
                $body
            }
            "migration_checkpoints" => {
                use checkpoint as $m;
                $body
            }
            "migration_records" => {
                use record as $m;
                $body
            }
            "migration_state" => {
                use migration_state as $m;
                $body
            }
            other => Err(StoreError::invalid("backup table", other, "not a table of the warm tier")),
        }
    };
}

impl WarmStore {
    /// Every row of `table` (one of [`BACKUP_TABLES`]) as JSON, in primary-key order.
    pub async fn dump_table(&self, table: &str) -> Result<Vec<Value>> {
        each_table!(table, m => {
            let mut q = m::Entity::find();
            for c in <m::Entity as EntityTrait>::PrimaryKey::iter() {
                q = q.order_by_asc(sea_orm::PrimaryKeyToColumn::into_column(c));
            }
            let rows = self.run(q.all(&self.db)).await?;
            rows.into_iter().map(|r| serde_json::to_value(r).map_err(|e| json_error(table, e))).collect()
        })
    }

    /// The first backed-up table that holds rows (the phase row excepted, and a phase other
    /// than `file`), or `None` when a restore may write.
    pub async fn first_nonempty_table(&self) -> Result<Option<String>> {
        for table in BACKUP_TABLES {
            if table == "migration_state" {
                if self
                    .run(migration_state::Entity::find().all(&self.db))
                    .await?
                    .iter()
                    .any(|r| r.phase != "file")
                {
                    return Ok(Some(table.to_owned()));
                }
                continue;
            }
            let n: u64 = each_table!(table, m => self.run(m::Entity::find().count(&self.db)).await)?;
            if n > 0 {
                return Ok(Some(table.to_owned()));
            }
        }
        Ok(None)
    }

    /// Writes the rows of `tables` (table name → rows as [`WarmStore::dump_table`] gave them)
    /// in one transaction: all or nothing. Refuses a schema that holds data already.
    pub async fn restore_tables(&self, tables: &BTreeMap<String, Vec<Value>>) -> Result<u64> {
        for name in tables.keys() {
            if !BACKUP_TABLES.contains(&name.as_str()) {
                return Err(StoreError::invalid("backup table", name, "not a table of the warm tier"));
            }
        }
        if let Some(t) = self.first_nonempty_table().await? {
            return Err(StoreError::conflict(
                "warm tier",
                t,
                "holds data; restore writes only into an empty schema",
            ));
        }
        self.op(async {
            let txn = self.write_txn().await?;
            let mut written = 0u64;
            for table in BACKUP_TABLES {
                let Some(rows) = tables.get(table) else { continue };
                if table == "migration_state" {
                    for v in rows {
                        let row: migration_state::Model =
                            serde_json::from_value(v.clone()).map_err(|e| json_error(table, e))?;
                        row.into_active_model().reset_all().update(&txn).await.map_err(|e| self.err(e))?;
                        written += 1;
                    }
                    continue;
                }
                each_table!(table, m => {
                    let mut models = Vec::with_capacity(rows.len());
                    for v in rows {
                        let row: m::Model = serde_json::from_value(v.clone()).map_err(|e| json_error(table, e))?;
                        models.push(row.into_active_model());
                    }
                    for chunk in models.chunks(200) {
                        m::Entity::insert_many(chunk.to_vec())
                            .exec_without_returning(&txn)
                            .await
                            .map_err(|e| self.err(e))?;
                    }
                    written += rows.len() as u64;
                    Ok::<(), StoreError>(())
                })?;
            }
            txn.commit().await.map_err(|e| self.err(e))?;
            Ok(written)
        })
        .await
    }
}
