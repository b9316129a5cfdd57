//! The admin port: `/health`, `/ready`, `/metrics` and (when enabled) `POST /_kecs/reset`.

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::AppState;

pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/metrics", web::get().to(metrics))
        .route("/_kecs/reset", web::post().to(reset));
}

/// The process is up.
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The store answers: KECS can serve requests.
async fn ready(state: web::Data<AppState>) -> HttpResponse {
    match state.kecs.ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(e) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "not ready", "error": e.to_string()})),
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
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
