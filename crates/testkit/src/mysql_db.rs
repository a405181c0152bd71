//! A database of one's own on the test MySQL/MariaDB server.

use sea_orm::{ConnectionTrait, Database};

use crate::{block_on_cleanup, mysql_url, service_missing, unique_suffix};

/// A randomly named database, dropped on drop (with any user made for it).
#[derive(Debug)]
pub struct MysqlDatabase {
    server: String,
    name: String,
    users: std::sync::Mutex<Vec<String>>,
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
        MysqlDatabase { server, name, users: std::sync::Mutex::new(Vec::new()) }
    }

    /// A user of its own with `password` (letters, digits and `-_./%+` only) and every right
    /// on this database; returns a URL that logs in as it (the password percent-encoded as
    /// given). The user is dropped with the database.
    pub async fn user_with_password(&self, password: &str) -> String {
        assert!(
            password.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./%+".contains(&b)),
            "keep test passwords simple"
        );
        let user = format!("tsu_{}", &unique_suffix()[..12]);
        let plain = percent_encoding::percent_decode_str(password).decode_utf8_lossy();
        let db = Database::connect(self.server.as_str()).await.expect("the test server answers");
        for sql in [
            format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{plain}'"),
            format!("GRANT ALL ON `{}`.* TO '{user}'@'127.0.0.1'", self.name),
        ] {
            db.execute_unprepared(&sql).await.expect("creating a test user");
        }
        let _ = db.close().await;
        self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(user.clone());
        let host = self.server.rsplit_once('@').map_or(self.server.as_str(), |(_, h)| h);
        format!("mysql://{user}:{password}@{}/{}", host.trim_end_matches('/'), self.name)
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
        let users =
            std::mem::take(&mut *self.users.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        block_on_cleanup(async move {
            if let Ok(db) = Database::connect(server.as_str()).await {
                for u in users {
                    let _ = db.execute_unprepared(&format!("DROP USER IF EXISTS '{u}'@'127.0.0.1'")).await;
                }
                let _ = db.execute_unprepared(&format!("DROP DATABASE IF EXISTS `{name}`")).await;
                let _ = db.close().await;
            }
        });
    }
}
