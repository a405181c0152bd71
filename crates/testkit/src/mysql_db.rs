//! A database of one's own on the test MySQL/MariaDB server.

use sea_orm::{ConnectionTrait, Database};

use crate::{block_on_cleanup, mysql_url, service_missing, unique_suffix};

/// A randomly named database, dropped on drop.
#[derive(Debug)]
pub struct MysqlDatabase {
    server: String,
    name: String,
}

impl MysqlDatabase {
    /// Creates `tierstore_test_<random>` on the test server.
    pub async fn create() -> Self {
        let server = mysql_url();
        let name = format!("tierstore_test_{}", unique_suffix());
        let create = async {
            let db = Database::connect(server.as_str()).await?;
            db.execute_unprepared(&format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            ))
            .await?;
            db.close().await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), create).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => service_missing("MySQL", "TIERSTORE_TEST_MYSQL_URL", &server, &e),
            Err(_) => service_missing("MySQL", "TIERSTORE_TEST_MYSQL_URL", &server, &"no answer within 10 s"),
        }
        MysqlDatabase { server, name }
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A URL of the server with this database selected.
    pub fn url(&self) -> String {
        format!("{}/{}", self.server.trim_end_matches('/'), self.name)
    }

    /// The server URL without a database.
    pub fn server_url(&self) -> &str {
        &self.server
    }
}

impl Drop for MysqlDatabase {
    fn drop(&mut self) {
        let server = self.server.clone();
        let name = self.name.clone();
        block_on_cleanup(async move {
            if let Ok(db) = Database::connect(server.as_str()).await {
                let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
                let _ = db.close().await;
            }
        });
    }
}
