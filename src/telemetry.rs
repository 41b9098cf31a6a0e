//! Where the process's tracing goes: log lines to stderr (text or JSON) and, when an OTLP
//! endpoint is configured, spans to an OpenTelemetry collector over gRPC.
//!
//! Export is off by default and then costs nothing: no exporter, no propagator, and the
//! per-call span layer skips the `traceparent` look-up. When on, a caller's W3C
//! `traceparent` makes consentd's `rpc` span a child of the caller's trace, and the
//! sampler follows the caller's decision (else samples `sample_ratio` of new traces).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::{LogFormat, Otlp};

/// Set once export is on; read by the per-call span layer.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Keeps the exporter alive; [`Telemetry::shutdown`] sends what is still buffered.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot set up the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("cannot install the log subscriber: {0}")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the global subscriber. Must run inside the tokio runtime when `otlp` is set
/// (the exporter's channel is a tonic channel).
pub fn init(format: LogFormat, otlp: Option<&Otlp>) -> Result<Telemetry, TelemetryError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Logs go to stderr (stdout is for what a command prints, e.g. a recovery key), and
    // colour codes only to a terminal: a log file or journal gets plain text.
    let text = (format == LogFormat::Text).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
    });
    let json =
        (format == LogFormat::Json).then(|| tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr));
    let provider = match otlp {
        None => None,
        Some(o) => {
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_endpoint(o.endpoint.clone())
                .with_timeout(Duration::from_secs(10))
                .build()?;
            let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(o.sample_ratio)));
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_sampler(sampler)
                    .with_resource(
                        opentelemetry_sdk::Resource::builder()
                            .with_service_name("consentd")
                            .with_attribute(opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
                            .build(),
                    )
                    .build(),
            )
        }
    };
    let otel = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("consentd")));
    tracing_subscriber::registry().with(filter).with(text).with(json).with(otel).try_init()?;
    if provider.is_some() {
        opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        EXPORTING.store(true, Ordering::Release);
    }
    Ok(Telemetry { provider })
}

impl Telemetry {
    /// Exports the spans still buffered (bounded by the exporter's timeout).
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            tracing::warn!(error = %e, "OTLP exporter did not shut down cleanly");
        }
    }
}

/// Makes `span` a child of the caller's trace when export is on and the request carries a
/// `traceparent` header.
pub(crate) fn adopt_remote_parent(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    if !EXPORTING.load(Ordering::Acquire) || !headers.contains_key("traceparent") {
        return;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(headers)));
    // Fails only when the span is disabled (not sampled by the filter): nothing to adopt.
    let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(span, cx);
}

struct HeaderExtractor<'a>(&'a axum::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(axum::http::HeaderName::as_str).collect()
    }
}
