//! An empty database of one's own on any of the warm tier's engines.

use crate::{MysqlDatabase, PostgresDatabase};

/// The relational engines the warm tier runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarmEngine {
    /// The test MySQL/MariaDB server.
    Mysql,
    /// The test PostgreSQL server.
    Postgres,
    /// A SQLite file in a temporary directory.
    Sqlite,
}

/// A fresh database on one engine, removed on drop.
#[derive(Debug)]
pub enum WarmDatabase {
    /// On MySQL/MariaDB.
    Mysql(MysqlDatabase),
    /// On PostgreSQL.
    Postgres(PostgresDatabase),
    /// A SQLite file.
    Sqlite(tempfile::TempDir),
}

impl WarmDatabase {
    /// Creates an empty database on `engine`.
    pub async fn create(engine: WarmEngine) -> Self {
        match engine {
            WarmEngine::Mysql => WarmDatabase::Mysql(MysqlDatabase::create().await),
            WarmEngine::Postgres => WarmDatabase::Postgres(PostgresDatabase::create().await),
            WarmEngine::Sqlite => WarmDatabase::Sqlite(
                tempfile::tempdir().unwrap_or_else(|e| panic!("a temporary directory: {e}")),
            ),
        }
    }

    /// Its URL, as the warm tier's configuration takes it.
    pub fn url(&self) -> String {
        match self {
            WarmDatabase::Mysql(db) => db.url(),
            WarmDatabase::Postgres(db) => db.url(),
            WarmDatabase::Sqlite(dir) => {
                format!("sqlite://{}?mode=rwc", dir.path().join("warm.db").display())
            }
        }
    }
}
