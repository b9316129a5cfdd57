//! Prometheus metrics, counted where the work happens and served on the admin port.

use prometheus::{Encoder, HistogramOpts, HistogramVec, Registry, TextEncoder};

/// KECS's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    request_duration: HistogramVec,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "kecs_api_request_duration_seconds",
                "ECS API requests by operation and HTTP status.",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5,
            ]),
            &["operation", "status"],
        )?;
        registry.register(Box::new(request_duration.clone()))?;
        Ok(Self {
            registry,
            request_duration,
        })
    }

    /// Records one API request.
    pub fn observe_request(&self, operation: &str, status: u16, seconds: f64) {
        self.request_duration
            .with_label_values(&[operation, &status.to_string()])
            .observe(seconds);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = vec![];
        // Encoding into a Vec only fails on a malformed metric family, which we never build.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}
