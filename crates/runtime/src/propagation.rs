//! W3C trace context across process boundaries.
//!
//! Every hop of an execution (a NATS message, a gRPC call, an HTTP request)
//! carries a `traceparent`. The sender writes the context of the span it is
//! in; the receiver makes that context the parent of the span it opens for
//! the hop, so one trace runs from ingest to the notifier even though every
//! stage is its own process. The carriers (NATS headers, tonic metadata,
//! HTTP headers) implement [`Injector`] and [`Extractor`] where they are
//! used; this module only knows the format.
//!
//! Without an OpenTelemetry layer (no OTLP endpoint configured) spans have
//! no OpenTelemetry context: [`inject_current`] writes nothing and says so,
//! and callers pass the incoming `traceparent` on unchanged instead.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Writes the current span's context (`traceparent`, and `tracestate` when
/// there is one) into `carrier`. Returns `false`, writing nothing, when the
/// current span has no valid OpenTelemetry context.
pub fn inject_current(carrier: &mut dyn Injector) -> bool {
    inject_span(&tracing::Span::current(), carrier)
}

/// Writes `span`'s context into `carrier`; see [`inject_current`].
pub fn inject_span(span: &tracing::Span, carrier: &mut dyn Injector) -> bool {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return false;
    }
    TraceContextPropagator::new().inject_context(&cx, carrier);
    true
}

/// The remote context in `carrier`, if it holds a valid `traceparent`.
pub fn extract(carrier: &dyn Extractor) -> Option<Context> {
    let cx = TraceContextPropagator::new().extract(carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes the context in `carrier` the parent of `span`. Call it before the
/// span is first entered. Returns whether a remote parent was set: `false`
/// when the carrier has no valid `traceparent`, or when spans are not
/// exported (the span then keeps its in-process parent, if any).
pub fn set_remote_parent(span: &tracing::Span, carrier: &dyn Extractor) -> bool {
    extract(carrier).is_some_and(|cx| span.set_parent(cx).is_ok())
}

/// The current span's `traceparent`, for carriers that are easier to fill
/// by hand (an outgoing HTTP request's builder).
pub fn current_traceparent() -> Option<String> {
    let mut pairs = Pairs::default();
    inject_current(&mut pairs).then(|| pairs.value("traceparent").map(str::to_owned))?
}

/// HTTP headers (axum's and tonic's `http::HeaderMap`) as a carrier.
pub struct HttpHeaders<'a>(pub &'a axum::http::HeaderMap);

impl Extractor for HttpHeaders<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}

/// A carrier over a plain `(name, value)` list, for tests and for callers
/// whose headers are not a map.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pairs(pub Vec<(String, String)>);

impl Injector for Pairs {
    fn set(&mut self, key: &str, value: String) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
        self.0.push((key.to_owned(), value));
    }
}

impl Extractor for Pairs {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_str()).collect()
    }
}

impl Pairs {
    /// The value of `key`, if present.
    pub fn value(&self, key: &str) -> Option<&str> {
        Extractor::get(self, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_extracted() {
        let carrier = Pairs(vec![("traceparent".into(), TP.into())]);
        let cx = extract(&carrier);
        let ids = cx.map(|cx| {
            let span = cx.span();
            let sc = span.span_context();
            (sc.trace_id().to_string(), sc.span_id().to_string())
        });
        assert_eq!(
            ids,
            Some((
                "4bf92f3577b34da6a3ce929d0e0e4736".to_owned(),
                "00f067aa0ba902b7".to_owned()
            ))
        );
    }

    #[test]
    fn garbage_or_absence_extracts_nothing() {
        for bad in [
            "",
            "00-zz-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            let carrier = Pairs(vec![("traceparent".into(), bad.into())]);
            assert!(extract(&carrier).is_none(), "{bad:?}");
        }
        assert!(extract(&Pairs::default()).is_none());
    }

    #[test]
    fn without_an_otel_layer_nothing_is_injected() {
        let mut carrier = Pairs::default();
        let span = tracing::info_span!("no subscriber");
        assert!(!inject_span(&span, &mut carrier));
        assert!(carrier.0.is_empty());
    }
}
