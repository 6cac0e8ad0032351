//! One telemetry guard per process.
//!
//! Logs go to stdout, as JSON (the default, for log shippers) or pretty (for
//! a terminal). When an OTLP endpoint is configured, spans are also exported
//! over gRPC; dropping the guard flushes what is still buffered, so the last
//! spans before a shutdown are not lost.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

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
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            service_name: "sluice".to_owned(),
            log_format: LogFormat::Json,
            log_filter: "info".to_owned(),
            otlp_endpoint: None,
        }
    }
}

/// Keeps the telemetry pipeline alive; flushes and shuts it down on drop.
#[must_use = "dropping the guard stops trace export"]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Installs the global subscriber. Call once, early in `main`, from inside
    /// the tokio runtime (the OTLP exporter runs on it).
    pub fn init(config: &TelemetryConfig) -> Result<Self, Error> {
        let filter = EnvFilter::try_new(&config.log_filter)
            .map_err(|e| Error::Telemetry(format!("log filter {:?}: {e}", config.log_filter)))?;
        let fmt = match config.log_format {
            LogFormat::Json => tracing_subscriber::fmt::layer()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .boxed(),
            LogFormat::Pretty => tracing_subscriber::fmt::layer().compact().boxed(),
        };
        let provider = config
            .otlp_endpoint
            .as_deref()
            .map(|endpoint| otlp_provider(&config.service_name, endpoint))
            .transpose()?;
        let otel = provider.as_ref().map(|p| {
            tracing_opentelemetry::layer().with_tracer(p.tracer(config.service_name.clone()))
        });
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt)
            .with(otel)
            .try_init()
            .map_err(|e| Error::Telemetry(e.to_string()))?;
        Ok(Self { provider })
    }
}

fn otlp_provider(service: &str, endpoint: &str) -> Result<SdkTracerProvider, Error> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Error::Telemetry(format!("OTLP exporter for {endpoint}: {e}")))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(service.to_owned())
                .build(),
        )
        .build())
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            // The subscriber may already be gone; stderr is all that is left.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("telemetry: flushing spans failed: {err}");
            }
        }
    }
}
