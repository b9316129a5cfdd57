//! Prometheus metrics served on the admin port. Requests are timed by the protocol handler, task
//! transitions counted as the domain publishes them, runtime errors by the runtime's wrapper, and
//! the gauges of services and tasks read from the state at each scrape (always exact, also
//! after a restart).

use kecs_domain::Census;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// KECS's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    request_duration: HistogramVec,
    task_transitions: IntCounterVec,
    runtime_errors: IntCounter,
    websocket_clients: IntGauge,
    active_services: IntGaugeVec,
    tasks: IntGaugeVec,
    store_backlog: IntGauge,
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
        let task_transitions = IntCounterVec::new(
            Opts::new(
                "kecs_task_state_transitions_total",
                "Changes of a task's lastStatus (from NONE for a new task).",
            ),
            &["from_state", "to_state"],
        )?;
        let runtime_errors = IntCounter::new(
            "kecs_runtime_errors_total",
            "Calls to the container runtime that failed.",
        )?;
        let websocket_clients =
            IntGauge::new("kecs_websocket_clients", "Clients connected to /ws/events.")?;
        let active_services = IntGaugeVec::new(
            Opts::new("kecs_active_services", "ACTIVE services by cluster name."),
            &["cluster"],
        )?;
        let tasks = IntGaugeVec::new(
            Opts::new("kecs_tasks", "Tasks by cluster name and lastStatus."),
            &["cluster", "last_status"],
        )?;
        let store_backlog = IntGauge::new(
            "kecs_store_backlog_groups",
            "Journaled write groups DuckDB has not applied yet (0 without a journal).",
        )?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(task_transitions.clone()))?;
        registry.register(Box::new(runtime_errors.clone()))?;
        registry.register(Box::new(websocket_clients.clone()))?;
        registry.register(Box::new(active_services.clone()))?;
        registry.register(Box::new(tasks.clone()))?;
        registry.register(Box::new(store_backlog.clone()))?;
        Ok(Self {
            registry,
            request_duration,
            task_transitions,
            runtime_errors,
            websocket_clients,
            active_services,
            tasks,
            store_backlog,
        })
    }

    /// Records one API request.
    pub fn observe_request(&self, operation: &str, status: u16, seconds: f64) {
        // The status's digits without a String per request.
        let code = actix_web::http::StatusCode::from_u16(status).ok();
        let label = code.as_ref().map_or("unknown", |c| c.as_str());
        self.request_duration
            .with_label_values(&[operation, label])
            .observe(seconds);
    }

    /// Counts one change of a task's lastStatus.
    pub fn count_task_transition(&self, from: &str, to: &str) {
        self.task_transitions.with_label_values(&[from, to]).inc();
    }

    /// Serves `counter` too (a counter another part of KECS keeps).
    pub fn register(&self, counter: IntCounter) -> Result<(), prometheus::Error> {
        self.registry.register(Box::new(counter))
    }

    /// The counter of failed runtime calls (the runtime's wrapper increments it).
    pub fn runtime_errors(&self) -> IntCounter {
        self.runtime_errors.clone()
    }

    pub(crate) fn set_websocket_clients(&self, n: usize) {
        self.websocket_clients
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition, with the gauges of `census`.
    pub fn render_with(&self, census: &Census) -> Vec<u8> {
        self.active_services.reset();
        for (cluster, n) in &census.active_services {
            self.active_services
                .with_label_values(&[cluster])
                .set(gauge(*n));
        }
        self.tasks.reset();
        for ((cluster, status), n) in &census.tasks {
            self.tasks
                .with_label_values(&[cluster, status])
                .set(gauge(*n));
        }
        let backlog = census.store_backlog.unwrap_or(0);
        self.store_backlog
            .set(i64::try_from(backlog).unwrap_or(i64::MAX));
        self.render()
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> Vec<u8> {
        let mut out = vec![];
        // Encoding into a Vec only fails on a malformed metric family, which we never build.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
