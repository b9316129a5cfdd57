//! One listener's connections: HTTP/1 requests are forwarded one by one, each to the next
//! registered target in turn (hyper's server and pooled client); anything else is spliced as
//! TCP to the next target for the connection's life.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, HOST};
use hyper::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

use crate::targets::Targets;

/// The client requests are forwarded with (connections to targets are pooled).
pub(crate) type Client = hyper_util::client::legacy::Client<HttpConnector, Incoming>;

/// A new forwarding client.
pub(crate) fn client() -> Client {
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build_http()
}

type Body = BoxBody<Bytes, hyper::Error>;

/// How long a new connection may stay silent before it is taken for a protocol where the server
/// speaks first (TCP).
const SNIFF: Duration = Duration::from_millis(300);

/// Serves the listener's connections until the task is aborted.
pub(crate) async fn accept(listener: TcpListener, targets: Arc<Targets>, client: Client) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tracing::warn!(error = %e, "a load balancer listener could not accept");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (targets, client) = (targets.clone(), client.clone());
        tokio::spawn(async move {
            if speaks_http(&stream).await {
                http(stream, peer, targets, client).await;
            } else {
                tcp(stream, &targets).await;
            }
        });
    }
}

/// Whether the connection's first bytes are an HTTP/1 request line's method (`GET `, `POST `).
async fn speaks_http(stream: &TcpStream) -> bool {
    let mut head = [0u8; 8];
    let n = match tokio::time::timeout(SNIFF, stream.peek(&mut head)).await {
        Ok(Ok(n)) => n,
        _ => return false,
    };
    let method = head[..n]
        .iter()
        .take_while(|b| b.is_ascii_uppercase())
        .count();
    method >= 3 && (method == n || head[method] == b' ')
}

async fn http(stream: TcpStream, peer: SocketAddr, targets: Arc<Targets>, client: Client) {
    let service = hyper::service::service_fn(move |req| {
        let (targets, client) = (targets.clone(), client.clone());
        async move { Ok::<_, Infallible>(forward(req, peer, &targets, &client).await) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
    if let Err(e) = served {
        tracing::debug!(error = %e, "a load balancer connection ended with an error");
    }
}

/// An answer of the load balancer itself (no target, or the target failed).
fn answer(status: StatusCode) -> Response<Body> {
    let text = status.canonical_reason().unwrap_or_default();
    let mut response = Response::new(
        Full::new(Bytes::from(format!("{} {text}\n", status.as_u16())))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
}

/// Sends `req` to the next target and answers what it answers: 503 without a target, 502 when
/// the target does not answer.
async fn forward(
    mut req: Request<Incoming>,
    peer: SocketAddr,
    targets: &Targets,
    client: &Client,
) -> Response<Body> {
    let Some(target) = targets.next() else {
        return answer(StatusCode::SERVICE_UNAVAILABLE);
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let Ok(uri) = format!("http://{}{path}", target.address).parse::<Uri>() else {
        return answer(StatusCode::BAD_REQUEST);
    };
    // The client's Host stays (an HTTP/1.0 client may send none); the client's address is
    // added to X-Forwarded-For, as an Application Load Balancer does.
    if !req.headers().contains_key(HOST) {
        if let Ok(host) = HeaderValue::from_str(&target.address) {
            req.headers_mut().insert(HOST, host);
        }
    }
    let forwarded = match req
        .headers()
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
    {
        Some(before) => format!("{before}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(value) = HeaderValue::from_str(&forwarded) {
        req.headers_mut().insert("x-forwarded-for", value);
    }
    *req.uri_mut() = uri;
    match client.request(req).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(e) => {
            tracing::debug!(target = %target.address, error = %e, "a target did not answer");
            answer(StatusCode::BAD_GATEWAY)
        }
    }
}

/// Splices the connection to the next target until either side closes.
async fn tcp(mut stream: TcpStream, targets: &Targets) {
    let Some(target) = targets.next() else { return };
    match TcpStream::connect(&target.address).await {
        Ok(mut upstream) => {
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut upstream).await;
        }
        Err(e) => tracing::debug!(target = %target.address, error = %e, "a target refused"),
    }
}
