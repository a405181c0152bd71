//! A stream whose items a task of its own produces (the tiers read files or a server there),
//! so producing runs beside the caller's work on the items already sent. One mechanism for
//! every tier: how the producer is spawned (a blocking thread, an async task) is the tier's.

use futures::StreamExt as _;
use futures::stream::BoxStream;
use tokio::runtime::Handle;
use tokio::sync::mpsc::Sender;
use tokio::task::{JoinError, JoinHandle};

use crate::error::{Result, StoreError};

/// Why a task stream failed, for the tier to name in its own words.
#[derive(Debug)]
pub enum TaskFailure {
    /// There is no tokio runtime to run the producer on.
    NoRuntime,
    /// The producer panicked (or was cancelled by its runtime).
    Panicked(JoinError),
}

/// The producer, aborted when the stream is dropped before it ends (a blocking thread that
/// already runs is left to notice the closed channel).
struct Producer(Option<JoinHandle<()>>);

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
        }
    }
}

/// A stream of what the task `spawn` starts on the current runtime sends, up to `depth` items
/// ahead of the caller. The stream ends when the producer returns; a producer that panics
/// ends it with `failed`'s error, never early (a caller comparing rows would take a short
/// stream for missing rows). Without a tokio runtime the stream is that one error. Asked again
/// after its end, the stream is still at its end (a merge peeks at both sides).
pub fn task_stream<T, F>(
    depth: usize,
    failed: F,
    spawn: impl FnOnce(&Handle, Sender<Result<T>>) -> JoinHandle<()>,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: FnOnce(TaskFailure) -> StoreError + Send + 'static,
{
    let Ok(runtime) = Handle::try_current() else {
        let e = failed(TaskFailure::NoRuntime);
        return futures::stream::once(async move { Err(e) }).boxed();
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<T>>(depth.max(1));
    let producer = Producer(Some(spawn(&runtime, tx)));
    futures::stream::unfold((rx, producer, Some(failed)), |(mut rx, mut producer, mut failed)| async move {
        if let Some(item) = rx.recv().await {
            return Some((item, (rx, producer, failed)));
        }
        // The channel closed: the producer returned, or panicked.
        match producer.0.take()?.await {
            Ok(()) => None,
            Err(e) => {
                let error = failed.take()?(TaskFailure::Panicked(e));
                Some((Err(error), (rx, producer, failed)))
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

    use super::*;
    use crate::error::Tier;

    fn failed(f: TaskFailure) -> StoreError {
        let cause = match f {
            TaskFailure::NoRuntime => "a test stream needs a tokio runtime".to_owned(),
            TaskFailure::Panicked(e) => format!("the test stream's reader failed: {e}"),
        };
        StoreError::unavailable(Tier::Cool, "test", "127.0.0.1:1", cause)
    }

    fn async_task<Fut: std::future::Future<Output = ()> + Send + 'static>(
        produce: impl FnOnce(Sender<Result<u32>>) -> Fut,
    ) -> impl FnOnce(&Handle, Sender<Result<u32>>) -> JoinHandle<()> {
        move |runtime, tx| runtime.spawn(produce(tx))
    }

    #[tokio::test]
    async fn items_come_in_order_and_the_end_stays_the_end() {
        let mut s = task_stream(
            2,
            failed,
            async_task(|tx| async move {
                for i in 0..5u32 {
                    if tx.send(Ok(i)).await.is_err() {
                        return;
                    }
                }
            }),
        );
        let mut got = Vec::new();
        while let Some(i) = s.try_next().await.unwrap() {
            got.push(i);
        }
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert!(s.try_next().await.unwrap().is_none(), "asked again after the end");
    }

    #[tokio::test]
    async fn a_producer_that_panics_ends_the_stream_with_an_error() {
        let mut s = task_stream(
            2,
            failed,
            async_task(|tx| async move {
                let _ = tx.send(Ok(1u32)).await;
                panic!("boom");
            }),
        );
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
        let s = task_stream(
            2,
            failed,
            async_task(move |_tx| async move {
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
            }),
        );
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
        let s = task_stream(2, failed, async_task(|_tx| async {}));
        let got = futures::executor::block_on(s.collect::<Vec<_>>());
        assert_eq!(got.len(), 1);
        let err = got.into_iter().next().unwrap().unwrap_err();
        assert!(err.to_string().contains("a test stream needs a tokio runtime"), "{err}");
    }
}
