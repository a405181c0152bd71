//! A key prefix of one's own on the test Redis.

use redis::AsyncCommands;

use crate::{block_on_cleanup, redis_url, service_missing, unique_suffix};

/// A random key prefix; every key under it is deleted on drop.
#[derive(Debug)]
pub struct RedisNamespace {
    url: String,
    prefix: String,
}

impl RedisNamespace {
    /// Checks the test Redis answers and picks a fresh prefix `test-<random>`.
    pub async fn new() -> Self {
        let url = redis_url();
        let client = redis::Client::open(url.as_str())
            .unwrap_or_else(|e| service_missing("Redis", "TIERSTORE_TEST_REDIS_URL", &url, &e));
        let ping = async {
            let mut c = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut c).await
        };
        match tokio::time::timeout(std::time::Duration::from_secs(3), ping).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => service_missing("Redis", "TIERSTORE_TEST_REDIS_URL", &url, &e),
            Err(_) => service_missing("Redis", "TIERSTORE_TEST_REDIS_URL", &url, &"no answer within 3 s"),
        }
        RedisNamespace { url, prefix: format!("test-{}", unique_suffix()) }
    }

    /// The server URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The prefix (use it as the store's namespace).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Keys currently under the prefix (for tests that check clean-up or key layout).
    pub async fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url.as_str()).expect("redis url");
        let mut c = client.get_multiplexed_async_connection().await.expect("redis connection");
        let mut keys: Vec<String> = Vec::new();
        let mut iter: redis::AsyncIter<String> =
            c.scan_match(format!("{}*", self.prefix)).await.expect("SCAN");
        while let Some(k) = iter.next_item().await {
            keys.push(k.expect("SCAN item"));
        }
        keys
    }

    /// Deletes every key under the prefix: what a Redis restarted without persistence holds.
    pub async fn wipe(&self) {
        let client = redis::Client::open(self.url.as_str()).expect("redis url");
        let mut c = client.get_multiplexed_async_connection().await.expect("redis connection");
        let keys = self.keys().await;
        for chunk in keys.chunks(500) {
            let _: () = c.del(chunk).await.expect("DEL");
        }
    }
}

impl Drop for RedisNamespace {
    fn drop(&mut self) {
        let url = self.url.clone();
        let pattern = format!("{}*", self.prefix);
        block_on_cleanup(async move {
            let Ok(client) = redis::Client::open(url.as_str()) else { return };
            let Ok(mut c) = client.get_multiplexed_async_connection().await else { return };
            let mut keys: Vec<String> = Vec::new();
            if let Ok(mut iter) = c.scan_match::<_, String>(&pattern).await {
                while let Some(Ok(k)) = iter.next_item().await {
                    keys.push(k);
                }
            }
            for chunk in keys.chunks(500) {
                let _: Result<(), _> = c.del(chunk).await;
            }
        });
    }
}
