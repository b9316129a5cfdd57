//! The endpoints the ECS agent serves a task's containers, on their own listener (the address
//! containers are told: `ECS_CONTAINER_METADATA_URI_V4` and the others): task metadata v4 and
//! v3 with statistics, task-role credentials, and the agent API's task protection.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use kecs_domain::{EndpointError, MetadataVersion};
use serde_json::json;

use crate::{AppState, AwsError};

fn answer(result: Result<serde_json::Value, EndpointError>) -> HttpResponse {
    let (status, body) = match result {
        Ok(body) => (StatusCode::OK, body),
        Err(EndpointError::Ecs { task_arn, error }) => {
            // As the agent: the ECS error's code and message, with the task's ARN.
            let aws = AwsError::from(error);
            let body = json!({ "error": {
                "Arn": task_arn,
                "Code": aws.code,
                "Message": aws.message,
            }});
            (aws.status, body)
        }
        Err(e) => (status_of(&e), json!({ "Message": e.to_string() })),
    };
    HttpResponse::build(status).json(body)
}

/// The HTTP status of an endpoint's refusal.
pub(crate) fn status_of(e: &EndpointError) -> StatusCode {
    match e {
        EndpointError::NotFound(_) => StatusCode::NOT_FOUND,
        EndpointError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        EndpointError::BadRequest(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn version(v: &str) -> Option<MetadataVersion> {
    match v {
        "v3" => Some(MetadataVersion::V3),
        "v4" => Some(MetadataVersion::V4),
        _ => None,
    }
}

fn unknown_version() -> HttpResponse {
    answer(Err(EndpointError::NotFound(
        "no such metadata endpoint version".into(),
    )))
}

/// `/{v3|v4}/{id}` and `/{v3|v4}/{id}/task`.
async fn metadata(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> HttpResponse {
    let (v, id) = path.into_inner();
    let Some(v) = version(&v) else {
        return unknown_version();
    };
    let whole_task = req.path().ends_with("/task");
    answer(state.kecs.task_metadata(&id, v, whole_task))
}

/// `/{v3|v4}/{id}/stats` and `/{v3|v4}/{id}/task/stats`.
async fn stats(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    req: HttpRequest,
) -> HttpResponse {
    let (v, id) = path.into_inner();
    if version(&v).is_none() {
        return unknown_version();
    }
    let whole_task = req.path().ends_with("/task/stats");
    answer(state.kecs.task_stats(&id, whole_task).await)
}

/// `/v2/credentials/{id}`: the SDKs send the token as the `Authorization` header.
async fn credentials(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let authorization = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    answer(state.kecs.task_credentials(&id, authorization).await)
}

/// `GET|PUT /api/{id}/task-protection/v1/state`.
async fn task_protection(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let body = (req.method() == actix_web::http::Method::PUT).then_some(&body[..]);
    answer(state.kecs.agent_task_protection(&id, body).await)
}

/// Routes of the task endpoints' listener.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/{v}/{id}", web::get().to(metadata))
        .route("/{v}/{id}/task", web::get().to(metadata))
        .route("/{v}/{id}/stats", web::get().to(stats))
        .route("/{v}/{id}/task/stats", web::get().to(stats))
        .route("/v2/credentials/{id}", web::get().to(credentials))
        .route(
            "/api/{id}/task-protection/v1/state",
            web::route()
                .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Put()))
                .to(task_protection),
        );
}
