//! The OTLP exporter's HTTP client: hyper's pooled client, so traces need no second HTTP stack.
//! It runs on the export thread's own tokio runtime (see `queue`).

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};

/// How long one export may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A plain-HTTP client for the collector (OTLP/HTTP over TLS is for a collector in front).
#[derive(Debug, Clone)]
pub(super) struct HyperClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HyperClient {
    pub(super) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(TIMEOUT));
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
    }
}

#[async_trait::async_trait]
impl HttpClient for HyperClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let exchange = async {
            let response = self.client.request(request.map(Full::new)).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        tokio::time::timeout(TIMEOUT, exchange)
            .await
            .map_err(|_| HttpError::from("the collector did not answer in time"))?
    }
}
