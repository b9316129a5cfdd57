//! The ECS API as a client sees it: AWS JSON 1.1 over HTTP to a KECS's endpoint (what the AWS CLI
//! calls with `--endpoint-url`), plus the container logs KECS serves beside it.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The `X-Amz-Target` prefix of ECS operations.
const TARGET: &str = "AmazonEC2ContainerServiceV20141113";
/// How long one call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// ECS refused it: its error code (`ClusterNotFoundException`) and message.
    #[error("{code}: {message}")]
    Refused {
        /// The AWS error code.
        code: String,
        /// What KECS said.
        message: String,
    },
    /// KECS could not be reached, or answered something that is not the ECS API.
    #[error("cannot call KECS at {endpoint}: {reason}")]
    Unreachable {
        /// The endpoint called.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
}

/// A client of one KECS endpoint.
#[derive(Debug, Clone)]
pub struct EcsClient {
    endpoint: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl EcsClient {
    /// A client of the ECS API at `endpoint` (`http://127.0.0.1:8080`).
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            http: Client::builder(TokioExecutor::new()).build(HttpConnector::new()),
        }
    }

    /// Calls the ECS operation `operation` with `input`; answers its output.
    pub async fn call(&self, operation: &str, input: Value) -> Result<Value, CallError> {
        let request = http::Request::post(format!("{}/", self.endpoint))
            .header("x-amz-target", format!("{TARGET}.{operation}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(Full::new(Bytes::from(input.to_string())));
        self.send(request).await
    }

    /// GETs `path` (a KECS endpoint beside the API, such as a container's logs).
    pub async fn get(&self, path: &str) -> Result<Value, CallError> {
        let request = http::Request::get(format!("{}{path}", self.endpoint)).body(Full::default());
        self.send(request).await
    }

    async fn send(
        &self,
        request: Result<http::Request<Full<Bytes>>, http::Error>,
    ) -> Result<Value, CallError> {
        let unreachable = |reason: String| CallError::Unreachable {
            endpoint: self.endpoint.clone(),
            reason,
        };
        let request = request.map_err(|e| unreachable(e.to_string()))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((status, body.to_bytes()))
        };
        let (status, body) = tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer in {} s", TIMEOUT.as_secs())))?
            .map_err(unreachable)?;
        let answer: Value = serde_json::from_slice(&body)
            .map_err(|e| unreachable(format!("HTTP {status}, not JSON: {e}")))?;
        if status.is_success() {
            return Ok(answer);
        }
        let text = |key: &str| answer[key].as_str().unwrap_or_default().to_string();
        let code = text("__type");
        Err(CallError::Refused {
            code: code.rsplit('#').next().unwrap_or_default().to_string(),
            message: match text("message") {
                m if m.is_empty() => text("Message"),
                m => m,
            },
        })
    }
}
