//! What one RunTask costs the domain, in-process (no HTTP, no journal, no DuckDB): one-task
//! RunTask calls on the `none` runtime into a store that keeps nothing, one after another, then
//! the same calls with the answer encoded as the API encodes it. What the durable storm
//! (`kecs-bench storm`) adds on top of this is HTTP, the request's decoding and the journal.
//!
//! `cargo run --release -p kecs-domain --example run_cost -- [calls]`

mod common;

use std::sync::Arc;
use std::time::Instant;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::NoStore;
use kecs_domain::{EcsError, Kecs, RequestContext};

#[tokio::main]
async fn main() -> Result<(), EcsError> {
    let calls: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let kecs = Kecs::open(
        Arc::new(NoStore),
        Arc::new(SystemClock),
        Arc::new(NoneRuntime),
    )
    .await?;
    let ctx = RequestContext::new("us-east-1", "000000000000");
    common::cluster_and_family(&kecs, &ctx, "bench").await?;
    let request = RunTaskRequest {
        cluster: Some("bench".into()),
        task_definition: Some("bench".into()),
        ..Default::default()
    };
    let mut bytes = 0;
    let begun = Instant::now();
    for round in 0..calls {
        let answer = kecs.run_task(&ctx, request.clone()).await?;
        if round % 2 == 1 {
            bytes = serde_json::to_vec(&answer)
                .map_err(|e| EcsError::internal("encoding", e))?
                .len();
        }
    }
    let each = begun.elapsed().as_secs_f64() / f64::from(calls);
    println!("RunTask of one task, {calls} calls (every other answer encoded, {bytes} bytes):");
    println!("{:>8.1} µs per call", each * 1e6);
    Ok(())
}
