//! One execution, one trace: the spans every stage exports over OTLP to a
//! real (in-process) collector share the caller's trace id, and each stage's
//! span has as parent the span id carried in the `traceparent` header of the
//! message it consumed, or of the gRPC call it served.
//!
//! All services run in this test's process, so an in-process parent would
//! be easy to get by accident; the checks compare parents with the ids read
//! back from the stored messages' headers, which only propagation through
//! NATS puts there. A ledger server span is opened in the connection task
//! tonic spawns, outside any caller's span: it can only join the trace
//! through the call's metadata.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice_core::subjects::StreamKind;
use sluice_core::{Stage, headers};
use sluice_runtime::{LogFormat, TelemetryConfig, TelemetryGuard};
use sluice_testkit::eventually::{check, eventually};
use sluice_testkit::otlp::{CollectedSpan, OtlpCollector};
use sluice_testkit::pipeline::stored;

use crate::stack::{Env, whatsapp};

const CALLER_TRACE: &str = "5f0c6d8a4e1b2c3d4e5f60718293a4b5";
const CALLER_SPAN: &str = "a1b2c3d4e5f60718";

/// What one stage message carried: its stage and the span id in its
/// `traceparent`.
struct Hop {
    stage: Stage,
    subject: String,
    trace_id: String,
    parent_span: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_from_ingest_to_notifier_across_nats_and_grpc() -> anyhow::Result<()> {
    let collector = OtlpCollector::start().await?;
    let telemetry = TelemetryGuard::init(&TelemetryConfig {
        service_name: "sluice-otel-test".to_owned(),
        log_format: LogFormat::Json,
        log_filter: "warn".to_owned(),
        otlp_endpoint: Some(collector.endpoint.clone()),
        export_delay_ms: Some(100),
        trace_filter: "info".to_owned(),
    })?;
    let env = Env::start(Duration::from_secs(60)).await?;

    let caller = format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01");
    let msg = whatsapp(
        "wamid.otel",
        "34600000077",
        "A table for two tomorrow at nine.",
    );
    let (status, body) = env
        .send_with("wamid.otel", &msg, &[("traceparent", &caller)])
        .await?;
    anyhow::ensure!(status == 202, "expected 202, got {status}: {body}");
    let id = body["executions"][0]["execution_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    env.settles_in(&id, "COMPLETED").await?;

    let hops = hops_of(&env, &id).await?;
    let stages: Vec<Stage> = hops.iter().map(|h| h.stage).collect();
    assert_eq!(
        stages,
        [Stage::Interpret, Stage::Gate, Stage::Execute, Stage::Notify]
    );
    for hop in &hops {
        assert_eq!(
            hop.trace_id, CALLER_TRACE,
            "{:?} message's trace",
            hop.stage
        );
    }

    let spans = eventually(
        "every stage's span exported",
        Duration::from_secs(20),
        || {
            let spans = collector.spans();
            let hops = &hops;
            async move {
                let missing: Vec<&str> = hops
                    .iter()
                    .filter(|h| consumer_span(&spans, h).is_none())
                    .map(|h| h.stage.as_str())
                    .collect();
                check(missing.is_empty(), || {
                    format!("no span yet for {missing:?}")
                })?;
                check(rpc_spans(&spans).count() >= 3, || {
                    "fewer than 3 ledger spans".into()
                })?;
                Ok(spans)
            }
        },
    )
    .await?;

    // Ingest continued the caller's trace, and its span is the parent
    // carried by the message to the interpreter.
    let ingest = spans
        .iter()
        .find(|s| s.name == "POST /v1/events/{source}" && s.trace_id == CALLER_TRACE)
        .expect("ingest's webhook span");
    assert_eq!(ingest.kind, "server");
    assert_eq!(ingest.parent_span_id, CALLER_SPAN);
    assert_eq!(hops[0].parent_span, ingest.span_id);

    // Each stage's span: a consumer span with the messaging attributes,
    // whose parent is the span id in the header of the message it consumed.
    for hop in &hops {
        let span = consumer_span(&spans, hop).expect("checked above");
        assert_eq!(span.trace_id, CALLER_TRACE);
        assert_eq!(span.attr("messaging.system"), Some("nats"));
        assert_eq!(span.attr("messaging.operation.type"), Some("process"));
        assert_eq!(
            span.attr("messaging.destination.name"),
            Some(hop.subject.as_str())
        );
        assert_eq!(span.attr("execution_id"), Some(id.as_str()));
        assert_eq!(span.attr("stage"), Some(hop.stage.as_str()));
        assert_eq!(span.attr("workflow"), Some("reservation"));
    }

    // Ledger calls: server spans in the same trace whose parent is a span
    // of the stage that called (carried in the call's metadata).
    let in_trace: BTreeSet<&str> = spans
        .iter()
        .filter(|s| s.trace_id == CALLER_TRACE && s.attr("rpc.system").is_none())
        .map(|s| s.span_id.as_str())
        .collect();
    let rpcs: Vec<&CollectedSpan> = rpc_spans(&spans).collect();
    let methods: BTreeSet<&str> = rpcs.iter().filter_map(|s| s.attr("rpc.method")).collect();
    assert!(
        methods.contains("Begin"),
        "ledger methods seen: {methods:?}"
    );
    for rpc in &rpcs {
        assert_eq!(rpc.kind, "server");
        assert_eq!(rpc.attr("rpc.service"), Some("sluice.ledger.v1.Ledger"));
        assert!(
            in_trace.contains(rpc.parent_span_id.as_str()),
            "{} has parent {} outside the stages' spans",
            rpc.name,
            rpc.parent_span_id
        );
    }

    env.stop().await?;
    drop(telemetry);
    Ok(())
}

/// The stage messages of execution `id`, in pipeline order.
async fn hops_of(env: &Env, id: &str) -> anyhow::Result<Vec<Hop>> {
    let mut hops = Vec::new();
    for stage in [Stage::Interpret, Stage::Gate, Stage::Execute, Stage::Notify] {
        let subject = env.nats.subjects.stage(stage, "reservation")?;
        for message in stored(&env.nats, StreamKind::Pipeline, &subject).await? {
            let header = |name| {
                message
                    .headers
                    .get(name)
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default()
            };
            if header(headers::EXECUTION_ID) != id {
                continue;
            }
            let traceparent = header(headers::TRACEPARENT);
            let parts: Vec<&str> = traceparent.split('-').collect();
            let [_, trace_id, parent_span, _] = parts.as_slice() else {
                anyhow::bail!("{stage:?} message has traceparent {traceparent:?}");
            };
            hops.push(Hop {
                stage,
                subject: subject.clone(),
                trace_id: (*trace_id).to_owned(),
                parent_span: (*parent_span).to_owned(),
            });
        }
    }
    Ok(hops)
}

fn consumer_span<'a>(spans: &'a [CollectedSpan], hop: &Hop) -> Option<&'a CollectedSpan> {
    spans.iter().find(|s| {
        s.kind == "consumer"
            && s.name == format!("process {}", hop.subject)
            && s.parent_span_id == hop.parent_span
    })
}

fn rpc_spans(spans: &[CollectedSpan]) -> impl Iterator<Item = &CollectedSpan> {
    spans
        .iter()
        .filter(|s| s.trace_id == CALLER_TRACE && s.attr("rpc.system") == Some("grpc"))
}
