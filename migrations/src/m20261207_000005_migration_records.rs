//! Migration records: named texts the migration keeps beside its checkpoints (where the legacy
//! files are, the formats of the source files, what the last backfill and verify found).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::column::{drop_tables, instant, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum MigrationRecords {
    Table,
    Key,
    Value,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let mut value = ColumnDef::new(MigrationRecords::Value);
        match b {
            // MySQL's TEXT holds 64 KiB; a record may hold the formats of thousands of files.
            DbBackend::MySql => value.custom("MEDIUMTEXT"),
            _ => value.text(),
        };
        value.not_null();
        manager
            .create_table(
                Table::create()
                    .table(MigrationRecords::Table)
                    .col(text(b, MigrationRecords::Key, 255).primary_key())
                    .col(value)
                    .col(instant(b, MigrationRecords::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(manager, [MigrationRecords::Table.into_iden()]).await
    }
}
