//! The AWS JSON 1.1 protocol: `POST /` with `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`
//! for ECS, or `Logs_20140328.<Op>` for the CloudWatch Logs operations that serve tasks' logs.

use std::time::Instant;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use kecs_domain::api::logs::LogsOperation;
use kecs_domain::api::Operation;
use kecs_domain::ports::traces::TraceParent;
use kecs_domain::RequestContext;
use tracing::Instrument;

use crate::dispatch::{dispatch, dispatch_logs};
use crate::error::AwsError;
use crate::{AppState, MAX_BODY_BYTES};

const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
// Header names made once, not parsed from text per response (AWS spells it x-amzn-RequestId;
// HTTP/1 header names are case-insensitive and actix writes them in lower case either way).
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const CONTENT_TYPE_HEADER: HeaderName = actix_web::http::header::CONTENT_TYPE;

/// The region of the SigV4 credential scope:
/// `Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/<region>/ecs/aws4_request, ...`.
pub(crate) fn region_from_auth(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?;
    let region = credential.split('/').nth(2)?;
    let valid = !region.is_empty()
        && region.len() <= 32
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| region.to_string())
}

async fn read_body(req: &HttpRequest, payload: &mut web::Payload) -> Result<Vec<u8>, AwsError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(AwsError::too_large(MAX_BODY_BYTES));
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(AwsError::serialization)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(AwsError::too_large(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The operation an `X-Amz-Target` names, of ECS or of CloudWatch Logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Ecs(Operation),
    Logs(LogsOperation),
}

impl Target {
    fn parse(target: &str) -> Option<Self> {
        if let Some(op) = target.strip_prefix(TARGET_PREFIX) {
            return Operation::from_name(op).map(Target::Ecs);
        }
        let op = target.strip_prefix(LOGS_TARGET_PREFIX)?;
        LogsOperation::from_name(op).map(Target::Logs)
    }

    /// The operation's name (the metrics' label).
    fn name(&self) -> &'static str {
        match self {
            Target::Ecs(op) => op.name(),
            Target::Logs(op) => op.name(),
        }
    }

    /// Whether its answer holds the address the request came to (`RequestContext::endpoint`).
    fn answers_own_address(&self) -> bool {
        matches!(
            self,
            Target::Ecs(Operation::DiscoverPollEndpoint | Operation::ExecuteCommand)
        )
    }

    /// The service for the conformance record: `None` for ECS.
    fn service(&self) -> Option<&'static str> {
        matches!(self, Target::Logs(_)).then_some("logs")
    }
}

async fn answer(
    req: &HttpRequest,
    payload: &mut web::Payload,
    state: &AppState,
    ctx: &RequestContext,
    operation: Option<Target>,
) -> Result<Vec<u8>, AwsError> {
    let body = read_body(req, payload).await?;
    state.auth.verify(req, &body)?;
    let Some(op) = operation else {
        let target = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        return Err(AwsError::unknown_operation(target));
    };
    Ok(match op {
        Target::Ecs(op) => dispatch(&*state.kecs, ctx, op, &body).await?,
        Target::Logs(op) => dispatch_logs(&*state.kecs, ctx, op, &body).await?,
    })
}

/// Handles one ECS API request.
pub async fn handle(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let operation = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(Target::parse);
    let ctx = RequestContext {
        region: region_from_auth(req.headers()).unwrap_or_else(|| state.default_region.clone()),
        account_id: state.account_id.clone(),
        request_id: crate::request_id::next(),
        endpoint: operation
            .is_some_and(|o| o.answers_own_address())
            .then(|| format!("http://{}", req.connection_info().host())),
    };
    let op_name = operation.map(|o| o.name());
    let span = request_span(&req, &state, &ctx, op_name);
    async {
        let (status, body) = match answer(&req, &mut payload, &state, &ctx, operation).await {
            Ok(body) => (StatusCode::OK, body),
            Err(e) => {
                if state.traces.is_some() {
                    tracing::Span::current().record("aws.error_code", e.code);
                }
                if e.status.is_server_error() {
                    tracing::error!(code = e.code, message = %e.message, "request failed");
                } else {
                    tracing::debug!(code = e.code, message = %e.message, "request refused");
                }
                (e.status, e.body())
            }
        };
        let elapsed = started.elapsed().as_secs_f64();
        tracing::debug!(status = status.as_u16(), seconds = elapsed, "answered");
        if state.traces.is_some() {
            record_status(status);
        }
        state
            .metrics
            .observe_request(op_name.unwrap_or("unknown"), status.as_u16(), elapsed);
        if let Some(log) = &state.conformance {
            log.record(
                operation.and_then(|o| o.service()),
                op_name,
                status.as_u16(),
                &body,
            );
        }
        let mut response = HttpResponse::with_body(status, body);
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE_HEADER, HeaderValue::from_static(CONTENT_TYPE));
        if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
            headers.insert(REQUEST_ID, id);
        }
        response.map_into_boxed_body()
    }
    .instrument(span)
    .await
}

/// The request's span: its operation and request ID; when traces are exported, it is named
/// after the operation (`ECS/RunTask`) and continues the trace of the caller's `traceparent`.
fn request_span(
    req: &HttpRequest,
    state: &AppState,
    ctx: &RequestContext,
    op_name: Option<&str>,
) -> tracing::Span {
    let operation = op_name.unwrap_or("unknown");
    let Some(traces) = &state.traces else {
        return tracing::info_span!("request", request_id = %ctx.request_id, operation);
    };
    let span = tracing::info_span!(
        "request",
        request_id = %ctx.request_id,
        operation,
        otel.name = %format!("ECS/{operation}"),
        otel.kind = "server",
        rpc.system = "aws-api",
        rpc.method = operation,
        http.response.status_code = tracing::field::Empty,
        aws.error_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
    );
    if let Some(parent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        traces.continue_in(&span, &TraceParent(parent.to_string()));
    }
    span
}

/// Records the answer's status on the current request span (a server error fails the span).
fn record_status(status: StatusCode) {
    let span = tracing::Span::current();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    #[test]
    fn region_comes_from_the_credential_scope() {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-3/ecs/aws4_request, SignedHeaders=host, Signature=abc"),
        );
        assert_eq!(region_from_auth(&h).as_deref(), Some("eu-west-3"));
        h.insert(
            HeaderName::from_static("authorization"),
            HeaderValue::from_static("Bearer x"),
        );
        assert_eq!(region_from_auth(&h), None);
    }

    #[test]
    fn targets_of_both_services() {
        assert_eq!(
            Target::parse("AmazonEC2ContainerServiceV20141113.ListClusters"),
            Some(Target::Ecs(Operation::ListClusters))
        );
        assert_eq!(
            Target::parse("Logs_20140328.GetLogEvents"),
            Some(Target::Logs(LogsOperation::GetLogEvents))
        );
        assert_eq!(Target::parse("Logs_20140328.Nope"), None);
        assert_eq!(Target::parse("ListClusters"), None);
    }
}
