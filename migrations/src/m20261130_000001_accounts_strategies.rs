//! Accounts, strategies, their bindings, parameter versions and the parameter event log.

use sea_orm_migration::prelude::*;

use crate::column::{drop_tables, instant, money, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Name,
    Broker,
    InitialCapital,
    CurrentCapital,
    TotalAssets,
    PositionValue,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Strategies {
    Table,
    Code,
    Name,
    Kind,
    Version,
    Status,
    Description,
    /// The newest saved parameter version (0: none); bumped under the row's lock.
    LastParamVersion,
    /// The active parameter version (NULL: none). One column, so two active versions
    /// cannot exist.
    ActiveParamVersion,
    /// The number of parameter events so far.
    LastParamEvent,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AccountStrategies {
    Table,
    AccountId,
    StrategyCode,
    AllocatedCapital,
    RiskLimit,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StrategyParams {
    Table,
    StrategyCode,
    Version,
    Params,
    Remark,
    CreatedAt,
}

#[derive(DeriveIden)]
enum StrategyParamEvents {
    Table,
    StrategyCode,
    Seq,
    Version,
    Kind,
    Remark,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .col(text(b, Accounts::Id, 64).primary_key())
                    .col(text(b, Accounts::Name, 100))
                    .col(text(b, Accounts::Broker, 8))
                    .col(money(b, Accounts::InitialCapital))
                    .col(money(b, Accounts::CurrentCapital))
                    .col(money(b, Accounts::TotalAssets))
                    .col(money(b, Accounts::PositionValue))
                    .col(text(b, Accounts::Status, 16))
                    .col(instant(b, Accounts::CreatedAt).not_null())
                    .col(instant(b, Accounts::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_accounts_status")
                    .table(Accounts::Table)
                    .col(Accounts::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Strategies::Table)
                    .col(text(b, Strategies::Code, 64).primary_key())
                    .col(text(b, Strategies::Name, 100).unique_key())
                    .col(text(b, Strategies::Kind, 16))
                    .col(text(b, Strategies::Version, 100))
                    .col(text(b, Strategies::Status, 16))
                    .col(ColumnDef::new(Strategies::Description).text().not_null())
                    .col(ColumnDef::new(Strategies::LastParamVersion).integer().not_null().default(0))
                    .col(ColumnDef::new(Strategies::ActiveParamVersion).integer().null())
                    .col(ColumnDef::new(Strategies::LastParamEvent).integer().not_null().default(0))
                    .col(instant(b, Strategies::CreatedAt).not_null())
                    .col(instant(b, Strategies::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountStrategies::Table)
                    .col(text(b, AccountStrategies::AccountId, 64))
                    .col(text(b, AccountStrategies::StrategyCode, 64))
                    .col(money(b, AccountStrategies::AllocatedCapital))
                    .col(money(b, AccountStrategies::RiskLimit))
                    .col(instant(b, AccountStrategies::CreatedAt).not_null())
                    .col(instant(b, AccountStrategies::UpdatedAt).not_null())
                    .primary_key(
                        Index::create()
                            .col(AccountStrategies::AccountId)
                            .col(AccountStrategies::StrategyCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_binding_account")
                            .from(AccountStrategies::Table, AccountStrategies::AccountId)
                            .to(Accounts::Table, Accounts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_binding_strategy")
                            .from(AccountStrategies::Table, AccountStrategies::StrategyCode)
                            .to(Strategies::Table, Strategies::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_bindings_strategy")
                    .table(AccountStrategies::Table)
                    .col(AccountStrategies::StrategyCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StrategyParams::Table)
                    .col(text(b, StrategyParams::StrategyCode, 64))
                    .col(ColumnDef::new(StrategyParams::Version).integer().not_null())
                    .col(ColumnDef::new(StrategyParams::Params).text().not_null())
                    .col(ColumnDef::new(StrategyParams::Remark).text().not_null())
                    .col(instant(b, StrategyParams::CreatedAt).not_null())
                    .primary_key(
                        Index::create().col(StrategyParams::StrategyCode).col(StrategyParams::Version),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_params_strategy")
                            .from(StrategyParams::Table, StrategyParams::StrategyCode)
                            .to(Strategies::Table, Strategies::Code),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StrategyParamEvents::Table)
                    .col(text(b, StrategyParamEvents::StrategyCode, 64))
                    .col(ColumnDef::new(StrategyParamEvents::Seq).integer().not_null())
                    .col(ColumnDef::new(StrategyParamEvents::Version).integer().not_null())
                    .col(text(b, StrategyParamEvents::Kind, 16))
                    .col(ColumnDef::new(StrategyParamEvents::Remark).text().not_null())
                    .col(instant(b, StrategyParamEvents::At).not_null())
                    .primary_key(
                        Index::create().col(StrategyParamEvents::StrategyCode).col(StrategyParamEvents::Seq),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_param_events_version")
                            .from(
                                StrategyParamEvents::Table,
                                (StrategyParamEvents::StrategyCode, StrategyParamEvents::Version),
                            )
                            .to(
                                StrategyParams::Table,
                                (StrategyParams::StrategyCode, StrategyParams::Version),
                            ),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                StrategyParamEvents::Table.into_iden(),
                StrategyParams::Table.into_iden(),
                AccountStrategies::Table.into_iden(),
                Strategies::Table.into_iden(),
                Accounts::Table.into_iden(),
            ],
        )
        .await
    }
}
