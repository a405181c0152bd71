//! A stream whose items a task of its own produces, so producing (queries, decoding) runs
//! beside the caller's work on the items already sent.

use futures::StreamExt as _;
use futures::stream::BoxStream;
use tierstore_model::{Endpoint, Result, StoreError};
use tokio::sync::mpsc::Sender;

/// Items the producer may send ahead of the caller.
const AHEAD: usize = 2;

/// The producer, aborted when the stream is dropped before it ends.
struct Producer(Option<tokio::task::JoinHandle<()>>);

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// Runs `produce` as a task sending up to [`AHEAD`] items ahead of the caller. The stream ends
/// when the producer returns; a producer that panics ends it with an error, never early (a
/// caller comparing rows would take a short stream for missing rows). Without a tokio runtime
/// the stream is that one error. Asked again after its end, the stream is still at its end (a
/// merge peeks at both sides). `what` names the stream in errors.
pub(crate) fn stream<T, F>(
    endpoint: Endpoint,
    what: &'static str,
    produce: impl FnOnce(Sender<Result<T>>) -> F,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let failed = move |cause: String| {
        StoreError::unavailable(endpoint.tier, endpoint.service.clone(), endpoint.address.clone(), cause)
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        let e = failed(format!("a {what} needs a tokio runtime"));
        return futures::stream::once(async move { Err(e) }).boxed();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<T>>(AHEAD);
    let producer = Producer(Some(runtime.spawn(produce(tx))));
    futures::stream::unfold((rx, producer), move |(mut rx, mut producer)| {
        let failed = failed.clone();
        async move {
            if let Some(item) = rx.recv().await {
                return Some((item, (rx, producer)));
            }
            // The channel closed: the producer returned, or panicked.
            match producer.0.take()?.await {
                Ok(()) => None,
                Err(e) => Some((Err(failed(format!("the {what}'s reader failed: {e}"))), (rx, producer))),
            }
        }
    })
    .fuse()
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use futures::TryStreamExt as _;
    use tierstore_model::Tier;

    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint { tier: Tier::Cool, service: "clickhouse".into(), address: "127.0.0.1:8123".into() }
    }

    #[tokio::test]
    async fn items_come_in_order_and_the_end_stays_the_end() {
        let mut s = stream(endpoint(), "test stream", |tx| async move {
            for i in 0..5u32 {
                if tx.send(Ok(i)).await.is_err() {
                    return;
                }
            }
        });
        let mut got = Vec::new();
        while let Some(i) = s.try_next().await.unwrap() {
            got.push(i);
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert!(s.try_next().await.unwrap().is_none(), "asked again after the end");
    }

    #[tokio::test]
    async fn a_producer_that_panics_ends_the_stream_with_an_error() {
        let mut s = stream(endpoint(), "test stream", |tx| async move {
            let _ = tx.send(Ok(1u32)).await;
            panic!("boom");
        });
        assert_eq!(s.try_next().await.unwrap(), Some(1));
        let err = s.try_next().await.unwrap_err();
        assert!(err.is_unavailable(), "{err:?}");
        assert!(err.to_string().contains("the test stream's reader failed"), "{err}");
        assert!(s.try_next().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn dropping_the_stream_stops_the_producer() {
        let running = Arc::new(AtomicBool::new(false));
        let seen = running.clone();
        let s = stream(endpoint(), "test stream", move |_tx: Sender<Result<u32>>| async move {
            // Dropped with the task when it is aborted.
            struct Flag(Arc<AtomicBool>);
            impl Drop for Flag {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::SeqCst);
                }
            }
            seen.store(true, Ordering::SeqCst);
            let _flag = Flag(seen);
            std::future::pending::<()>().await;
        });
        for _ in 0..100 {
            if running.load(Ordering::SeqCst) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(running.load(Ordering::SeqCst), "the producer started");
        drop(s);
        for _ in 0..100 {
            if !running.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the producer still runs after the stream was dropped");
    }

    #[test]
    fn without_a_runtime_the_stream_is_one_error() {
        let s = stream(endpoint(), "test stream", |_tx: Sender<Result<u32>>| async {});
        let got = futures::executor::block_on(s.collect::<Vec<_>>());
        assert_eq!(got.len(), 1);
        let err = got.into_iter().next().unwrap().unwrap_err();
        assert!(err.to_string().contains("a test stream needs a tokio runtime"), "{err}");
    }
}
