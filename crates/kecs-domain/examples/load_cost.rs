//! What loading the state costs the domain at start-up, in-process (no DuckDB): `N` RUNNING
//! tasks and `N / 10` services are made as `kecs-bench scale` makes them (`none` runtime) in a
//! store that keeps every record, then the records are loaded into a fresh state again and
//! again: decoding, summarizing and packing each document, then the derived indexes. The
//! server's restart adds DuckDB's read of the same records, which overlaps this on its own
//! thread.
//!
//! `cargo run --release -p kecs-domain --example load_cost -- [N] [rounds]`

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::{Kind, MemoryStore, Store};
use kecs_domain::state::{Packed, Row, State, StoredService, StoredTask};
use kecs_domain::{EcsError, Kecs, RequestContext};

/// Makes the cluster, `tasks` RUNNING tasks and `tasks / 10` services in `kecs`.
async fn fill(kecs: &Arc<Kecs>, ctx: &RequestContext, tasks: usize) -> Result<(), EcsError> {
    let cluster = || Some("scale".to_string());
    common::cluster_and_family(kecs, ctx, "scale").await?;
    for _ in 0..tasks.div_ceil(10) {
        let run = RunTaskRequest {
            cluster: cluster(),
            task_definition: Some("scale".into()),
            count: Some(10),
            ..Default::default()
        };
        kecs.run_task(ctx, run).await?;
    }
    for i in 0..tasks / 10 {
        let create = CreateServiceRequest {
            cluster: cluster(),
            service_name: Some(format!("s{i}")),
            task_definition: Some("scale".into()),
            desired_count: Some(0),
            ..Default::default()
        };
        kecs.create_service(ctx, create).await?;
    }
    // The launcher takes each task to RUNNING on its own: wait until they all are.
    let running = || async {
        let described = kecs
            .describe_clusters(
                ctx,
                DescribeClustersRequest {
                    clusters: Some(vec!["scale".into()]),
                    ..Default::default()
                },
            )
            .await?;
        let count = described
            .clusters
            .and_then(|c| c.first().and_then(|c| c.running_tasks_count))
            .unwrap_or(0);
        Ok::<usize, EcsError>(usize::try_from(count).unwrap_or(0))
    };
    while running().await? < tasks {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

type Failure = Box<dyn std::error::Error>;

/// Prints how long `f` took.
fn timed(what: &str, f: impl FnOnce() -> Result<(), Failure>) -> Result<(), Failure> {
    let t0 = Instant::now();
    f()?;
    println!("  {what}: {:.0} ms", t0.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

/// Times decoding `docs` whole, reading their summaries alone, and packing them.
fn parts<T: Row>(what: &str, docs: &[&str]) -> Result<(), Failure> {
    timed(&format!("{what} decoded whole (typed)"), || {
        docs.iter()
            .try_for_each(|d| serde_json::from_str::<T>(d).map(drop))?;
        Ok(())
    })?;
    timed(&format!("{what} summarized from their documents"), || {
        docs.iter()
            .try_for_each(|d| T::summarize_document(d).map(drop))?;
        Ok(())
    })?;
    timed(&format!("{what} packed"), || {
        docs.iter().try_for_each(|d| Packed::pack(d).map(drop))?;
        Ok(())
    })
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let rounds: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(3);
    let store = Arc::new(MemoryStore::new());
    let kecs =
        Arc::new(Kecs::open(store.clone(), Arc::new(SystemClock), Arc::new(NoneRuntime)).await?);
    let driver = tokio::spawn(kecs.clone().drive_tasks());
    let ctx = RequestContext::new("us-east-1", "000000000000");
    let started = Instant::now();
    fill(&kecs, &ctx, tasks).await?;
    driver.abort();
    println!(
        "filled {tasks} tasks, {} services in {:.1} s",
        tasks / 10,
        started.elapsed().as_secs_f64()
    );

    let records = store.load().await?;
    let bytes = |kind: Kind| -> usize {
        records
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.doc.len())
            .sum()
    };
    println!(
        "{} records; task documents {:.1} MiB, service documents {:.1} MiB",
        records.len(),
        bytes(Kind::Task) as f64 / 1048576.0,
        bytes(Kind::Service) as f64 / 1048576.0
    );
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let copy = records.clone();
        let t0 = Instant::now();
        let mut state = State::default();
        state.load(copy)?;
        let loaded = t0.elapsed().as_secs_f64();
        state.index_service_tasks();
        let indexed = t0.elapsed().as_secs_f64() - loaded;
        best = (best.0.min(loaded), best.1.min(indexed));
        assert_eq!(state.tasks.len(), tasks);
    }
    println!(
        "load (summarize, pack) {:.0} ms; indexes {:.0} ms (best of {rounds})",
        best.0 * 1000.0,
        best.1 * 1000.0
    );
    // Its parts, over the task and service documents alone.
    let docs = |kind: Kind| -> Vec<&str> {
        records
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| r.doc.as_str())
            .collect()
    };
    parts::<StoredTask>("tasks", &docs(Kind::Task))?;
    parts::<StoredService>("services", &docs(Kind::Service))?;
    Ok(())
}
