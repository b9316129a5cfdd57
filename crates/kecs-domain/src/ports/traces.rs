//! The traces port: carries a trace from what asked for work (a request, a controller pass) to
//! the controller pass that does it. Work is queued, so that pass runs outside the asker's span;
//! the queue keeps the asker's trace context and the pass continues it.
//!
//! kecs-server implements it over OpenTelemetry when traces are exported; [`NoTraces`], the
//! default, carries nothing and costs nothing.

/// A trace context in W3C Trace Context form (the `traceparent` header's value), opaque to the
/// domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent(pub String);

/// Reads and continues trace contexts of `tracing` spans.
pub trait Traces: Send + Sync {
    /// The context of the current span, to be continued elsewhere; `None` when nothing is traced.
    fn current(&self) -> Option<TraceParent>;
    /// Makes `span` (created, not yet entered) a child of `parent`.
    fn continue_in(&self, span: &tracing::Span, parent: &TraceParent);
}

/// No traces: nothing to carry.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTraces;

impl Traces for NoTraces {
    fn current(&self) -> Option<TraceParent> {
        None
    }

    fn continue_in(&self, _span: &tracing::Span, _parent: &TraceParent) {}
}
