//! tracing-subscriber set-up: text or JSON lines, filtered by `RUST_LOG` (default `info`), and
//! with a collector named, the OpenTelemetry layer beside it with its own filter (KECS's spans
//! down to debug: commits and runtime calls), so `RUST_LOG` never decides what is traced.
//! The request span carries `request_id`, so every line logged while serving a request has it.

use kecs_server::traces::TraceExport;
use opentelemetry_sdk::trace::SdkTracer;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Installs the subscriber; answers the trace export when `otlp` names a collector. Without
/// one, the subscriber is the plain filtered one (no per-layer filtering to pay for).
pub fn init(format: &str, otlp: Option<(SdkTracer, TraceExport)>) -> Option<TraceExport> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let Some((tracer, export)) = otlp else {
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        match format {
            "json" => builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .init(),
            _ => builder.init(),
        }
        return None;
    };
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt = match format {
        "json" => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        _ => fmt.with_filter(filter).boxed(),
    };
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter_fn(traced));
    tracing_subscriber::registry().with(fmt).with(otel).init();
    Some(export)
}

/// What the OpenTelemetry layer records: KECS's spans down to debug, its events from info up
/// (as span events).
fn traced(meta: &Metadata<'_>) -> bool {
    let level = if meta.is_span() {
        Level::DEBUG
    } else {
        Level::INFO
    };
    meta.target().starts_with("kecs") && *meta.level() <= level
}
