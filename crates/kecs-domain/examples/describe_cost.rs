//! What answering DescribeTasks of 100 tasks costs, in-process (no HTTP): the answer as KECS
//! makes it (each task's stored document spliced in) next to the same answer decoded into typed
//! tasks and encoded again (what every task cost before the splice: decode + encode). Both
//! include the lookups and the final encoding to the response body.
//!
//! `cargo run --release -p kecs-domain --example describe_cost -- [iterations]`

mod common;

use std::sync::Arc;
use std::time::Instant;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::MemoryStore;
use kecs_domain::{EcsError, Kecs, RequestContext};

fn decoding(e: serde_json::Error) -> EcsError {
    EcsError::internal("decoding a described task", e)
}

#[tokio::main]
async fn main() -> Result<(), EcsError> {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let store = Arc::new(MemoryStore::new());
    let kecs = Kecs::open(store, Arc::new(SystemClock), Arc::new(NoneRuntime)).await?;
    let ctx = RequestContext::new("us-east-1", "000000000000");
    common::cluster_and_family(&kecs, &ctx, "bench").await?;
    let mut arns = vec![];
    for _ in 0..10 {
        let run = RunTaskRequest {
            cluster: Some("bench".into()),
            task_definition: Some("bench".into()),
            count: Some(10),
            ..Default::default()
        };
        let tasks = kecs.run_task(&ctx, run).await?.tasks.unwrap_or_default();
        arns.extend(tasks.into_iter().filter_map(|t| t.task_arn));
    }
    let request = DescribeTasksRequest {
        cluster: Some("bench".into()),
        tasks: Some(arns),
        ..Default::default()
    };
    let mut bytes = 0;
    let begun = Instant::now();
    for _ in 0..iterations {
        let answer = kecs.describe_tasks(&ctx, request.clone()).await?;
        bytes = serde_json::to_vec(&answer).map_err(decoding)?.len();
    }
    let spliced = begun.elapsed().as_secs_f64() / f64::from(iterations);
    let begun = Instant::now();
    for _ in 0..iterations {
        let mut answer = kecs.describe_tasks(&ctx, request.clone()).await?;
        let typed: Vec<Document<Task>> = answer
            .tasks
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.into_value().map(Document::Typed))
            .collect::<Result<_, _>>()
            .map_err(decoding)?;
        answer.tasks = Some(typed);
        serde_json::to_vec(&answer).map_err(decoding)?;
    }
    let typed = begun.elapsed().as_secs_f64() / f64::from(iterations);
    println!("DescribeTasks of 100 tasks, answer of {bytes} bytes, {iterations} iterations:");
    println!(
        "spliced (as served): {:>8.1} µs per call, {:.2} µs per task",
        spliced * 1e6,
        spliced * 1e4
    );
    println!(
        "decoded + encoded:   {:>8.1} µs per call, {:.2} µs per task ({:.1}x)",
        typed * 1e6,
        typed * 1e4,
        typed / spliced
    );
    Ok(())
}
