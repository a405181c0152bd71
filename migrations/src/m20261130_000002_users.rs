//! Users, roles, permissions, their links, and login sessions.

use sea_orm_migration::prelude::*;

use crate::column::{drop_tables, instant, text};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Username,
    Email,
    PasswordHash,
    Status,
    FailedLogins,
    LockedUntil,
    LastLoginAt,
    LastLoginIp,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Roles {
    Table,
    Name,
    Description,
}

#[derive(DeriveIden)]
enum Permissions {
    Table,
    Name,
    Description,
}

#[derive(DeriveIden)]
enum UserRoles {
    Table,
    Username,
    Role,
}

#[derive(DeriveIden)]
enum RolePermissions {
    Table,
    Role,
    Permission,
}

#[derive(DeriveIden)]
enum UserSessions {
    Table,
    TokenHash,
    Username,
    Ip,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(text(b, Users::Username, 50).primary_key())
                    .col(text(b, Users::Email, 254).unique_key())
                    .col(text(b, Users::PasswordHash, 255))
                    .col(text(b, Users::Status, 16))
                    .col(ColumnDef::new(Users::FailedLogins).integer().not_null().default(0))
                    .col(instant(b, Users::LockedUntil).null())
                    .col(instant(b, Users::LastLoginAt).null())
                    .col(ColumnDef::new(Users::LastLoginIp).string_len(45).null())
                    .col(instant(b, Users::CreatedAt).not_null())
                    .col(instant(b, Users::UpdatedAt).not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(text(b, Roles::Name, 32).primary_key())
                    .col(text(b, Roles::Description, 200))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Permissions::Table)
                    .col(text(b, Permissions::Name, 100).primary_key())
                    .col(text(b, Permissions::Description, 200))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserRoles::Table)
                    .col(text(b, UserRoles::Username, 50))
                    .col(text(b, UserRoles::Role, 32))
                    .primary_key(Index::create().col(UserRoles::Username).col(UserRoles::Role))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_roles_user")
                            .from(UserRoles::Table, UserRoles::Username)
                            .to(Users::Table, Users::Username)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_roles_role")
                            .from(UserRoles::Table, UserRoles::Role)
                            .to(Roles::Table, Roles::Name),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RolePermissions::Table)
                    .col(text(b, RolePermissions::Role, 32))
                    .col(text(b, RolePermissions::Permission, 100))
                    .primary_key(Index::create().col(RolePermissions::Role).col(RolePermissions::Permission))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_role_permissions_role")
                            .from(RolePermissions::Table, RolePermissions::Role)
                            .to(Roles::Table, Roles::Name)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_role_permissions_permission")
                            .from(RolePermissions::Table, RolePermissions::Permission)
                            .to(Permissions::Table, Permissions::Name)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserSessions::Table)
                    .col(text(b, UserSessions::TokenHash, 64).primary_key())
                    .col(text(b, UserSessions::Username, 50))
                    .col(ColumnDef::new(UserSessions::Ip).string_len(45).null())
                    .col(instant(b, UserSessions::CreatedAt).not_null())
                    .col(instant(b, UserSessions::ExpiresAt).not_null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from(UserSessions::Table, UserSessions::Username)
                            .to(Users::Table, Users::Username)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table(UserSessions::Table)
                    .col(UserSessions::Username)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_tables(
            manager,
            [
                UserSessions::Table.into_iden(),
                RolePermissions::Table.into_iden(),
                UserRoles::Table.into_iden(),
                Permissions::Table.into_iden(),
                Roles::Table.into_iden(),
                Users::Table.into_iden(),
            ],
        )
        .await
    }
}
