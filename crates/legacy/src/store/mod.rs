//! `LegacyStore`: the store traits on the legacy layout, one module per role.
//!
//! File work is blocking, so every call runs on tokio's blocking pool; streams run their
//! producer there too and hand batches over a bounded channel (constant memory; the producer
//! stops when the consumer drops the stream), and a producer that fails — even by panicking —
//! ends the stream with an error, never with a clean end that would pass for the whole data.
//! Writers take the directory lock; readers do not need it, because our rewrites are atomic
//! renames.

mod assets;
mod klines;
mod positions;
mod trades;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tierstore_model::task_stream::{TaskFailure, task_stream};
use tierstore_model::{
    AccountId, Clock, Endpoint, HealthProbe, ProbeReport, Result, StoreError, SystemClock, Tier, TradeDate,
};

use crate::config::LegacyConfig;

/// Batches a stream may run ahead of its consumer.
const STREAM_DEPTH: usize = 4;

/// The legacy file layout of one deployment.
#[derive(Debug, Clone)]
pub struct LegacyStore {
    config: Arc<LegacyConfig>,
    clock: Arc<dyn Clock>,
    journal_counts: Arc<trades::JournalCounts>,
}

/// What the probe reports as the "server version" of plain files.
pub const LAYOUT_VERSION: &str = "silverquant file layout";

impl LegacyStore {
    /// Opens the layout: every configured directory must exist and be a readable directory.
    pub async fn open(config: LegacyConfig) -> Result<Self> {
        let store = LegacyStore {
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            journal_counts: Arc::default(),
        };
        store.check_directories().await?;
        Ok(store)
    }

    /// The same store reading "now" from `clock` (tests; replays).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &LegacyConfig {
        &self.config
    }

    /// Today's market date by the store's clock in the configured timezone (never the host's).
    pub fn market_today(&self) -> Result<TradeDate> {
        tierstore_model::market_today(self.clock.as_ref(), &self.config.timezone)
    }

    async fn check_directories(&self) -> Result<()> {
        for dir in self.config.directories() {
            let unavailable = |cause: String| {
                StoreError::unavailable(Tier::Legacy, "files", dir.display().to_string(), cause)
            };
            let meta = tokio::fs::metadata(&dir).await.map_err(|e| unavailable(e.to_string()))?;
            if !meta.is_dir() {
                return Err(unavailable("not a directory".into()));
            }
            let _listing =
                tokio::fs::read_dir(&dir).await.map_err(|e| unavailable(format!("cannot list: {e}")))?;
        }
        Ok(())
    }

    fn account_dir(&self, account: &AccountId) -> Result<PathBuf> {
        self.config
            .accounts
            .get(account)
            .cloned()
            .ok_or_else(|| StoreError::not_found("account (no legacy directory configured)", account))
    }

    fn daily_dir(&self) -> Result<PathBuf> {
        self.config.daily_dir.clone().ok_or_else(|| {
            StoreError::unavailable(
                Tier::Legacy,
                "files",
                "(none)",
                "no kline folder configured (legacy.daily_dir)",
            )
        })
    }

    /// Account directories a query covers, each once, sorted (also the lock order).
    fn dirs_of(&self, accounts: &[AccountId]) -> Result<Vec<(AccountId, PathBuf)>> {
        if accounts.is_empty() {
            return Ok(self.config.accounts.iter().map(|(a, d)| (a.clone(), d.clone())).collect());
        }
        let unique: BTreeSet<&AccountId> = accounts.iter().collect();
        unique.into_iter().map(|a| Ok((a.clone(), self.account_dir(a)?))).collect()
    }
}

fn worker_failed(e: &tokio::task::JoinError) -> StoreError {
    StoreError::unavailable(Tier::Legacy, "files", "(file worker)", format!("the file worker failed: {e}"))
}

/// Runs blocking file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| worker_failed(&e))?
}

/// A stream fed by `produce` on tokio's blocking pool through a bounded channel
/// ([`task_stream`]: a producer that panics ends the stream with that error).
fn spawn_stream<T: Send + 'static>(
    produce: impl FnOnce(&tokio::sync::mpsc::Sender<Result<T>>) + Send + 'static,
) -> BoxStream<'static, Result<T>> {
    let failed = |f: TaskFailure| match f {
        TaskFailure::NoRuntime => {
            StoreError::unavailable(Tier::Legacy, "files", "(file worker)", "streams need a tokio runtime")
        }
        TaskFailure::Panicked(e) => worker_failed(&e),
    };
    task_stream(STREAM_DEPTH, failed, move |runtime, tx| runtime.spawn_blocking(move || produce(&tx)))
}

/// A stream of one error.
fn failed<'a, T: Send + 'a>(e: StoreError) -> BoxStream<'a, Result<T>> {
    Box::pin(futures::stream::once(async move { Err(e) }))
}

#[async_trait]
impl HealthProbe for LegacyStore {
    fn endpoint(&self) -> Endpoint {
        self.config.endpoint()
    }

    async fn probe(&self) -> Result<ProbeReport> {
        let start = Instant::now();
        self.check_directories().await?;
        Ok(ProbeReport { version: LAYOUT_VERSION.into(), round_trip: start.elapsed() })
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_producer_that_panics_ends_the_stream_with_an_error() {
        let items: Vec<Result<u32>> = spawn_stream(|tx| {
            let _ = tx.blocking_send(Ok(1));
            let _ = tx.blocking_send(Ok(2));
            panic!("the parser hit a bug");
        })
        .collect()
        .await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!((items[0].as_ref().ok(), items[1].as_ref().ok()), (Some(&1), Some(&2)));
        let e = items[2].as_ref().unwrap_err();
        assert!(e.to_string().contains("the file worker failed"), "{e}");
        assert!(e.to_string().contains("the parser hit a bug"), "{e}");
    }

    #[tokio::test]
    async fn a_producer_that_finishes_ends_the_stream_cleanly() {
        let items: Vec<Result<u32>> = spawn_stream(|tx| {
            let _ = tx.blocking_send(Ok(7));
        })
        .collect()
        .await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().ok(), Some(&7));
    }
}
