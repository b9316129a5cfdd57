//! KECS's inbound HTTP: the ECS API over the AWS JSON 1.1 protocol on the API port, and the
//! admin endpoints (health, readiness, metrics, reset) on the admin port; state changes as
//! events over a WebSocket (`/ws/events`) and the web UI (`/ui/`) on the API port; and the
//! endpoints the ECS agent serves tasks' containers (metadata, credentials) on their own.

mod admin;
mod auth;
mod conformance;
mod dispatch;
mod error;
mod events;
mod exec;
mod hosts;
mod metrics;
mod protocol;
mod request_id;
mod task_endpoints;
mod ui;
mod workers;

use std::sync::Arc;

use kecs_domain::ports::traces::Traces;
use kecs_domain::Kecs;

pub use admin::token_guard as admin_token_guard;
pub use auth::Auth;
pub use conformance::ConformanceLog;
pub use error::AwsError;
pub use events::{EventHub, Filter as EventFilter};
pub use hosts::{guard as host_guard, AllowedHosts};
pub use metrics::Metrics;
pub use workers::Workers;

/// The largest request body accepted (bigger ones get HTTP 413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The ECS service.
    pub kecs: Arc<Kecs>,
    /// Region used when a request carries no SigV4 credential scope.
    pub default_region: String,
    /// The account every resource belongs to.
    pub account_id: String,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Where state changes are published to WebSocket clients.
    pub events: EventHub,
    /// Whether `POST /_kecs/reset` is enabled.
    pub allow_reset: bool,
    /// Where every response is recorded for the conformance check (tests only).
    pub conformance: Option<ConformanceLog>,
    /// The background workers' state: `/ready` fails while one is down.
    pub workers: Workers,
    /// The hosts requests may be addressed to and come from, beyond loopback.
    pub allowed_hosts: AllowedHosts,
    /// Who may call the ECS API (`--auth`).
    pub auth: Auth,
    /// The bearer token the admin port asks for, except on `/health` and `/ready`.
    pub admin_token: Option<String>,
    /// Set when traces are exported: a request's span then records its outcome and continues
    /// the caller's `traceparent`.
    pub traces: Option<Arc<dyn Traces>>,
}

/// Routes of the API port.
pub fn api_routes(cfg: &mut actix_web::web::ServiceConfig) {
    cfg.route("/", actix_web::web::post().to(protocol::handle))
        .route("/ws/events", actix_web::web::get().to(events::ws_events))
        .route(
            "/_kecs/exec/{session}",
            actix_web::web::get().to(exec::ws_exec),
        )
        .route("/ui", actix_web::web::get().to(ui::redirect))
        .route("/ui/{file:.*}", actix_web::web::get().to(ui::asset));
    admin::logs_route(cfg);
}

/// Routes of the task endpoints' listener (metadata, credentials, agent API), which only
/// tasks' containers are told about.
pub fn task_endpoint_routes(cfg: &mut actix_web::web::ServiceConfig) {
    task_endpoints::routes(cfg);
}

/// Routes of the admin port.
pub fn admin_routes(cfg: &mut actix_web::web::ServiceConfig) {
    admin::routes(cfg);
}
