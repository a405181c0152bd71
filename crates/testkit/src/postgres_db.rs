//! A database of one's own on the test PostgreSQL server.

use sea_orm::{ConnectionTrait, Database};

use crate::{block_on_cleanup, postgres_url, service_missing, unique_suffix};

/// A randomly named database, dropped (with `FORCE`, ending open sessions) on drop.
#[derive(Debug)]
pub struct PostgresDatabase {
    server: String,
    name: String,
}

impl PostgresDatabase {
    /// Creates `tierstore_test_<random>` on the test server.
    pub async fn create() -> Self {
        let server = postgres_url();
        let name = format!("tierstore_test_{}", unique_suffix());
        let create = async {
            let db = Database::connect(server.as_str()).await?;
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'")).await?;
            db.close().await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), create).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => service_missing("PostgreSQL", "TIERSTORE_TEST_POSTGRES_URL", &server, &e),
            Err(_) => service_missing(
                "PostgreSQL",
                "TIERSTORE_TEST_POSTGRES_URL",
                &server,
                &"no answer within 10 s",
            ),
        }
        PostgresDatabase { server, name }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL of the server with this database selected.
    pub fn url(&self) -> String {
        let base = self.server.rsplit_once('/').map_or(self.server.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        block_on_cleanup(async move {
            if let Ok(db) = Database::connect(server.as_str()).await {
                let _ =
                    db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
                let _ = db.close().await;
            }
        });
    }
}
