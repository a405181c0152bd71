//! One connection type over a single Redis and a Redis Cluster: both reconnect by themselves
//! and both are cheap to clone (clones share the multiplexed connection).

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, RedisResult, ScriptInvocation};

use crate::config::HotConfig;

#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl Conn {
    /// Builds the connection without waiting for the server; the first command connects.
    pub async fn open(config: &HotConfig) -> RedisResult<Conn> {
        let timeout = config.timeout();
        if config.cluster {
            let client = redis::cluster::ClusterClient::builder(vec![config.url.expose().as_str()])
                .connection_timeout(timeout)
                .response_timeout(timeout)
                .retries(1)
                .build()?;
            return Ok(Conn::Cluster(client.get_async_connection().await?));
        }
        let client = redis::Client::open(config.url.expose().as_str())?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(std::time::Duration::from_millis(20))
            .set_max_delay(timeout / 4);
        Ok(Conn::Single(ConnectionManager::new_lazy_with_config(client, manager_config)?))
    }

    /// Whether keys of different slots must go in separate commands.
    pub fn is_cluster(&self) -> bool {
        matches!(self, Conn::Cluster(_))
    }

    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> RedisResult<T> {
        match self.clone() {
            Conn::Single(mut c) => cmd.query_async(&mut c).await,
            Conn::Cluster(mut c) => cmd.query_async(&mut c).await,
        }
    }

    /// Two string keys in one round trip where the topology allows it: one `MGET` on a single
    /// server; two concurrent `GET`s (to whichever nodes own them) in a cluster.
    pub async fn get_two(&self, a: &str, b: &str) -> RedisResult<(Option<String>, Option<String>)> {
        match self.clone() {
            Conn::Single(mut c) => {
                let (x, y): (Option<String>, Option<String>) =
                    redis::cmd("MGET").arg(a).arg(b).query_async(&mut c).await?;
                Ok((x, y))
            }
            Conn::Cluster(c) => {
                let (mut c1, mut c2) = (c.clone(), c);
                let ga = redis::cmd("GET").arg(a).to_owned();
                let gb = redis::cmd("GET").arg(b).to_owned();
                futures::try_join!(ga.query_async(&mut c1), gb.query_async(&mut c2))
            }
        }
    }

    /// EVALSHA, loading the script first when the server does not know it (after a restart).
    pub async fn invoke<T: FromRedisValue>(&self, inv: &ScriptInvocation<'_>) -> RedisResult<T> {
        match self.clone() {
            Conn::Single(mut c) => inv.invoke_async(&mut c).await,
            Conn::Cluster(mut c) => inv.invoke_async(&mut c).await,
        }
    }
}
