//! A database of one's own on the test ClickHouse server.

use crate::{block_on_cleanup, clickhouse_url, service_missing, unique_suffix};

/// A randomly named ClickHouse database, dropped on drop.
#[derive(Debug)]
pub struct ClickhouseDatabase {
    url: String,
    name: String,
}

fn client(url: &str) -> clickhouse::Client {
    // 18.16 knows neither the crate's validation format nor its settings: see
    // shared/spec/clickhouse-18.md.
    clickhouse::Client::default().with_url(url).with_validation(false)
}

impl ClickhouseDatabase {
    /// Creates `tierstore_test_<random>` (from a client without a database: 18.16 refuses
    /// requests naming a database that does not exist yet).
    pub async fn create() -> Self {
        let url = clickhouse_url();
        let name = format!("tierstore_test_{}", unique_suffix());
        let create = client(&url).query(&format!("CREATE DATABASE {name}")).execute();
        match tokio::time::timeout(std::time::Duration::from_secs(10), create).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => service_missing("ClickHouse", "TIERSTORE_TEST_CLICKHOUSE_URL", &url, &e),
            Err(_) => {
                service_missing("ClickHouse", "TIERSTORE_TEST_CLICKHOUSE_URL", &url, &"no answer within 10 s")
            }
        }
        ClickhouseDatabase { url, name }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's HTTP URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The single number a query of the test's own returns (`SELECT count() ...`); panics
    /// with the server's message if it fails.
    pub async fn number(&self, sql: &str) -> u64 {
        match client(&self.url).query(sql).fetch_one::<u64>().await {
            Ok(n) => n,
            Err(e) => panic!("test query failed: {e}\n{sql}"),
        }
    }

    /// Runs a statement of the test's own (a trap table, a look at `system.parts`); panics
    /// with the server's message if it fails.
    pub async fn execute(&self, sql: &str) {
        if let Err(e) = client(&self.url).query(sql).execute().await {
            panic!("test statement failed: {e}\n{sql}");
        }
    }
}

impl Drop for ClickhouseDatabase {
    fn drop(&mut self) {
        let url = self.url.clone();
        let name = self.name.clone();
        block_on_cleanup(async move {
            let _ = client(&url).query(&format!("DROP DATABASE IF EXISTS {name}")).execute().await;
        });
    }
}
