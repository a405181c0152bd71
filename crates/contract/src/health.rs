//! The health-probe contract.

use std::time::Duration;

use tierstore_model::{HealthProbe, Tier};

/// A connected store answers its probe with the server's version and a plausible round trip,
/// and names its service and address without a password.
pub async fn probe_reports_version_and_round_trip(store: &dyn HealthProbe, tier: Tier, timeout: Duration) {
    let endpoint = store.endpoint();
    assert_eq!(endpoint.tier, tier, "endpoint names the tier");
    assert!(!endpoint.service.is_empty(), "endpoint names the service");
    assert!(!endpoint.address.is_empty(), "endpoint names the address");

    let report =
        store.probe().await.unwrap_or_else(|e| panic!("probe of a connected {tier} store failed: {e}"));
    assert!(
        !report.version.is_empty() && report.version != "unknown",
        "probe reports the server version, got {:?}",
        report.version
    );
    assert!(report.round_trip > Duration::ZERO, "round trip is measured");
    assert!(report.round_trip < timeout, "round trip {:?} within the timeout {timeout:?}", report.round_trip);

    // Probing is repeatable and does not change anything a second probe would see.
    let again = store.probe().await.unwrap_or_else(|e| panic!("second probe failed: {e}"));
    assert_eq!(again.version, report.version);
}

/// An endpoint built from a URL with a password never shows the password.
pub fn endpoint_hides_password(store: &dyn HealthProbe, password: &str) {
    let endpoint = store.endpoint();
    assert!(!endpoint.address.contains(password), "address {:?} shows the password", endpoint.address);
}
