//! The admin port: `/health`, `/ready`, `/metrics`, a task container's recent logs
//! (`GET /_kecs/tasks/{task}/containers/{container}/logs?tail=N`) and (when enabled)
//! `POST /_kecs/reset`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::AppState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics))
        .route("/_kecs/reset", web::post().to(reset));
    logs_route(cfg);
}

/// Middleware for the admin port: with `--admin-token`, every path but `/health` and `/ready`
/// (which probes call) asks for `Authorization: Bearer <token>`.
pub async fn token_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let expected = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.admin_token.clone());
    let open = matches!(req.path(), "/health" | "/ready");
    if let (Some(expected), false) = (expected, open) {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::auth::same(given, &expected) {
            let refused = HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .json(json!({"error": "this admin endpoint needs the admin token (Authorization: Bearer <token>)"}));
            return Ok(req.into_response(refused));
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// A container's recent logs, on the admin port and (for the web UI) on the API port.
pub(crate) fn logs_route(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/_kecs/tasks/{task}/containers/{container}/logs",
        web::get().to(logs),
    );
}

#[derive(serde::Deserialize)]
struct LogsQuery {
    tail: Option<usize>,
}

/// The last `tail` (default 100) lines a task's container wrote; the task by ARN
/// (URL-encoded) or ID.
async fn logs(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<LogsQuery>,
) -> HttpResponse {
    let (task, container) = path.into_inner();
    let tail = query.tail.unwrap_or(100);
    match state.kecs.container_logs(&task, &container, tail).await {
        Ok(lines) => HttpResponse::Ok().json(json!({
            "task": task,
            "container": container,
            "lines": lines,
        })),
        Err(kecs_domain::EcsError::InvalidParameter(m)) => {
            HttpResponse::NotFound().json(json!({"error": m}))
        }
        Err(e) => HttpResponse::BadGateway().json(json!({"error": e.to_string()})),
    }
}

/// The process is up.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The store answers and every background worker runs: KECS can serve requests and carry them
/// out. A worker that stopped is named with why, until its supervisor has started it again.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if let Err(e) = state.kecs.ready().await {
        return HttpResponse::ServiceUnavailable()
            .json(json!({"status": "not ready", "error": e.to_string()}));
    }
    let down = state.workers.down_now();
    if !down.is_empty() {
        return HttpResponse::ServiceUnavailable()
            .json(json!({"status": "not ready", "workers_down": down}));
    }
    HttpResponse::Ok().json(json!({"status": "ready", "workers": state.workers.names()}))
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render_with(&state.kecs.census()))
}

/// Wipes all state, for test isolation; refused unless `--allow-reset` is on.
async fn reset(state: web::Data<AppState>) -> HttpResponse {
    if !state.allow_reset {
        return HttpResponse::Forbidden()
            .json(json!({"error": "reset is disabled; start KECS with --allow-reset"}));
    }
    match state.kecs.reset().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "reset"})),
        Err(e) => HttpResponse::InternalServerError().json(json!({"error": e.to_string()})),
    }
}
