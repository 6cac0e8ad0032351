//! A tower layer timing every ledger RPC into
//! `sluice_ledger_rpc_duration_seconds{method, code}`.
//!
//! Measured on the server, so every caller (services, the CLI) is covered
//! by one histogram. A unary handler has finished when its response head
//! is ready: an error travels in the head (`grpc-status`, trailers-only),
//! a success has no status there and is `OK`. Method names come from the
//! ledger's own RPC table, so a made-up path cannot add label values.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use sluice_core::metrics::LEDGER_RPC_DURATION;
use tonic::Code;

use crate::access::Rpc;

/// Wraps the gRPC routes with [`RpcMetrics`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcMetricsLayer;

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics { inner }
    }
}

/// Times each call of the wrapped service.
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let method = method(req.uri().path());
        let started = Instant::now();
        let call = self.inner.call(req);
        Box::pin(async move {
            let answered = call.await;
            if let Some(method) = method {
                let code = match &answered {
                    Ok(response) => code(response.headers()),
                    Err(_) => Code::Unknown,
                };
                metrics::histogram!(LEDGER_RPC_DURATION.name,
                    "method" => method, "code" => code_name(code))
                .record(started.elapsed().as_secs_f64());
            }
            answered
        })
    }
}

/// The ledger RPC a request path names (`/sluice.ledger.v1.Ledger/Begin`);
/// `unknown` for a method the ledger does not have, `None` for other
/// services (gRPC health).
fn method(path: &str) -> Option<String> {
    let (service, method) = path.trim_start_matches('/').split_once('/')?;
    if service != "sluice.ledger.v1.Ledger" {
        return None;
    }
    Some(Rpc::from_method(method).map_or_else(|| "unknown".to_owned(), Rpc::method))
}

/// The status a response head carries; none means OK (it is in the trailers).
fn code(headers: &http::HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from_i32)
}

/// The canonical gRPC spelling (`OK`, `NOT_FOUND`, `FAILED_PRECONDITION`).
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_the_ledgers_own() {
        assert_eq!(
            method("/sluice.ledger.v1.Ledger/Begin").as_deref(),
            Some("Begin")
        );
        assert_eq!(
            method("/sluice.ledger.v1.Ledger/DropTables").as_deref(),
            Some("unknown")
        );
        assert_eq!(method("/grpc.health.v1.Health/Check"), None);
    }

    #[test]
    fn codes_come_from_the_response_head() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(code(&headers), Code::Ok);
        headers.insert("grpc-status", http::HeaderValue::from_static("9"));
        assert_eq!(code_name(code(&headers)), "FAILED_PRECONDITION");
    }
}
