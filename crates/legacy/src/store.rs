//! Opening the layout, and the health probe.

use std::time::Instant;

use async_trait::async_trait;
use tierstore_model::{Endpoint, HealthProbe, ProbeReport, Result, StoreError, Tier};

use crate::config::LegacyConfig;

/// The legacy file layout of one deployment.
#[derive(Debug, Clone)]
pub struct LegacyStore {
    config: LegacyConfig,
}

/// What the probe reports as the "server version" of plain files.
pub const LAYOUT_VERSION: &str = "silverquant file layout";

impl LegacyStore {
    /// Opens the layout: every configured directory must exist and be a readable directory.
    pub async fn open(config: LegacyConfig) -> Result<Self> {
        let store = LegacyStore { config };
        store.check_directories().await?;
        Ok(store)
    }

    /// The configuration in use.
    pub fn config(&self) -> &LegacyConfig {
        &self.config
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
