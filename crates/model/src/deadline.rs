//! One rule for every tier: a call that does not answer within its deadline is
//! [`StoreError::Unavailable`] naming the service and the deadline — never a hang, never a
//! driver-specific error. Tiers wrap each driver call (already mapped to [`StoreError`]) in
//! [`within`].

use std::time::Duration;

use crate::error::{Result, StoreError};
use crate::health::Endpoint;

/// Runs `call`, giving up after `limit` with `Unavailable` for `endpoint`.
pub async fn within<T>(
    endpoint: &Endpoint,
    limit: Duration,
    call: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(endpoint, limit)),
    }
}

/// The error of a call to `endpoint` that found no answer within `limit`.
pub fn timed_out(endpoint: &Endpoint, limit: Duration) -> StoreError {
    StoreError::unavailable(
        endpoint.tier,
        endpoint.service.clone(),
        endpoint.address.clone(),
        format!("no answer within {} ms", limit.as_millis()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Tier;

    fn endpoint() -> Endpoint {
        Endpoint { tier: Tier::Cool, service: "clickhouse".into(), address: "http://127.0.0.1:1".into() }
    }

    #[tokio::test]
    async fn a_silent_call_is_unavailable_at_its_deadline() {
        let started = std::time::Instant::now();
        let err = within(&endpoint(), Duration::from_millis(50), std::future::pending::<Result<()>>())
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500));
        assert_eq!(
            err.to_string(),
            "cool tier (clickhouse at http://127.0.0.1:1) unavailable: no answer within 50 ms"
        );
    }

    #[tokio::test]
    async fn an_answer_in_time_passes_through_with_its_own_error() {
        let ok = within(&endpoint(), Duration::from_secs(1), async { Ok(7) }).await.unwrap();
        assert_eq!(ok, 7);
        let e = within(&endpoint(), Duration::from_secs(1), async {
            Err::<(), _>(StoreError::not_found("account", "x"))
        })
        .await
        .unwrap_err();
        assert!(matches!(e, StoreError::NotFound { .. }));
    }
}
