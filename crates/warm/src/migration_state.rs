//! The migration phase, its log, and the copy checkpoints.

use async_trait::async_trait;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use tierstore_model::migration::{check_actor, check_record, check_record_key};
use tierstore_model::{Checkpoint, MigrationStateStore, PhaseChange, Result, StorageMode, StoreError};

use crate::entity::{checkpoint, migration_state, phase_log, record};
use crate::rows::stored;
use crate::store::WarmStore;

/// The single row of `migration_state`.
const STATE_ROW: i32 = 1;

fn to_change(m: phase_log::Model) -> Result<PhaseChange> {
    let at = |f: &str| format!("migration_phase_log[{}].{f}", m.seq);
    Ok(PhaseChange {
        seq: u64::try_from(m.seq).unwrap_or_default(),
        from: stored(StorageMode::parse(&m.from_phase), at("from_phase"))?,
        to: stored(StorageMode::parse(&m.to_phase), at("to_phase"))?,
        at: m.at,
        by: m.by,
        note: m.note,
    })
}

fn to_checkpoint(m: checkpoint::Model) -> Checkpoint {
    Checkpoint {
        byte_offset: u64::try_from(m.byte_offset).unwrap_or_default(),
        line: u64::try_from(m.line).unwrap_or_default(),
        rows: u64::try_from(m.rows).unwrap_or_default(),
        checksum: m.checksum,
        updated_at: m.updated_at,
        unit: m.unit,
    }
}

fn as_i64(v: u64) -> i64 {
    // Checkpoint::validate refuses values beyond i64 before we get here.
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn missing_state() -> StoreError {
    StoreError::not_found("migration state row", "1 (run `storectl schema up`)")
}

#[async_trait]
impl MigrationStateStore for WarmStore {
    async fn phase(&self) -> Result<StorageMode> {
        let row = self.run(migration_state::Entity::find_by_id(STATE_ROW).one(&self.db)).await?;
        let row = row.ok_or_else(missing_state)?;
        stored(StorageMode::parse(&row.phase), "migration_state.phase".to_owned())
    }

    async fn move_phase(&self, to: StorageMode, by: &str, note: &str) -> Result<PhaseChange> {
        check_actor(by)?;
        if note.chars().count() > 1000 {
            return Err(StoreError::invalid("note", note, "longer than 1000 characters"));
        }
        let change = self
            .op(async {
                let txn = self.write_txn().await?;
                let row = self
                    .locked(&txn, migration_state::Entity::find_by_id(STATE_ROW))
                    .await?
                    .ok_or_else(missing_state)?;
                let from = stored(StorageMode::parse(&row.phase), "migration_state.phase".to_owned())?;
                from.check_transition(to)?;
                let last = phase_log::Entity::find()
                    .order_by_desc(phase_log::Column::Seq)
                    .one(&txn)
                    .await
                    .map_err(|e| self.err(e))?
                    .map_or(0, |r| r.seq);
                let now = self.now();
                let log = phase_log::ActiveModel {
                    seq: Set(last + 1),
                    from_phase: Set(from.as_str().to_owned()),
                    to_phase: Set(to.as_str().to_owned()),
                    at: Set(now),
                    by: Set(by.to_owned()),
                    note: Set(note.to_owned()),
                }
                .insert(&txn)
                .await
                .map_err(|e| self.err(e))?;
                let mut state: migration_state::ActiveModel = row.into();
                state.phase = Set(to.as_str().to_owned());
                state.changed_at = Set(now);
                state.changed_by = Set(by.to_owned());
                state.update(&txn).await.map_err(|e| self.err(e))?;
                txn.commit().await.map_err(|e| self.err(e))?;
                to_change(log)
            })
            .await?;
        tracing::info!(from = %change.from, to = %change.to, by = %change.by, "migration phase moved");
        Ok(change)
    }

    async fn phase_history(&self) -> Result<Vec<PhaseChange>> {
        let rows =
            self.run(phase_log::Entity::find().order_by_asc(phase_log::Column::Seq).all(&self.db)).await?;
        rows.into_iter().map(to_change).collect()
    }

    async fn checkpoint(&self, unit: &str) -> Result<Option<Checkpoint>> {
        Ok(self.run(checkpoint::Entity::find_by_id(unit).one(&self.db)).await?.map(to_checkpoint))
    }

    async fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let rows =
            self.run(checkpoint::Entity::find().order_by_asc(checkpoint::Column::Unit).all(&self.db)).await?;
        Ok(rows.into_iter().map(to_checkpoint).collect())
    }

    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<()> {
        let mut units = std::collections::BTreeSet::new();
        for c in checkpoints {
            c.validate()?;
            if !units.insert(c.unit.as_str()) {
                return Err(StoreError::invalid("checkpoint unit", &c.unit, "appears twice in one save"));
            }
        }
        if checkpoints.is_empty() {
            return Ok(());
        }
        self.op(async {
            let txn = self.write_txn().await?;
            let now = self.now();
            // One multi-row upsert per 500: a backfill saves thousands of checkpoints, and a
            // statement per row cost about a second of every 6 M-bar copy.
            for chunk in checkpoints.chunks(500) {
                let rows = chunk.iter().map(|c| checkpoint::ActiveModel {
                    unit: Set(c.unit.clone()),
                    byte_offset: Set(as_i64(c.byte_offset)),
                    line: Set(as_i64(c.line)),
                    rows: Set(as_i64(c.rows)),
                    checksum: Set(c.checksum.clone()),
                    updated_at: Set(now),
                });
                checkpoint::Entity::insert_many(rows)
                    .on_conflict(
                        OnConflict::column(checkpoint::Column::Unit)
                            .update_columns([
                                checkpoint::Column::ByteOffset,
                                checkpoint::Column::Line,
                                checkpoint::Column::Rows,
                                checkpoint::Column::Checksum,
                                checkpoint::Column::UpdatedAt,
                            ])
                            .to_owned(),
                    )
                    .exec_without_returning(&txn)
                    .await
                    .map_err(|e| self.err(e))?;
            }
            txn.commit().await.map_err(|e| self.err(e))
        })
        .await
    }

    async fn clear_checkpoints(&self, prefix: &str) -> Result<u64> {
        self.op(async {
            let txn = self.write_txn().await?;
            // Matched here rather than with LIKE: units contain `_`, a LIKE wildcard whose
            // escape syntax differs by engine. Listed inside the transaction, so a unit saved
            // meanwhile is either seen here or saved after the removal.
            let units: Vec<String> = checkpoint::Entity::find()
                .select_only()
                .column(checkpoint::Column::Unit)
                .lock_exclusive()
                .into_tuple::<String>()
                .all(&txn)
                .await
                .map_err(|e| self.err(e))?
                .into_iter()
                .filter(|u| u.starts_with(prefix))
                .collect();
            let mut removed = 0;
            for chunk in units.chunks(500) {
                let res = checkpoint::Entity::delete_many()
                    .filter(checkpoint::Column::Unit.is_in(chunk.to_vec()))
                    .exec(&txn)
                    .await
                    .map_err(|e| self.err(e))?;
                removed += res.rows_affected;
            }
            txn.commit().await.map_err(|e| self.err(e))?;
            Ok(removed)
        })
        .await
    }

    async fn record(&self, key: &str) -> Result<Option<String>> {
        check_record_key(key)?;
        Ok(self.run(record::Entity::find_by_id(key).one(&self.db)).await?.map(|r| r.value))
    }

    async fn save_record(&self, key: &str, value: &str) -> Result<()> {
        check_record(key, value)?;
        let row = record::ActiveModel {
            key: Set(key.to_owned()),
            value: Set(value.to_owned()),
            updated_at: Set(self.now()),
        };
        self.run(
            record::Entity::insert(row)
                .on_conflict(
                    OnConflict::column(record::Column::Key)
                        .update_columns([record::Column::Value, record::Column::UpdatedAt])
                        .to_owned(),
                )
                .exec_without_returning(&self.db),
        )
        .await?;
        Ok(())
    }
}
