//! KECS's Model Context Protocol server: tools an assistant calls to inspect and operate a local
//! ECS (list and describe clusters, services, tasks and task definitions; run and stop tasks;
//! create, scale, update and delete services; register task definitions; read a container's
//! logs; wait for a service to be stable; explain why a task stopped), and resources (the
//! cluster overview, a service's events).
//!
//! It talks to KECS through the ECS API at an endpoint, as the AWS CLI does, so it serves any
//! KECS, local or remote, and never reaches into a store. `kecs mcp` serves it on stdio
//! ([`serve_stdio`]); `kecs server --mcp-http` on the admin port ([`http_service`]).

mod args;
mod client;
mod diagnose;
mod read_tools;
mod resources;
mod write_tools;

use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::ServiceExt;
use serde_json::Value;

pub use client::{CallError, EcsClient};

/// The MCP server over one KECS endpoint.
#[derive(Clone)]
pub struct KecsMcp {
    ecs: EcsClient,
    tool_router: ToolRouter<Self>,
}

impl std::fmt::Debug for KecsMcp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KecsMcp")
            .field("ecs", &self.ecs)
            .finish_non_exhaustive()
    }
}

impl KecsMcp {
    /// The server over the ECS API at `endpoint` (`http://127.0.0.1:8080`).
    pub fn new(endpoint: &str) -> Self {
        Self {
            ecs: EcsClient::new(endpoint),
            tool_router: Self::read_tools() + Self::write_tools() + Self::diagnose_tools(),
        }
    }
}

/// A tool's answer: the API's output as JSON text, or its refusal as a tool error (which the
/// assistant reads, rather than a protocol error).
fn answer(result: Result<Value, CallError>) -> CallToolResult {
    match result {
        Ok(value) => {
            let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
            CallToolResult::success(vec![ContentBlock::text(text)])
        }
        Err(e) => CallToolResult::error(vec![ContentBlock::text(e.to_string())]),
    }
}

/// Serves MCP on stdin and stdout until the client closes them.
pub async fn serve_stdio(endpoint: &str) -> std::io::Result<()> {
    let running = KecsMcp::new(endpoint)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// MCP over streamable HTTP, stateless with JSON answers (each POST answered on its own), for
/// the ECS API at `endpoint`. The caller routes requests to it and guards the host.
pub type HttpService = StreamableHttpService<KecsMcp, LocalSessionManager>;

/// The streamable HTTP service over the ECS API at `endpoint`.
pub fn http_service(endpoint: &str) -> HttpService {
    let endpoint = endpoint.to_string();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .disable_allowed_hosts();
    StreamableHttpService::new(
        move || Ok(KecsMcp::new(&endpoint)),
        Arc::new(LocalSessionManager::default()),
        config,
    )
}
