//! The bounded queue between the spans that end and the OTLP exporter: a span that ends is
//! handed over without waiting (a full queue drops it and counts it in
//! `kecs_trace_spans_dropped_total`); one thread exports batches, so a slow or absent collector
//! never holds a request up.
//!
//! The SDK's batch processor does this too, but keeps its drop count to itself and exports
//! without a tokio runtime, which hyper's client needs.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use prometheus::IntCounter;

/// How often a failing collector is reported in the log.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The queue's size and pace, from the standard `OTEL_BSP_*` variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Limits {
    /// Spans held at most (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048).
    pub(super) capacity: usize,
    /// Spans per export at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512).
    pub(super) batch: usize,
    /// The longest a span waits for its batch (`OTEL_BSP_SCHEDULE_DELAY` in ms, 1000).
    pub(super) delay: Duration,
}

impl Limits {
    /// The limits `var` (the environment) sets, the defaults otherwise.
    pub(super) fn from(var: impl Fn(&str) -> Option<String>) -> Self {
        let number = |name: &str, default: u64| {
            var(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        let capacity = number("OTEL_BSP_MAX_QUEUE_SIZE", 2048) as usize;
        Self {
            capacity,
            batch: (number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512) as usize).min(capacity),
            delay: Duration::from_millis(number("OTEL_BSP_SCHEDULE_DELAY", 1000)),
        }
    }
}

enum Message {
    Span(Box<SpanData>),
    /// Export what is queued, then answer.
    Flush(mpsc::Sender<()>),
    /// Export what is queued, then end.
    Stop,
}

/// The span processor: a bounded queue and its export thread.
#[derive(Debug)]
pub(super) struct BoundedQueue {
    sender: SyncSender<Message>,
    dropped: IntCounter,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl BoundedQueue {
    /// Starts the export thread over `exporter`.
    pub(super) fn start<E: SpanExporter + 'static>(
        exporter: E,
        limits: Limits,
        dropped: IntCounter,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::sync_channel(limits.capacity);
        let worker = std::thread::Builder::new()
            .name("kecs-traces".into())
            .spawn(move || export_loop(&exporter, &receiver, limits))?;
        Ok(Self {
            sender,
            dropped,
            worker: Mutex::new(Some(worker)),
        })
    }

    /// Asks the thread to export what is queued and waits for it, at most `timeout`.
    fn flush(&self, timeout: Duration) -> OTelSdkResult {
        let (done, exported) = mpsc::channel();
        self.sender
            .send(Message::Flush(done))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        exported
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))
    }
}

impl SpanProcessor for BoundedQueue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        match self.sender.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => self.dropped.inc(),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.flush(Duration::from_secs(5))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let flushed = self.flush(timeout);
        let _ = self.sender.try_send(Message::Stop);
        let worker = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        if flushed.is_ok() {
            if let Some(worker) = worker {
                let _ = worker.join();
            }
        }
        flushed
    }
}

/// Exports a batch when it is full or its first span has waited `limits.delay`.
fn export_loop<E: SpanExporter>(exporter: &E, receiver: &Receiver<Message>, limits: Limits) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "traces cannot be exported: no runtime for the exporter");
            return;
        }
    };
    let mut failures = Failures::default();
    let mut batch = Vec::with_capacity(limits.batch);
    let mut due = Instant::now() + limits.delay;
    loop {
        let message = match batch.is_empty() {
            true => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
            false => receiver.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        let mut export = |batch: &mut Vec<SpanData>| {
            if !batch.is_empty() {
                let spans = std::mem::replace(batch, Vec::with_capacity(limits.batch));
                failures.note(runtime.block_on(exporter.export(spans)));
            }
        };
        match message {
            Ok(Message::Span(span)) => {
                if batch.is_empty() {
                    due = Instant::now() + limits.delay;
                }
                batch.push(*span);
                if batch.len() >= limits.batch {
                    export(&mut batch);
                }
            }
            Ok(Message::Flush(done)) => {
                export(&mut batch);
                let _ = done.send(());
            }
            Err(RecvTimeoutError::Timeout) => export(&mut batch),
            Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => {
                export(&mut batch);
                return;
            }
        }
    }
}

/// Failed exports, reported once a minute rather than once per batch.
#[derive(Default)]
struct Failures {
    since_report: u64,
    reported: Option<Instant>,
}

impl Failures {
    fn note(&mut self, result: OTelSdkResult) {
        let Err(e) = result else {
            return;
        };
        self.since_report += 1;
        if self.reported.is_none_or(|at| at.elapsed() >= REPORT_EVERY) {
            tracing::warn!(error = %e, failed_exports = self.since_report, "exporting traces failed; their spans are lost");
            self.since_report = 0;
            self.reported = Some(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_standard_variables() {
        let none = Limits::from(|_| None);
        assert_eq!(none.capacity, 2048);
        assert_eq!(none.batch, 512);
        assert_eq!(none.delay, Duration::from_secs(1));
        let set = Limits::from(|name| match name {
            "OTEL_BSP_MAX_QUEUE_SIZE" => Some("10".into()),
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE" => Some("64".into()),
            "OTEL_BSP_SCHEDULE_DELAY" => Some("250".into()),
            _ => None,
        });
        assert_eq!(set.capacity, 10);
        assert_eq!(set.batch, 10, "a batch is never larger than the queue");
        assert_eq!(set.delay, Duration::from_millis(250));
        let junk = Limits::from(|_| Some("lots".into()));
        assert_eq!(junk, none);
    }
}
