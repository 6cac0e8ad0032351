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

impl TelemetryConfig {
    /// The standard telemetry settings of `service_name`, read from the given
    /// environment: `SLUICE_LOG_FORMAT` (`json` or `pretty`), `RUST_LOG` and
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`. The binary passes `std::env::vars()`.
    pub fn from_env(service_name: &str, env: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut config = Self {
            service_name: service_name.to_owned(),
            ..Self::default()
        };
        for (key, value) in env {
            match key.as_str() {
                "SLUICE_LOG_FORMAT" if value == "pretty" => config.log_format = LogFormat::Pretty,
                "RUST_LOG" if !value.is_empty() => config.log_filter = value,
                "OTEL_EXPORTER_OTLP_ENDPOINT" if !value.is_empty() => {
                    config.otlp_endpoint = Some(value);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_standard_variables_only() {
        let env = [
            ("SLUICE_LOG_FORMAT", "pretty"),
            ("RUST_LOG", "debug,hyper=warn"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
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
