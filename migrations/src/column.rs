//! The column kinds whose SQL type differs by engine, chosen here and nowhere else, and the
//! one way a migration drops its tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

/// Money: exact `DECIMAL(20,4)` on MySQL and PostgreSQL. On SQLite a declared `DECIMAL` gets
/// REAL affinity and is rounded through `f64`, so money is stored as its decimal text instead
/// (the declared type contains `TEXT`, which gives TEXT affinity; the store never does
/// arithmetic on it in SQL).
pub fn money(backend: DbBackend, name: impl IntoIden) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DbBackend::Sqlite => col.custom("decimal_text"),
        _ => col.decimal_len(20, 4),
    };
    col.not_null();
    col
}

/// An instant in UTC: `DATETIME(6)` on MySQL (microseconds, and no 2038 limit as `TIMESTAMP`
/// has), `timestamptz` on PostgreSQL, ISO-8601 text on SQLite.
pub fn instant(backend: DbBackend, name: impl IntoIden) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        DbBackend::MySql => col.custom("DATETIME(6)"),
        _ => col.timestamp_with_time_zone(),
    };
    col
}

/// Text with a bounded length, e.g. an identifier, compared and sorted by code point on every
/// engine. MySQL/MariaDB compare text case-insensitively by default (`utf8mb4_general_ci`),
/// which would make `Prod` and `prod` one account there and two elsewhere, and PostgreSQL
/// sorts by the database's locale; `utf8mb4_bin` and `COLLATE "C"` give both SQLite's
/// comparison. (MySQL's `utf8mb4_bin` still ignores trailing spaces; names with them are
/// refused before they get here.)
pub fn text(backend: DbBackend, name: impl IntoIden, len: u32) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    match backend {
        // The collation belongs to the type, before NOT NULL and key clauses.
        DbBackend::MySql => col.custom(format!("VARCHAR({len}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")),
        DbBackend::Postgres => col.custom(format!("VARCHAR({len}) COLLATE \"C\"")),
        _ => col.string_len(len),
    };
    col.not_null();
    col
}

/// Drops `tables` in the order given (referencing tables first).
pub async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: impl IntoIterator<Item = DynIden>,
) -> Result<(), DbErr> {
    for table in tables {
        manager.drop_table(Table::drop().table(table).to_owned()).await?;
    }
    Ok(())
}
