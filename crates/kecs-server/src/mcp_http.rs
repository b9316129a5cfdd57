//! `--mcp-http`: MCP over streamable HTTP at `/mcp` on the admin port (behind its host check and
//! admin token). rmcp's service speaks the `http` 1.x types; actix-web has its own, so each
//! request and answer is carried across (answers are JSON, not streams: the service is stateless).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Full};

/// The path MCP is served at.
pub const PATH: &str = "/mcp";

/// Routes `/mcp` to the MCP service over the ECS API at `endpoint`.
pub fn routes(cfg: &mut web::ServiceConfig, endpoint: &str) {
    cfg.app_data(web::Data::new(kecs_mcp::http_service(endpoint)))
        .route(PATH, web::to(serve));
}

async fn serve(
    req: HttpRequest,
    body: web::Bytes,
    mcp: web::Data<kecs_mcp::HttpService>,
) -> HttpResponse {
    let mut request = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        request = request.header(name.as_str(), value.as_bytes());
    }
    let Ok(request) = request.body(Full::new(body)) else {
        return HttpResponse::BadRequest().finish();
    };
    let (parts, body) = mcp.handle(request).await.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let status = StatusCode::from_u16(parts.status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut answer = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        answer.append_header((name.as_str(), value.as_bytes()));
    }
    answer.body(body)
}
