//! The schema's migrations on each engine: up on an empty database, status, down to zero and
//! up again; up twice changes nothing; a store refuses to open on a schema that is not current.
//! And what the tables hold: money as exact text on SQLite, no password or token in the clear.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use sea_orm::{ConnectionTrait, Database, Statement};
use tierstore_model::{
    AccountId, AccountStore, Broker, Email, NewAccount, NewUser, Role, Secret, SecretUrl, UserStore, Username,
};
use tierstore_testkit::{WarmDatabase, WarmEngine};
use tierstore_warm::{WarmConfig, WarmStore};

const MIGRATIONS: [&str; 5] = [
    "m20261130_000001_accounts_strategies",
    "m20261130_000002_users",
    "m20261130_000003_seed_roles",
    "m20261130_000004_migration_state",
    "m20261207_000005_migration_records",
];

fn config(db: &WarmDatabase) -> WarmConfig {
    WarmConfig::new(SecretUrl::parse("warm.url", &db.url()).unwrap())
}

fn applied(status: &[tierstore_warm::SchemaMigration]) -> Vec<&str> {
    status.iter().filter(|m| m.applied).map(|m| m.name.as_str()).collect()
}

async fn up_down_up(engine: WarmEngine) {
    let db = WarmDatabase::create(engine).await;
    let store = WarmStore::connect(config(&db)).await.unwrap();
    let status = store.schema_status().await.unwrap();
    assert_eq!(status.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), MIGRATIONS);
    assert!(applied(&status).is_empty());
    let err = WarmStore::open(config(&db)).await.unwrap_err();
    assert!(err.to_string().contains("5 migration(s) pending"), "{err}");
    assert!(err.to_string().contains("storectl schema up"), "{err}");

    assert_eq!(store.schema_up(None).await.unwrap(), MIGRATIONS);
    assert_eq!(applied(&store.schema_status().await.unwrap()), MIGRATIONS);
    assert!(store.schema_up(None).await.unwrap().is_empty(), "a second up applies nothing");
    let opened = WarmStore::open(config(&db)).await.unwrap();
    opened.create_account(&account("kept")).await.unwrap();
    assert!(store.schema_up(None).await.unwrap().is_empty());
    assert_eq!(opened.list_accounts(None).await.unwrap().len(), 1, "up twice changes no data");

    assert_eq!(store.schema_down(Some(1)).await.unwrap(), ["m20261207_000005_migration_records"]);
    let reverted = store.schema_down(None).await.unwrap();
    assert_eq!(reverted.len(), 4, "{reverted:?}");
    assert!(applied(&store.schema_status().await.unwrap()).is_empty());
    assert!(store.schema_down(None).await.unwrap().is_empty(), "nothing left to revert");
    assert_eq!(store.schema_up(None).await.unwrap(), MIGRATIONS);
    let opened = WarmStore::open(config(&db)).await.unwrap();
    assert!(opened.list_accounts(None).await.unwrap().is_empty(), "down dropped the tables");
    store.schema_fresh().await.unwrap();
    assert_eq!(applied(&store.schema_status().await.unwrap()), MIGRATIONS);
}

fn account(id: &str) -> NewAccount {
    NewAccount {
        id: AccountId::new(id).unwrap(),
        name: id.into(),
        broker: Broker::Qmt,
        initial_capital: "12345678901234.5678".parse().unwrap(),
    }
}

#[tokio::test]
async fn schema_up_down_up_on_mysql() {
    up_down_up(WarmEngine::Mysql).await;
}

#[tokio::test]
async fn schema_up_down_up_on_postgres() {
    up_down_up(WarmEngine::Postgres).await;
}

#[tokio::test]
async fn schema_up_down_up_on_sqlite() {
    up_down_up(WarmEngine::Sqlite).await;
}

async fn migrated(engine: WarmEngine) -> (WarmDatabase, WarmStore) {
    let db = WarmDatabase::create(engine).await;
    let store = WarmStore::connect(config(&db)).await.unwrap();
    store.schema_up(None).await.unwrap();
    (db, store)
}

async fn raw_strings(url: &str, sql: &str) -> Vec<String> {
    let conn = Database::connect(url).await.unwrap();
    let rows = conn.query_all_raw(Statement::from_string(conn.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get_by_index::<String>(0).unwrap()).collect()
}

#[tokio::test]
async fn sqlite_keeps_money_as_exact_text_not_real() {
    let (db, store) = migrated(WarmEngine::Sqlite).await;
    store.create_account(&account("exact")).await.unwrap();
    // The pitfall: a DECIMAL column in SQLite has REAL affinity and rounds through f64.
    let stored =
        raw_strings(&db.url(), "SELECT typeof(initial_capital) || ' ' || initial_capital FROM accounts")
            .await;
    assert_eq!(stored, ["text 12345678901234.5678"]);
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_so_readers_do_not_wait_for_a_writer() {
    let (db, _store) = migrated(WarmEngine::Sqlite).await;
    assert_eq!(raw_strings(&db.url(), "PRAGMA journal_mode").await, ["wal"]);
}

#[tokio::test]
async fn neither_passwords_nor_session_tokens_are_stored_in_the_clear() {
    for engine in [WarmEngine::Mysql, WarmEngine::Postgres, WarmEngine::Sqlite] {
        let (db, store) = migrated(engine).await;
        let password = "pl41n-text-Passw0rd";
        let new = NewUser {
            username: Username::new("ops").unwrap(),
            email: Email::new("ops@example.cn").unwrap(),
            password: Secret::new(password.to_owned()),
            roles: vec![Role::Admin],
        };
        store.register(&new).await.unwrap();
        let session = store.login(&new.username, &new.password, None).await.unwrap();
        let hashes = raw_strings(&db.url(), "SELECT password_hash FROM users").await;
        assert!(hashes[0].starts_with("$argon2id$v=19$"), "{engine:?}: {}", hashes[0]);
        assert!(!hashes[0].contains(password));
        let tokens = raw_strings(&db.url(), "SELECT token_hash FROM user_sessions").await;
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].len(), 64, "a SHA-256 in hex");
        // Every text column of both tables, one by one: neither secret appears anywhere.
        let token = session.token.expose();
        let secret_part = token.trim_start_matches("tss_");
        for column in ["username", "email", "password_hash", "status", "last_login_ip"] {
            for v in raw_strings(&db.url(), &format!("SELECT COALESCE({column}, '') FROM users")).await {
                assert!(!v.contains(password) && !v.contains(secret_part), "{engine:?} users.{column}: {v}");
            }
        }
        for column in ["token_hash", "username", "ip"] {
            for v in
                raw_strings(&db.url(), &format!("SELECT COALESCE({column}, '') FROM user_sessions")).await
            {
                assert!(
                    !v.contains(secret_part) && !v.contains(password),
                    "{engine:?} user_sessions.{column}: {v}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_sqlite_writer_waits_for_the_write_lock_within_the_operation_timeout() {
    let db = WarmDatabase::create(WarmEngine::Sqlite).await;
    let mut config = config(&db);
    config.timeout_ms = 2000;
    let store = WarmStore::connect(config.clone()).await.unwrap();
    store.schema_up(None).await.unwrap();
    let mut opts = sea_orm::ConnectOptions::new(db.url());
    opts.max_connections(1).sqlx_logging(false);
    let holder = Database::connect(opts).await.unwrap();
    holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();

    // Released after 300 ms: the writer queues and then succeeds.
    let release = {
        let holder = holder.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            holder.execute_unprepared("COMMIT").await.unwrap();
        })
    };
    store.create_account(&account("queued")).await.unwrap();
    release.await.unwrap();

    // Held past the timeout: the writer gives up with Unavailable, and nothing is written.
    holder.execute_unprepared("BEGIN IMMEDIATE").await.unwrap();
    config.timeout_ms = 300;
    let impatient = WarmStore::connect(config).await.unwrap();
    let err = impatient.create_account(&account("refused")).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    holder.execute_unprepared("COMMIT").await.unwrap();
    let ids: Vec<String> =
        store.list_accounts(None).await.unwrap().into_iter().map(|a| a.id.to_string()).collect();
    assert_eq!(ids, ["queued"]);
}
