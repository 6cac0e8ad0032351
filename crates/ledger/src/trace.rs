//! Trace context over gRPC: clients write the caller's `traceparent` into
//! the request metadata; the server opens one span per call whose parent is
//! that context, so a ledger call sits under the stage that made it.

use opentelemetry::propagation::Injector;
use sluice_runtime::propagation::{HttpHeaders, set_remote_parent};
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};

/// Request metadata as a carrier to write into.
pub(crate) struct MetadataInjector<'a>(pub &'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // The propagator only writes `traceparent`/`tracestate`, always
        // valid ASCII; anything else is skipped rather than sent broken.
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// The span of one incoming call (`tonic::transport::Server::trace_fn`):
/// an OpenTelemetry RPC server span named `<service>/<method>`.
pub(crate) fn rpc_span(request: &http::Request<()>) -> tracing::Span {
    let path = request.uri().path().trim_start_matches('/');
    let (service, method) = path.split_once('/').unwrap_or((path, ""));
    let span = tracing::info_span!(
        "rpc",
        otel.name = %format_args!("{service}/{method}"),
        otel.kind = "server",
        rpc.system = "grpc",
        rpc.service = service,
        rpc.method = method,
    );
    set_remote_parent(&span, &HttpHeaders(request.headers()));
    span
}
