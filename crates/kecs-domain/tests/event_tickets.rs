//! A request cancelled while its commit is pending (the client hung up) does not hold back the
//! events of the writes after it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::events::{Event, EventBus};
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::{Change, CommitFuture, MemoryStore, Record, Store, StoreFuture};
use kecs_domain::Kecs;

mod support;
use support::ctx;

/// A memory store whose commits never answer while `stalled` is set.
#[derive(Default)]
struct Stalling {
    inner: MemoryStore,
    stalled: AtomicBool,
}

impl Store for Stalling {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        self.inner.load()
    }
    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        if self.stalled.load(Ordering::SeqCst) {
            return Box::pin(futures::future::pending());
        }
        self.inner.commit(changes)
    }
    fn ping(&self) -> StoreFuture<()> {
        self.inner.ping()
    }
}

/// The detail types of the events published, in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl EventBus for Recorder {
    fn publish(&self, events: &[Event]) {
        let mut seen = self.0.lock().unwrap();
        seen.extend(events.iter().map(|e| e.resources.join(",")));
    }
}

fn create(name: &str) -> CreateClusterRequest {
    CreateClusterRequest {
        cluster_name: Some(name.into()),
        ..CreateClusterRequest::default()
    }
}

#[tokio::test]
async fn a_cancelled_write_does_not_hold_back_later_events() {
    let store = Arc::new(Stalling::default());
    let events = Arc::new(Recorder::default());
    let kecs = Kecs::open(store.clone(), Arc::new(SystemClock), Arc::new(NoneRuntime))
        .await
        .unwrap()
        .with_events(events.clone());
    store.stalled.store(true, Ordering::SeqCst);
    // The client gives up while the commit is pending: the request's future is dropped.
    let cancelled = tokio::time::timeout(
        Duration::from_millis(50),
        kecs.create_cluster(&ctx(), create("a")),
    )
    .await;
    assert!(cancelled.is_err(), "the stalled commit never answered");
    store.stalled.store(false, Ordering::SeqCst);
    kecs.create_cluster(&ctx(), create("b")).await.unwrap();
    let seen = events.0.lock().unwrap().clone();
    assert_eq!(
        seen,
        ["arn:aws:ecs:us-east-1:000000000000:cluster/b"],
        "the later write's event is published; the cancelled one's is not"
    );
}
