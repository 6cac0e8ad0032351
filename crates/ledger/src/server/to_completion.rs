//! A tower layer that runs every call to completion, even when the caller
//! goes away.
//!
//! A client that times out or disconnects makes the server drop the call's
//! future. Dropped between queueing `BEGIN` and reading its answer, sqlx
//! 0.9.0 returns the connection to the pool *inside* an open transaction it
//! no longer tracks (transact-rs/sqlx#4385): every later statement on that
//! connection then runs in the stale transaction and is silently thrown away
//! when the connection closes — acknowledged transitions and key states
//! lost. Spawning the call means the store always finishes (commits or rolls
//! back) whatever the caller does; the answer of an abandoned call is
//! dropped, which is what the caller asked for by leaving.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Wraps the gRPC routes with [`ToCompletion`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ToCompletionLayer;

impl<S> tower::Layer<S> for ToCompletionLayer {
    type Service = ToCompletion<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ToCompletion { inner }
    }
}

/// Runs each call of the wrapped service on its own task.
#[derive(Debug, Clone)]
pub struct ToCompletion<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, Req> tower::Service<Req> for ToCompletion<S>
where
    S: tower::Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        let call = tokio::spawn(self.inner.call(req));
        Box::pin(async move {
            match call.await {
                Ok(answer) => answer,
                Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                // Cancelled only when the runtime shuts down, which drops
                // this future too: there is no one left to answer.
                Err(_) => std::future::pending().await,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use tower::{Layer as _, Service as _, ServiceExt as _};

    use super::*;

    #[tokio::test]
    async fn a_call_whose_caller_left_still_finishes() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let slow = tower::service_fn(move |(): ()| {
            let flag = flag.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                flag.store(true, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(())
            }
        });
        let mut service = ToCompletionLayer.layer(slow);
        let call = service.ready().await.map(|s| s.call(())).ok();
        // The caller gives up long before the work is done.
        let abandoned = tokio::time::timeout(
            Duration::from_millis(5),
            call.unwrap_or_else(|| Box::pin(async { Ok(()) })),
        )
        .await;
        assert!(abandoned.is_err(), "the caller timed out");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(finished.load(Ordering::SeqCst), "the work ran to the end");
    }
}
