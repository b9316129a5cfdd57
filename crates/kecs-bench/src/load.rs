//! The load: N clients, each a loop of requests over a kept-alive HTTP/1.1 connection, for a
//! fixed time; latencies merged into percentiles.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::servers::Target;
use crate::workload::{Fixture, Op};
use crate::BenchResult;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What one operation measured.
pub struct Stats {
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub errors: usize,
}

/// An HTTP/1.1 client keeping connections alive.
pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

fn request(url: &str, op: &str, body: Bytes) -> BenchResult<hyper::Request<Full<Bytes>>> {
    Ok(hyper::Request::post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AmazonEC2ContainerServiceV20141113.{op}"))
        // moto routes by the credential scope's service; nobody checks the signature.
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(Full::new(body))?)
}

/// One call, its answer parsed; a non-200 answer is an error.
pub async fn call(
    client: &HttpClient,
    target: &Target,
    op: &str,
    body: &Value,
) -> BenchResult<Value> {
    let req = request(&target.url, op, Bytes::from(serde_json::to_vec(body)?))?;
    let resp = client.request(req).await?;
    let status = resp.status();
    let bytes = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!(
            "{} {op}: HTTP {status} {}",
            target.name,
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
        .into());
    }
    Ok(serde_json::from_slice(&bytes)?)
}

/// The first `<tag>` of an EC2 Query API answer (moto's default VPC), e.g. a subnet ID.
pub async fn ec2_first(
    client: &HttpClient,
    target: &Target,
    action: &str,
    tag: &str,
) -> BenchResult<String> {
    let req = hyper::Request::post(&target.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(Full::new(Bytes::from(format!("Action={action}&Version=2016-11-15"))))?;
    let resp = client.request(req).await?;
    let xml = String::from_utf8(resp.into_body().collect().await?.to_bytes().to_vec())?;
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .ok_or_else(|| format!("{action}: no {tag} in {xml:.300}"))?
        + open.len();
    let end = xml[start..].find('<').ok_or("unterminated tag")? + start;
    Ok(xml[start..end].to_string())
}

async fn one_client(
    url: String,
    op: &'static Op,
    bodies: Vec<Bytes>,
    until: Instant,
) -> (Vec<u32>, usize) {
    let client = client();
    let (mut micros, mut errors) = (Vec::with_capacity(1 << 16), 0);
    let mut n = 0;
    while Instant::now() < until {
        let body = bodies[n % bodies.len()].clone();
        n += 1;
        let begun = Instant::now();
        let ok = send(&client, &url, op.name, body).await;
        micros.push(begun.elapsed().as_micros().min(u32::MAX as u128) as u32);
        if !ok {
            errors += 1;
        }
    }
    (micros, errors)
}

/// One request whose answer is read whole; whether it succeeded.
pub async fn send(client: &HttpClient, url: &str, op: &str, body: Bytes) -> bool {
    let Ok(req) = request(url, op, body) else {
        return false;
    };
    match client.request(req).await {
        Ok(resp) => {
            let ok = resp.status().is_success();
            ok && resp.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

/// The `q` quantile of sorted microseconds, in milliseconds.
pub fn percentile_ms(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Runs `op` from `clients` clients for `duration`.
pub async fn run_op(
    target: &Target,
    op: &'static Op,
    fixture: &Fixture,
    clients: usize,
    duration: Duration,
) -> BenchResult<Stats> {
    // Bodies made up front, so the loop measures the server, not JSON encoding. A client that
    // needs a fresh body each call (CreateCluster names) gets enough for any run here.
    let per_client = if op.varies { 200_000 } else { 1 };
    let mut bodies = vec![];
    for c in 0..clients {
        let mine: Vec<Bytes> = (0..per_client)
            .map(|n| serde_json::to_vec(&(op.body)(fixture, c, n)).map(Bytes::from))
            .collect::<Result<_, _>>()?;
        bodies.push(mine);
    }
    let until = Instant::now() + duration;
    let handles: Vec<_> = bodies
        .into_iter()
        .map(|mine| tokio::spawn(one_client(target.url.clone(), op, mine, until)))
        .collect();
    let (mut all, mut errors) = (vec![], 0);
    for h in handles {
        let (micros, e) = h.await?;
        all.extend(micros);
        errors += e;
    }
    all.sort_unstable();
    Ok(Stats {
        throughput: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: percentile_ms(&all, 0.5),
        p99_ms: percentile_ms(&all, 0.99),
        p999_ms: percentile_ms(&all, 0.999),
        errors,
    })
}
