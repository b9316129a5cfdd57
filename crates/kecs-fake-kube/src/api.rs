//! The HTTP routes of the fake API server, answering as kube-apiserver does.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use bytes::Bytes;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{json, Value};

use crate::objects::Objects;
use crate::world::{selects, Change, Failure, World};

type Query = web::Query<HashMap<String, String>>;

/// Routes for [`World`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/version", web::get().to(version))
        .route("/api/v1/namespaces", web::post().to(create_namespace))
        .route("/api/v1/namespaces/{ns}", web::get().to(get_namespace))
        .route(
            "/api/v1/namespaces/{ns}",
            web::delete().to(delete_namespace),
        )
        .route("/api/v1/pods", web::get().to(list_or_watch_pods))
        .route(
            "/api/v1/namespaces/{ns}/pods",
            web::get().to(list_or_watch_pods),
        )
        .route("/api/v1/namespaces/{ns}/pods", web::post().to(create_pod))
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            web::get().to(get_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            web::patch().to(patch_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            web::delete().to(delete_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}/log",
            web::get().to(pod_logs),
        )
        .route(
            "/api/v1/namespaces/{ns}/{plural:services|secrets}",
            web::post().to(create_object),
        )
        .route(
            "/api/v1/namespaces/{ns}/{plural:services|secrets}",
            web::get().to(list_objects),
        )
        .route(
            "/api/v1/namespaces/{ns}/{plural:services|secrets}/{name}",
            web::get().to(get_object),
        )
        .route(
            "/api/v1/namespaces/{ns}/{plural:services|secrets}/{name}",
            web::delete().to(delete_object),
        )
        .default_service(web::to(|| async {
            status(
                StatusCode::NOT_FOUND,
                "NotFound",
                "the server could not find the requested resource",
            )
        }));
}

fn status(code: StatusCode, reason: &str, message: &str) -> HttpResponse {
    HttpResponse::build(code).json(json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16()
    }))
}

fn failure(f: Failure) -> HttpResponse {
    match f {
        Failure::NotFound(m) => status(StatusCode::NOT_FOUND, "NotFound", &m),
        Failure::AlreadyExists(m) => status(StatusCode::CONFLICT, "AlreadyExists", &m),
        Failure::Invalid(m) => status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &m),
        Failure::Gone => status(StatusCode::GONE, "Expired", "too old resource version"),
    }
}

fn answer<T: serde::Serialize>(result: Result<T, Failure>, code: StatusCode) -> HttpResponse {
    match result {
        Ok(v) => HttpResponse::build(code).json(v),
        Err(f) => failure(f),
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Box<HttpResponse>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &e.to_string(),
        ))
    })
}

async fn version() -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "major": "1", "minor": "33", "gitVersion": "v1.33.0-kecs-fake", "gitCommit": "",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
        "compiler": "gc", "platform": "linux/amd64"
    }))
}

async fn create_namespace(world: web::Data<World>, body: Bytes) -> HttpResponse {
    match parse::<Value>(&body) {
        Ok(ns) => answer(world.namespaces().create(ns), StatusCode::CREATED),
        Err(r) => *r,
    }
}

async fn get_namespace(world: web::Data<World>, ns: web::Path<String>) -> HttpResponse {
    answer(world.namespaces().get(&ns), StatusCode::OK)
}

async fn delete_namespace(world: web::Data<World>, ns: web::Path<String>) -> HttpResponse {
    answer(world.namespaces().delete(&ns), StatusCode::OK)
}

async fn create_pod(world: web::Data<World>, ns: web::Path<String>, body: Bytes) -> HttpResponse {
    match parse::<Pod>(&body) {
        Ok(pod) => answer(world.create_pod(&ns, pod), StatusCode::CREATED),
        Err(r) => *r,
    }
}

async fn get_pod(world: web::Data<World>, path: web::Path<(String, String)>) -> HttpResponse {
    answer(world.pod(&path.0, &path.1), StatusCode::OK)
}

async fn patch_pod(
    world: web::Data<World>,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> HttpResponse {
    match parse::<Value>(&body) {
        Ok(patch) => answer(world.patch_pod(&path.0, &path.1, &patch), StatusCode::OK),
        Err(r) => *r,
    }
}

async fn delete_pod(
    world: web::Data<World>,
    path: web::Path<(String, String)>,
    query: Query,
    body: Bytes,
) -> HttpResponse {
    let options: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let grace = options["gracePeriodSeconds"]
        .as_i64()
        .or_else(|| query.get("gracePeriodSeconds")?.parse().ok());
    answer(world.delete_pod(&path.0, &path.1, grace), StatusCode::OK)
}

async fn pod_logs(
    world: web::Data<World>,
    path: web::Path<(String, String)>,
    query: Query,
) -> HttpResponse {
    let container = query.get("container").cloned().unwrap_or_default();
    let tail = query.get("tailLines").and_then(|t| t.parse().ok());
    let timestamps = query.get("timestamps").is_some_and(|t| t == "true");
    match world.logs(&path.0, &path.1, &container, tail, timestamps) {
        Ok(text) => HttpResponse::Ok().content_type("text/plain").body(text),
        Err(f) => failure(f),
    }
}

fn event_line(kind: &str, object: &impl serde::Serialize) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

async fn list_or_watch_pods(
    world: web::Data<World>,
    ns: Option<web::Path<String>>,
    query: Query,
) -> HttpResponse {
    let ns = ns.map(|n| n.into_inner());
    let selector = query.get("labelSelector").cloned();
    if query.get("watch").is_none_or(|w| w != "true" && w != "1") {
        let (pods, rv) = world.pods(ns.as_deref(), selector.as_deref());
        return HttpResponse::Ok().json(json!({
            "apiVersion": "v1", "kind": "PodList",
            "metadata": {"resourceVersion": rv.to_string()}, "items": pods
        }));
    }
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| world.resource_version());
    let timeout = Duration::from_secs(
        query
            .get("timeoutSeconds")
            .and_then(|t| t.parse().ok())
            .unwrap_or(300),
    );
    let (past, receiver) = match world.watch(since, selector.as_deref()) {
        Ok(w) => w,
        Err(Failure::Gone) => {
            let gone = json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                "status": "Failure", "message": "too old resource version", "reason": "Expired",
                "code": 410});
            return HttpResponse::Ok()
                .content_type("application/json")
                .body(event_line("ERROR", &gone));
        }
        Err(f) => return failure(f),
    };
    let in_ns = move |c: &Change| {
        ns.as_deref()
            .is_none_or(|n| c.pod.metadata.namespace.as_deref() == Some(n))
    };
    let matches = {
        let in_ns = in_ns.clone();
        move |c: &Change| in_ns(c) && selects(selector.as_deref(), c.pod.metadata.labels.as_ref())
    };
    let first: Vec<Result<Bytes, actix_web::Error>> = past
        .into_iter()
        .filter(|c| in_ns(c))
        .map(|c| Ok(event_line(c.kind, &c.pod)))
        .collect();
    let deadline = tokio::time::Instant::now() + timeout;
    // The watch ends at its timeout, or when it lags behind the buffer (the client then lists
    // again, as after any ended watch).
    let later = futures::stream::unfold(receiver, move |mut rx| async move {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Ok(change)) => Some((change, rx)),
            Ok(Err(_)) | Err(_) => None,
        }
    })
    .filter(move |c| futures::future::ready(matches(c)))
    .map(|c| Ok::<_, actix_web::Error>(event_line(c.kind, &c.pod)));
    HttpResponse::Ok()
        .content_type("application/json")
        .streaming(futures::stream::iter(first).chain(later))
}

/// The namespaced objects a path's first segment names.
fn objects<'w>(world: &'w World, plural: &str) -> Objects<'w> {
    if plural == "secrets" {
        world.secrets()
    } else {
        world.services()
    }
}

async fn create_object(
    world: web::Data<World>,
    path: web::Path<(String, String)>,
    body: Bytes,
) -> HttpResponse {
    let (ns, plural) = path.into_inner();
    match parse::<Value>(&body) {
        Ok(o) => answer(objects(&world, &plural).create(&ns, o), StatusCode::CREATED),
        Err(r) => *r,
    }
}

async fn list_objects(world: web::Data<World>, path: web::Path<(String, String)>) -> HttpResponse {
    let (ns, plural) = path.into_inner();
    let kind = if plural == "secrets" {
        "SecretList"
    } else {
        "ServiceList"
    };
    HttpResponse::Ok().json(json!({
        "apiVersion": "v1", "kind": kind,
        "metadata": {"resourceVersion": world.resource_version().to_string()},
        "items": objects(&world, &plural).list(&ns)
    }))
}

async fn get_object(
    world: web::Data<World>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (ns, plural, name) = path.into_inner();
    answer(objects(&world, &plural).get(&ns, &name), StatusCode::OK)
}

async fn delete_object(
    world: web::Data<World>,
    path: web::Path<(String, String, String)>,
) -> HttpResponse {
    let (ns, plural, name) = path.into_inner();
    answer(objects(&world, &plural).delete(&ns, &name), StatusCode::OK)
}
