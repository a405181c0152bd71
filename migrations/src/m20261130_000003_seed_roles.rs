//! The built-in roles and their `resource:action` permissions, as literal rows: what this
//! migration grants never changes with the code around it. Later changes of grants are new
//! migrations.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

/// Every permission with its description.
const PERMISSIONS: &[(&str, &str)] = &[
    ("account:create", "create accounts"),
    ("account:read", "see accounts"),
    ("account:update", "change capital figures and state of accounts"),
    ("account:delete", "deactivate accounts"),
    ("strategy:create", "create strategies"),
    ("strategy:read", "see strategies and bindings"),
    ("strategy:update", "change strategies and bind them to accounts"),
    ("strategy:delete", "deactivate strategies"),
    ("params:read", "see parameter versions"),
    ("params:write", "save parameter versions"),
    ("params:activate", "make an older parameter version active"),
    ("trade:read", "query trades"),
    ("trade:write", "record trades"),
    ("trade:export", "export trades"),
    ("kline:read", "query klines"),
    ("kline:write", "load klines"),
    ("position:read", "see position state"),
    ("position:write", "change position state"),
    ("user:create", "register users"),
    ("user:read", "see users"),
    ("user:update", "lock, unlock and change roles of users"),
    ("user:delete", "deactivate users"),
    ("migration:read", "see the migration phase and checkpoints"),
    ("migration:run", "move the migration phase and run copies"),
];

const READ_ALL: &[&str] =
    &["account:read", "strategy:read", "params:read", "trade:read", "kline:read", "position:read"];

/// Role, description, permissions beyond [`READ_ALL`] (admin gets every permission).
const ROLES: &[(&str, &str, &[&str])] = &[
    ("admin", "everything, including accounts and users", &[]),
    (
        "developer",
        "strategies and their parameters",
        &["strategy:create", "strategy:update", "params:write", "params:activate"],
    ),
    ("trader", "trading data", &["trade:write", "trade:export", "position:write"]),
    ("viewer", "read only", &[]),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut permissions = Query::insert();
        permissions.into_table("permissions").columns(["name", "description"]);
        for (name, description) in PERMISSIONS {
            permissions.values_panic([(*name).into(), (*description).into()]);
        }
        manager.exec_stmt(permissions).await?;

        let mut roles = Query::insert();
        roles.into_table("roles").columns(["name", "description"]);
        for (name, description, _) in ROLES {
            roles.values_panic([(*name).into(), (*description).into()]);
        }
        manager.exec_stmt(roles).await?;

        let mut grants = Query::insert();
        grants.into_table("role_permissions").columns(["role", "permission"]);
        for (role, _, extra) in ROLES {
            let granted: Vec<&str> = if *role == "admin" {
                PERMISSIONS.iter().map(|(p, _)| *p).collect()
            } else {
                READ_ALL.iter().chain(extra.iter()).copied().collect()
            };
            for p in granted {
                grants.values_panic([(*role).into(), p.into()]);
            }
        }
        manager.exec_stmt(grants).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let roles: Vec<&str> = ROLES.iter().map(|(r, _, _)| *r).collect();
        let permissions: Vec<&str> = PERMISSIONS.iter().map(|(p, _)| *p).collect();
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("user_roles")
                    .and_where(Expr::col("role").is_in(roles.clone()))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("role_permissions")
                    .and_where(Expr::col("role").is_in(roles.clone()))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete().from_table("roles").and_where(Expr::col("name").is_in(roles)).to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::delete()
                    .from_table("permissions")
                    .and_where(Expr::col("name").is_in(permissions))
                    .to_owned(),
            )
            .await
    }
}
