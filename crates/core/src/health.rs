//! Health of every configured service: status, server version, round-trip latency.

use std::time::Duration;

use futures::future::join_all;
use tierstore_cool::CoolStore;
use tierstore_hot::HotStore;
use tierstore_legacy::LegacyStore;
use tierstore_model::{Endpoint, HealthProbe, Result, Tier};
use tierstore_warm::WarmStore;

use crate::config::Config;

/// Up or down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Connected and answered.
    Up,
    /// Could not connect, or did not answer.
    Down,
}

/// One service's health.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServiceHealth {
    /// The tier.
    pub tier: Tier,
    /// The service, e.g. `redis`.
    pub service: String,
    /// Where, passwords redacted.
    pub address: String,
    /// Up or down.
    pub status: HealthStatus,
    /// The server's version, when up.
    pub version: Option<String>,
    /// One round trip on an established connection, in milliseconds, when up.
    pub latency_ms: Option<f64>,
    /// One line saying why, when down (names the service and address, passwords redacted).
    pub error: Option<String>,
}

impl ServiceHealth {
    fn up(endpoint: Endpoint, version: String, round_trip: Duration) -> Self {
        ServiceHealth {
            tier: endpoint.tier,
            service: endpoint.service,
            address: endpoint.address,
            status: HealthStatus::Up,
            version: Some(version),
            latency_ms: Some(round_trip.as_secs_f64() * 1000.0),
            error: None,
        }
    }

    fn down(endpoint: Endpoint, error: String) -> Self {
        ServiceHealth {
            tier: endpoint.tier,
            service: endpoint.service,
            address: endpoint.address,
            status: HealthStatus::Down,
            version: None,
            latency_ms: None,
            error: Some(error),
        }
    }
}

async fn probe<S: HealthProbe>(
    endpoint: Endpoint,
    connect: impl Future<Output = Result<S>>,
) -> ServiceHealth {
    let result = match connect.await {
        Ok(store) => store.probe().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(r) => ServiceHealth::up(endpoint, r.version, r.round_trip),
        Err(e) => ServiceHealth::down(endpoint, e.to_string()),
    }
}

/// Connects to every configured service concurrently and probes it. Each connection is bounded
/// by its tier's own timeout, so a dead service costs at most that long.
pub async fn check_health(config: &Config) -> Vec<ServiceHealth> {
    let mut checks: Vec<futures::future::BoxFuture<'_, ServiceHealth>> = Vec::new();
    if let Some(c) = &config.redis {
        checks.push(Box::pin(probe(c.endpoint(), HotStore::connect(c.clone()))));
    }
    if let Some(c) = &config.warm {
        checks.push(Box::pin(probe(c.endpoint(), WarmStore::connect(c.clone()))));
    }
    if let Some(c) = &config.clickhouse {
        checks.push(Box::pin(probe(c.endpoint(), CoolStore::connect(c.clone()))));
    }
    if let Some(c) = config.legacy_config() {
        checks.push(Box::pin(probe(c.endpoint(), LegacyStore::open(c))));
    }
    join_all(checks).await
}
