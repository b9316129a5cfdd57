//! Traces: the `tracing` spans KECS already has (requests, commits, controller passes, runtime
//! calls), exported over OTLP/HTTP (protobuf) when a collector is named. Off by default, and
//! then nothing here runs.
//!
//! [`OtelTraces`] is the domain's traces port over OpenTelemetry: it reads a span's W3C trace
//! context and makes a span continue one, so a controller pass continues the trace of the request
//! that queued it, a request continues its caller's `traceparent`, and a pod carries its
//! launch's.

mod http_client;
mod queue;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use kecs_domain::ports::traces::{NoTraces, TraceParent, Traces};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use prometheus::IntCounter;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::ServerError;

/// The OTLP/HTTP path of traces under a collector's base URL.
const TRACES_PATH: &str = "/v1/traces";

/// Where traces are sent: `--otlp-endpoint` (a collector's base URL, as
/// `OTEL_EXPORTER_OTLP_ENDPOINT`), else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL), else
/// `OTEL_EXPORTER_OTLP_ENDPOINT`; `None` (no traces) without any, or with `OTEL_SDK_DISABLED=true`.
pub fn endpoint(flag: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |v: Option<String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if set(var("OTEL_SDK_DISABLED")).is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    let base = |url: String| match url.trim_end_matches('/') {
        u if u.ends_with(TRACES_PATH) => u.to_string(),
        u => format!("{u}{TRACES_PATH}"),
    };
    set(flag.map(str::to_string))
        .map(base)
        .or_else(|| set(var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")))
        .or_else(|| set(var("OTEL_EXPORTER_OTLP_ENDPOINT")).map(base))
}

/// Traces being exported: the port the domain and the API continue traces through, the count of
/// spans dropped by a full queue, and the pipeline to flush at exit.
#[derive(Clone)]
pub struct TraceExport {
    /// The traces port over OpenTelemetry.
    pub traces: Arc<dyn Traces>,
    /// `kecs_trace_spans_dropped_total`.
    pub dropped: IntCounter,
    provider: SdkTracerProvider,
}

impl std::fmt::Debug for TraceExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceExport").finish_non_exhaustive()
    }
}

impl TraceExport {
    /// Starts exporting to `endpoint` (the full OTLP/HTTP traces URL); answers the tracer the
    /// `tracing` layer records with.
    pub fn start(endpoint: &str) -> Result<(SdkTracer, TraceExport), ServerError> {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(http_client::HyperClient::new())
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint)
            .build()
            .map_err(|e| ServerError::Setting(format!("otlp_endpoint {endpoint}: {e}")))?;
        let var = |name: &str| std::env::var(name).ok();
        let resource = Resource::builder()
            .with_service_name(var("OTEL_SERVICE_NAME").unwrap_or_else(|| "kecs".into()))
            .with_attribute(opentelemetry::KeyValue::new(
                "service.version",
                env!("CARGO_PKG_VERSION"),
            ))
            .build();
        // The queue is not the SDK's processor, so the exporter is told its resource here.
        opentelemetry_sdk::trace::SpanExporter::set_resource(&mut exporter, &resource);
        let dropped = IntCounter::new(
            "kecs_trace_spans_dropped_total",
            "Spans not exported because the export queue was full.",
        )?;
        let queue = queue::BoundedQueue::start(exporter, queue::Limits::from(var), dropped.clone())
            .map_err(|e| ServerError::io("the trace export thread", e))?;
        let provider = SdkTracerProvider::builder()
            .with_span_processor(queue)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("kecs");
        let export = TraceExport {
            traces: Arc::new(OtelTraces::default()),
            dropped,
            provider,
        };
        Ok((tracer, export))
    }

    /// Exports what is queued (waiting up to a few seconds) and stops the export thread.
    pub fn shutdown(&self) {
        if let Err(e) = self.provider.shutdown_with_timeout(Duration::from_secs(3)) {
            tracing::warn!(error = %e, "the last traces may not have been exported");
        }
    }
}

/// The traces port of `export`: OpenTelemetry's when traces are exported, else none.
pub fn port(export: Option<&TraceExport>) -> Arc<dyn Traces> {
    match export {
        Some(export) => export.traces.clone(),
        None => Arc::new(NoTraces),
    }
}

/// The traces port over OpenTelemetry spans, in W3C Trace Context form.
#[derive(Debug, Default)]
pub struct OtelTraces {
    propagator: TraceContextPropagator,
}

impl Traces for OtelTraces {
    fn current(&self) -> Option<TraceParent> {
        let cx = tracing::Span::current().context();
        if !cx.span().span_context().is_valid() {
            return None;
        }
        let mut carrier = HashMap::new();
        self.propagator.inject_context(&cx, &mut carrier);
        carrier.remove("traceparent").map(TraceParent)
    }

    fn continue_in(&self, span: &tracing::Span, parent: &TraceParent) {
        let carrier = HashMap::from([("traceparent".to_string(), parent.0.clone())]);
        if let Err(e) = span.set_parent(self.propagator.extract(&carrier)) {
            tracing::debug!(error = %e, "a span could not continue its trace");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_flag_names_a_collector_and_the_standard_variables_follow() {
        assert_eq!(endpoint(None, env(&[])), None);
        assert_eq!(
            endpoint(Some("http://127.0.0.1:4318"), env(&[])).as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            endpoint(Some("http://c:4318/v1/traces/"), env(&[])).as_deref(),
            Some("http://c:4318/v1/traces")
        );
        assert_eq!(
            endpoint(
                None,
                env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/")])
            )
            .as_deref(),
            Some("http://c:4318/v1/traces")
        );
        let both = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9999/custom"),
        ]);
        assert_eq!(
            endpoint(None, &both).as_deref(),
            Some("http://t:9999/custom")
        );
        assert_eq!(
            endpoint(Some("http://f:1"), &both).as_deref(),
            Some("http://f:1/v1/traces"),
            "the flag wins"
        );
        let off = env(&[
            ("OTEL_SDK_DISABLED", "true"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ]);
        assert_eq!(endpoint(Some("http://f:1"), off), None);
        assert_eq!(endpoint(Some("  "), env(&[])), None);
    }
}
