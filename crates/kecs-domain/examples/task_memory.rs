//! How much heap KECS's in-memory state holds per task and per service, measured with a
//! counting allocator: runs `N` tasks (RunTask, 10 at a time, `none` runtime) and `N / 10`
//! services in one cluster, as `kecs-bench scale` does, over a store that keeps nothing (so only
//! the state is counted), and prints the live bytes before and after and the stored documents'
//! size for comparison.
//!
//! `cargo run --release -p kecs-domain --example task_memory -- 100000`
//!
//! The one unsafe code in the workspace: a global allocator is an `unsafe` trait.
#![allow(unsafe_code)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};
use std::sync::Arc;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::{
    Change, CommitFuture, Kind, Record, Store, StoreError, StoreFuture,
};
use kecs_domain::{EcsError, Kecs, RequestContext};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Keeps nothing; adds up the size of the last document written for tasks and services.
#[derive(Default)]
struct Discard {
    task_doc: AtomicUsize,
    service_doc: AtomicUsize,
}

impl Store for Discard {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        Box::pin(async { Ok(vec![]) })
    }
    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        for c in &changes {
            if let Change::Put(r) = c {
                match r.kind {
                    Kind::Task => self.task_doc.store(r.doc.len(), Ordering::Relaxed),
                    Kind::Service => self.service_doc.store(r.doc.len(), Ordering::Relaxed),
                    _ => {}
                }
            }
        }
        Box::pin(async { Ok::<(), StoreError>(()) })
    }
    fn ping(&self) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

fn mib(bytes: isize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), EcsError> {
    let tasks: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let store = Arc::new(Discard::default());
    let kecs = Kecs::open(store.clone(), Arc::new(SystemClock), Arc::new(NoneRuntime)).await?;
    let ctx = RequestContext::new("us-east-1", "000000000000");
    common::cluster_and_family(&kecs, &ctx, "scale").await?;
    let before = LIVE.load(Ordering::Relaxed);
    for _ in 0..tasks.div_ceil(10) {
        kecs.run_task(
            &ctx,
            RunTaskRequest {
                cluster: Some("scale".into()),
                task_definition: Some("scale".into()),
                count: Some(10),
                ..Default::default()
            },
        )
        .await?;
    }
    let after_tasks = LIVE.load(Ordering::Relaxed);
    let services = tasks / 10;
    for i in 0..services {
        kecs.create_service(
            &ctx,
            CreateServiceRequest {
                cluster: Some("scale".into()),
                service_name: Some(format!("s{i}")),
                task_definition: Some("scale".into()),
                desired_count: Some(0),
                ..Default::default()
            },
        )
        .await?;
    }
    let after_services = LIVE.load(Ordering::Relaxed);
    let per_task = (after_tasks - before) / tasks as isize;
    let per_service = (after_services - after_tasks) / services.max(1) as isize;
    println!(
        "{tasks} tasks: {:.1} MiB live, {per_task} B per task (its stored JSON: {} B)",
        mib(after_tasks - before),
        store.task_doc.load(Ordering::Relaxed)
    );
    println!(
        "{services} services: {:.1} MiB live, {per_service} B per service with its revision and deployment (its stored JSON: {} B)",
        mib(after_services - after_tasks),
        store.service_doc.load(Ordering::Relaxed)
    );
    Ok(())
}
