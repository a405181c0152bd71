//! Health probes: is a tier's service reachable, which version is it, how far away is it.

use std::time::Duration;

use crate::error::{Result, Tier};

/// Where a tier's service lives, safe to print.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Endpoint {
    /// The tier.
    pub tier: Tier,
    /// The service, e.g. `redis`, `mysql`, `sqlite`, `clickhouse`, `files`.
    pub service: String,
    /// Address with any password redacted.
    pub address: String,
}

/// A successful probe.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbeReport {
    /// The server's own version string.
    pub version: String,
    /// Round trip of the cheapest request the service answers.
    pub round_trip: Duration,
}

/// Every tier answers a health probe.
#[async_trait::async_trait]
pub trait HealthProbe: Send + Sync {
    /// Where this tier's service lives.
    fn endpoint(&self) -> Endpoint;

    /// Asks the service for its version and measures one round trip. A failure is
    /// [`crate::StoreError::Unavailable`] naming the service and address.
    async fn probe(&self) -> Result<ProbeReport>;
}
