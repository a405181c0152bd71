//! The migration phase (one row), its transition log and the copy checkpoints.

use sea_orm_migration::prelude::*;

use crate::column::{drop_tables, instant, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum MigrationState {
    Table,
    Id,
    Phase,
    ChangedAt,
    ChangedBy,
}

#[derive(DeriveIden)]
enum MigrationPhaseLog {
    Table,
    Seq,
    FromPhase,
    ToPhase,
    At,
    By,
    Note,
}

#[derive(DeriveIden)]
enum MigrationCheckpoints {
    Table,
    Unit,
    ByteOffset,
    Line,
    Rows,
    Checksum,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(MigrationState::Table)
                    .col(ColumnDef::new(MigrationState::Id).integer().not_null().primary_key())
                    .col(text(b, MigrationState::Phase, 16))
                    .col(instant(b, MigrationState::ChangedAt).not_null())
                    .col(text(b, MigrationState::ChangedBy, 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MigrationPhaseLog::Table)
                    .col(ColumnDef::new(MigrationPhaseLog::Seq).big_integer().not_null().primary_key())
                    .col(text(b, MigrationPhaseLog::FromPhase, 16))
                    .col(text(b, MigrationPhaseLog::ToPhase, 16))
                    .col(instant(b, MigrationPhaseLog::At).not_null())
                    .col(text(b, MigrationPhaseLog::By, 100))
                    .col(ColumnDef::new(MigrationPhaseLog::Note).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MigrationCheckpoints::Table)
                    .col(text(b, MigrationCheckpoints::Unit, 255).primary_key())
                    .col(ColumnDef::new(MigrationCheckpoints::ByteOffset).big_integer().not_null())
                    .col(ColumnDef::new(MigrationCheckpoints::Line).big_integer().not_null())
                    .col(ColumnDef::new(MigrationCheckpoints::Rows).big_integer().not_null())
                    .col(text(b, MigrationCheckpoints::Checksum, 128))
                    .col(instant(b, MigrationCheckpoints::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        // The system starts where the Python program is: on files.
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(MigrationState::Table)
                    .columns([
                        MigrationState::Id,
                        MigrationState::Phase,
                        MigrationState::ChangedAt,
                        MigrationState::ChangedBy,
                    ])
                    .values_panic([1.into(), "file".into(), chrono::Utc::now().into(), "schema".into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                MigrationCheckpoints::Table.into_iden(),
                MigrationPhaseLog::Table.into_iden(),
                MigrationState::Table.into_iden(),
            ],
        )
        .await
    }
}
