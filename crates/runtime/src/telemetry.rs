//! One telemetry guard per process.
//!
//! Logs go to stdout, as JSON (the default, for log shippers) or pretty (for
//! a terminal). When an OTLP endpoint is configured, spans are also exported
//! over gRPC; dropping the guard flushes what is still buffered, so the last
//! spans before a shutdown are not lost.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use std::time::Duration;

use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracerProvider};
use opentelemetry_sdk::{Resource, runtime};
use serde::{Deserialize, Serialize};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer};

use crate::Error;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// Human-readable, coloured when stdout is a terminal.
    Pretty,
}

/// Telemetry settings, part of every service's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TelemetryConfig {
    /// `service.name` on every span.
    pub service_name: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,sluice_bus=debug`.
    pub log_filter: String,
    /// OTLP gRPC endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`); no export when unset.
    pub otlp_endpoint: Option<String>,
    /// How long finished spans wait to be exported in one batch
    /// (`OTEL_BSP_SCHEDULE_DELAY`, milliseconds); the SDK's 5 s when unset.
    pub export_delay_ms: Option<u64>,
    /// Filter of the spans exported over OTLP, separate from `log_filter`
    /// so quieter logs (`RUST_LOG=warn`) do not switch tracing off.
    pub trace_filter: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            service_name: "sluice".to_owned(),
            log_format: LogFormat::Json,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
            export_delay_ms: None,
            trace_filter: "info".to_owned(),
        }
    }
}

impl TelemetryConfig {
    /// The standard telemetry settings of `service_name`, read from the given
    /// environment: `SLUICE_LOG_FORMAT` (`json` or `pretty`), `RUST_LOG`,
    /// `SLUICE_TRACE_FILTER`, `OTEL_EXPORTER_OTLP_ENDPOINT` and
    /// `OTEL_BSP_SCHEDULE_DELAY`. The binary passes `std::env::vars()`.
    pub fn from_env(service_name: &str, env: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut config = Self {
            service_name: service_name.to_owned(),
            ..Self::default()
        };
        for (key, value) in env {
            match key.as_str() {
                "SLUICE_LOG_FORMAT" if value == "pretty" => config.log_format = LogFormat::Pretty,
                "RUST_LOG" if !value.is_empty() => config.log_filter = value,
                "SLUICE_TRACE_FILTER" if !value.is_empty() => config.trace_filter = value,
                "OTEL_EXPORTER_OTLP_ENDPOINT" if !value.is_empty() => {
                    config.otlp_endpoint = Some(value);
                }
                "OTEL_BSP_SCHEDULE_DELAY" => {
                    config.export_delay_ms = value.parse().ok();
                }
                _ => {}
            }
        }
        config
    }
}

/// Keeps the telemetry pipeline alive; flushes and shuts it down on drop.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Installs the global subscriber. Call once, early in `main`, from inside
    /// a multi-threaded tokio runtime: the OTLP exporter runs on it, because
    /// tonic needs a tokio reactor (the SDK's own export thread has none).
    pub fn init(config: &TelemetryConfig) -> Result<Self, Error> {
        let filter = EnvFilter::try_new(&config.log_filter)
            .map_err(|e| Error::Telemetry(format!("log filter {:?}: {e}", config.log_filter)))?;
        let fmt = match config.log_format {
            LogFormat::Json => json_layer(std::io::stdout).boxed(),
            LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
        };
        let provider = config
            .otlp_endpoint
            .as_deref()
            .map(|endpoint| otlp_provider(config, endpoint))
            .transpose()?;
        let otel = match &provider {
            Some(p) => {
                let trace_filter = EnvFilter::try_new(&config.trace_filter).map_err(|e| {
                    Error::Telemetry(format!("trace filter {:?}: {e}", config.trace_filter))
                })?;
                let tracer = p.tracer(config.service_name.clone());
                Some(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(trace_filter),
                )
            }
            None => None,
        };
        tracing_subscriber::registry()
            .with(fmt.with_filter(filter))
            .with(otel)
            .try_init()
            .map_err(|e| Error::Telemetry(e.to_string()))?;
        Ok(Self { provider })
    }
}

/// The JSON log layer of every service, writing to `writer`: one object per
/// line with the event's fields at the top and the current span's fields
/// (correlation id, execution id, workflow, stage) under `span`.
pub fn json_layer<S, W>(writer: W) -> impl Layer<S> + Send + Sync + 'static
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
}

fn otlp_provider(config: &TelemetryConfig, endpoint: &str) -> Result<SdkTracerProvider, Error> {
    if tokio::runtime::Handle::try_current()
        .map(|h| h.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread)
        .unwrap_or(true)
    {
        return Err(Error::Telemetry(
            "OTLP export needs a multi-threaded tokio runtime".to_owned(),
        ));
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Error::Telemetry(format!("OTLP exporter for {endpoint}: {e}")))?;
    let mut batch = BatchConfigBuilder::default();
    if let Some(ms) = config.export_delay_ms {
        batch = batch.with_scheduled_delay(Duration::from_millis(ms));
    }
    // The batch processor's task runs on the service's runtime, where tonic
    // finds its reactor.
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio)
        .with_batch_config(batch.build())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(
            Resource::builder()
                .with_service_name(config.service_name.clone())
                .build(),
        )
        .build())
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let Some(provider) = self.provider.take() else {
            return;
        };
        // Shutting down waits for the last export, which runs on the tokio
        // runtime: on a runtime thread, let the runtime keep working meanwhile.
        let on_runtime = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let shut = if on_runtime {
            tokio::task::block_in_place(|| provider.shutdown())
        } else {
            provider.shutdown()
        };
        if let Err(err) = shut {
            // The subscriber may already be gone; stderr is all that is left.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("telemetry: flushing spans failed: {err}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_standard_variables_only() {
        let env = [
            ("SLUICE_LOG_FORMAT", "pretty"),
            ("RUST_LOG", "debug,hyper=warn"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_BSP_SCHEDULE_DELAY", "250"),
            ("SLUICE_TRACE_FILTER", "sluice=debug"),
            ("UNRELATED", "x"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let config = TelemetryConfig::from_env("sluice-test", env);
        assert_eq!(config.service_name, "sluice-test");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert_eq!(config.log_filter, "debug,hyper=warn");
        assert_eq!(
            config.otlp_endpoint.as_deref(),
            Some("http://collector:4317")
        );
        assert_eq!(config.export_delay_ms, Some(250));
        assert_eq!(config.trace_filter, "sluice=debug");

        let bare = TelemetryConfig::from_env("s", Vec::new());
        assert_eq!(
            (bare.log_format, bare.otlp_endpoint),
            (LogFormat::Json, None)
        );
    }

    #[test]
    fn a_bad_filter_is_a_clear_error() {
        let config = TelemetryConfig {
            log_filter: "=[".to_owned(),
            ..TelemetryConfig::default()
        };
        let err = TelemetryGuard::init(&config).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("log filter")));
    }
}
