//! The cool tier's versioned DDL (`migrations/clickhouse/*.sql`), applied in order and
//! recorded in `<database>.tierstore_schema_versions`.
//!
//! Files are SQL with three kinds of placeholder: `{db}` (the configured database, an
//! identifier checked by the configuration); `{codec:SPEC}`, which becomes `CODEC(SPEC)` on
//! servers that have per-column codecs (19.11 and later) and nothing on older ones (18.16
//! refuses the clause); and `{lc:TYPE}`, `LowCardinality(TYPE)` on the same modern servers and
//! plain `TYPE` on old ones (where it is experimental). Statements are separated by a line ending in `;`. Every statement is
//! idempotent (`IF NOT EXISTS`), so a run interrupted between a statement and its record is
//! simply run again.

use clickhouse::Row;
use tierstore_model::Result;

use crate::store::CoolStore;

/// One DDL file.
#[derive(Debug, Clone, Copy)]
pub struct Ddl {
    /// Its number: applied in this order.
    pub version: u32,
    /// Its name.
    pub name: &'static str,
    text: &'static str,
    /// In cluster mode, the tables it creates and the expression that picks a row's shard:
    /// the column of the row's identity that keeps related rows together.
    shard_by: &'static [(&'static str, &'static str)],
}

/// Every DDL file, in order.
pub const DDL: &[Ddl] = &[
    Ddl {
        version: 1,
        name: "0001_assets",
        text: include_str!("../../../migrations/clickhouse/0001_assets.sql"),
        shard_by: &[("assets", "cityHash64(account)")],
    },
    Ddl {
        version: 2,
        name: "0002_klines",
        text: include_str!("../../../migrations/clickhouse/0002_klines.sql"),
        shard_by: &[("klines", "cityHash64(code)")],
    },
    Ddl {
        version: 3,
        name: "0003_trades",
        text: include_str!("../../../migrations/clickhouse/0003_trades.sql"),
        shard_by: &[("trades", "cityHash64(account)")],
    },
];

/// A server's version as `SELECT version()` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    /// e.g. 18 or 24.
    pub major: u32,
    /// e.g. 16 or 8.
    pub minor: u32,
}

impl ServerVersion {
    /// Parses `18.16.1` or `24.8.14`; anything unparsable counts as the oldest server, so
    /// nothing an old server refuses is sent.
    pub fn parse(text: &str) -> Self {
        let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        ServerVersion { major: parts.next().unwrap_or(0), minor: parts.next().unwrap_or(0) }
    }

    /// Whether columns may carry `CODEC(...)` (ClickHouse 19.11 and later).
    pub fn has_codecs(self) -> bool {
        (self.major, self.minor) >= (19, 11)
    }

    /// Whether `LowCardinality(T)` may be used without experimental settings (18.16 wants
    /// `allow_experimental_low_cardinality_type`; from 19.11 on, as with codecs, it is plain).
    pub fn has_low_cardinality(self) -> bool {
        (self.major, self.minor) >= (19, 11)
    }
}

/// The statements of `text` for database `db` on a server of `version`.
pub fn render(text: &str, db: &str, version: ServerVersion) -> Vec<String> {
    let mut sql = text.replace("{db}", db);
    while let Some(start) = sql.find("{codec:") {
        let Some(len) = sql[start..].find('}') else { break };
        let spec = sql[start + 7..start + len].to_owned();
        let replacement = if version.has_codecs() { format!(" CODEC({spec})") } else { String::new() };
        sql.replace_range(start..start + len + 1, &replacement);
    }
    while let Some(start) = sql.find("{lc:") {
        let Some(len) = sql[start..].find('}') else { break };
        let ty = sql[start + 4..start + len].to_owned();
        let replacement = if version.has_low_cardinality() { format!("LowCardinality({ty})") } else { ty };
        sql.replace_range(start..start + len + 1, &replacement);
    }
    let without_comments: String =
        sql.lines().filter(|l| !l.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    without_comments
        .split(";\n")
        .map(str::trim)
        .map(|s| s.trim_end_matches(';').to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Cluster mode: a rendered `CREATE TABLE IF NOT EXISTS <db>.<t> ...` of a sharded table
/// becomes the same table as `<t>_local` (for every shard) and a `Distributed` table `<t>` over
/// them with the same column list (spelt out rather than `AS <t>_local`, so it can be created
/// on a query node that holds no local table); other statements stay as they are.
pub fn clustered(
    statement: &str,
    db: &str,
    cluster: &str,
    shard_by: &[(&str, &str)],
) -> (String, Option<String>) {
    for (table, key) in shard_by {
        let name = format!("{db}.{table}");
        let head = format!("CREATE TABLE IF NOT EXISTS {name} ");
        let head_paren = format!("CREATE TABLE IF NOT EXISTS {name}(");
        if statement.starts_with(&head) || statement.starts_with(&head_paren) {
            let local = statement.replacen(&name, &format!("{name}_local"), 1);
            let columns = statement.find(" ENGINE").map(|end| statement[head.len() - 1..end].trim());
            let Some(columns) = columns else { break };
            let distributed = format!(
                "CREATE TABLE IF NOT EXISTS {name} {columns} \
                 ENGINE = Distributed({cluster}, {db}, {table}_local, {key})"
            );
            return (local, Some(distributed));
        }
    }
    (statement.to_owned(), None)
}

/// One DDL file and whether it is applied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CoolMigration {
    /// Its number.
    pub version: u32,
    /// Its name.
    pub name: String,
    /// Whether it is applied.
    pub applied: bool,
}

#[derive(Row, serde::Deserialize)]
struct Applied {
    version: u32,
}

#[derive(Row, serde::Serialize)]
struct Record<'a> {
    version: u32,
    name: &'a str,
}

impl CoolStore {
    /// Every DDL file with whether it is applied.
    pub async fn schema_status(&self) -> Result<Vec<CoolMigration>> {
        let applied = self.applied_versions().await?;
        Ok(DDL
            .iter()
            .map(|d| CoolMigration {
                version: d.version,
                name: d.name.to_owned(),
                applied: applied.contains(&d.version),
            })
            .collect())
    }

    /// Creates the database if needed and applies every pending DDL file; returns the names
    /// applied. Running it again applies nothing.
    pub async fn schema_up(&self) -> Result<Vec<String>> {
        let db = &self.config().database;
        // 18.16 refuses requests naming a database that does not exist: create it from the
        // client without one.
        self.run_ddl(&format!("CREATE DATABASE IF NOT EXISTS {db}")).await?;
        self.run_ddl(&format!(
            "CREATE TABLE IF NOT EXISTS {db}.tierstore_schema_versions \
             (version UInt32, name String, applied_at DateTime DEFAULT now()) \
             ENGINE = ReplacingMergeTree ORDER BY version"
        ))
        .await?;
        let applied = self.applied_versions().await?;
        let mut done = Vec::new();
        for ddl in DDL.iter().filter(|d| !applied.contains(&d.version)) {
            let statements = render(ddl.text, db, self.server_version());
            match &self.config().cluster {
                None => {
                    for statement in statements {
                        self.run_ddl(&statement).await?;
                    }
                }
                Some(cluster) => {
                    // Local tables and the Distributed ones on every shard, so any shard can
                    // be asked; the Distributed ones also where `url` points.
                    let (local, distributed): (Vec<String>, Vec<Option<String>>) =
                        statements.iter().map(|st| clustered(st, db, cluster, ddl.shard_by)).unzip();
                    for shard in self.shards() {
                        self.run_on(shard, &format!("CREATE DATABASE IF NOT EXISTS {db}")).await?;
                        for statement in &local {
                            self.run_on(shard, statement).await?;
                        }
                    }
                    for statement in distributed.iter().flatten() {
                        for shard in self.shards() {
                            self.run_on(shard, statement).await?;
                        }
                        self.run_ddl(statement).await?;
                    }
                }
            }
            self.record(ddl).await?;
            tracing::info!(ddl = ddl.name, "cool schema applied");
            done.push(ddl.name.to_owned());
        }
        Ok(done)
    }

    async fn applied_versions(&self) -> Result<Vec<u32>> {
        let db = &self.config().database;
        let exists = self
            .request(
                self.server()
                    .query("SELECT count() FROM system.tables WHERE database = ? AND name = 'tierstore_schema_versions'")
                    .bind(db.as_str())
                    .fetch_one::<u64>(),
            )
            .await?;
        if exists == 0 {
            return Ok(Vec::new());
        }
        let rows = self
            .request(
                self.server()
                    .query(&format!(
                        "SELECT DISTINCT version FROM {db}.tierstore_schema_versions ORDER BY version"
                    ))
                    .fetch_all::<Applied>(),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.version).collect())
    }

    async fn record(&self, ddl: &Ddl) -> Result<()> {
        self.request(async {
            let mut insert = self.in_database().insert::<Record<'_>>("tierstore_schema_versions").await?;
            insert.write(&Record { version: ddl.version, name: ddl.name }).await?;
            insert.end().await
        })
        .await
    }

    async fn run_ddl(&self, sql: &str) -> Result<()> {
        self.run_on(self.server(), sql).await
    }

    async fn run_on(&self, client: &clickhouse::Client, sql: &str) -> Result<()> {
        self.request(client.query(sql).execute()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: ServerVersion = ServerVersion { major: 18, minor: 16 };
    const NEW: ServerVersion = ServerVersion { major: 24, minor: 8 };

    #[test]
    fn versions_parse_and_gate_codecs() {
        assert_eq!(ServerVersion::parse("18.16.1"), OLD);
        assert_eq!(ServerVersion::parse("24.8.14"), NEW);
        assert!(!OLD.has_codecs() && !OLD.has_low_cardinality());
        assert!(NEW.has_codecs() && NEW.has_low_cardinality());
        assert!(ServerVersion::parse("19.11.2").has_codecs());
        assert!(!ServerVersion::parse("19.10.9").has_codecs());
        assert!(!ServerVersion::parse("garbage").has_codecs());
    }

    #[test]
    fn cluster_mode_makes_a_local_table_and_a_distributed_one() {
        let create = "CREATE TABLE IF NOT EXISTS ts.klines (\n    code String,\n    date Date\n) ENGINE = ReplacingMergeTree(ver) ORDER BY (code, date)";
        let (local, dist) = clustered(create, "ts", "two", &[("klines", "cityHash64(code)")]);
        assert_eq!(
            local,
            "CREATE TABLE IF NOT EXISTS ts.klines_local (\n    code String,\n    date Date\n) ENGINE = ReplacingMergeTree(ver) ORDER BY (code, date)"
        );
        assert_eq!(
            dist.as_deref(),
            Some(
                "CREATE TABLE IF NOT EXISTS ts.klines (\n    code String,\n    date Date\n) ENGINE = Distributed(two, ts, klines_local, cityHash64(code))"
            )
        );
        let other = "CREATE TABLE IF NOT EXISTS ts.klines_extra (a UInt8) ENGINE = Memory";
        assert_eq!(
            clustered(other, "ts", "two", &[("klines", "cityHash64(code)")]),
            (other.to_owned(), None)
        );
    }

    #[test]
    fn placeholders_are_filled_per_server() {
        let text = "-- a comment;\nCREATE TABLE {db}.t (a UInt32{codec:Delta, ZSTD}, b {lc:String});\nCREATE TABLE {db}.u (c Date)\n";
        assert_eq!(
            render(text, "ts", OLD),
            ["CREATE TABLE ts.t (a UInt32, b String)", "CREATE TABLE ts.u (c Date)"]
        );
        assert_eq!(
            render(text, "ts", NEW),
            [
                "CREATE TABLE ts.t (a UInt32 CODEC(Delta, ZSTD), b LowCardinality(String))",
                "CREATE TABLE ts.u (c Date)"
            ]
        );
    }
}
