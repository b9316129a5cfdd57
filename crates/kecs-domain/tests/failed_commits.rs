//! A write whose commit fails is not served afterwards: the state is reloaded from the store,
//! writes decided on the failed one are refused meanwhile, and writes go on once the store
//! takes them again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::{
    Change, CommitFuture, MemoryStore, Record, Store, StoreError, StoreFuture,
};
use kecs_domain::{Cause, EcsError, Kecs};

mod support;
use support::ctx;

/// A memory store whose commits fail while `full` is set (a full disk), refusing later commits
/// until resumed, as the durable store does.
#[derive(Default)]
struct Failing {
    inner: MemoryStore,
    full: AtomicBool,
    refusing: AtomicBool,
    resumes: std::sync::atomic::AtomicUsize,
}

fn disk_full() -> StoreError {
    StoreError::io(
        "journal: append",
        std::io::Error::new(std::io::ErrorKind::StorageFull, "No space left on device"),
    )
}

impl Store for Failing {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        self.inner.load()
    }
    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        if self.refusing.load(Ordering::SeqCst) {
            let refused = StoreError::Refused {
                cause: Cause::new(disk_full()),
            };
            return Box::pin(async move { Err(refused) });
        }
        if self.full.load(Ordering::SeqCst) {
            self.refusing.store(true, Ordering::SeqCst);
            return Box::pin(async { Err(disk_full()) });
        }
        self.inner.commit(changes)
    }
    fn ping(&self) -> StoreFuture<()> {
        self.inner.ping()
    }
    fn resume(&self) -> StoreFuture<()> {
        self.refusing.store(false, Ordering::SeqCst);
        self.resumes.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

fn create(name: &str) -> CreateClusterRequest {
    CreateClusterRequest {
        cluster_name: Some(name.into()),
        ..CreateClusterRequest::default()
    }
}

async fn names(kecs: &Kecs) -> Vec<String> {
    let listed = kecs
        .list_clusters(&ctx(), ListClustersRequest::default())
        .await
        .unwrap();
    let mut names: Vec<String> = listed
        .cluster_arns
        .unwrap_or_default()
        .iter()
        .map(|a| a.rsplit('/').next().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_failed_write_is_not_served_and_writes_go_on_once_the_store_takes_them() {
    let store = Arc::new(Failing::default());
    let kecs = Kecs::open(store.clone(), Arc::new(SystemClock), Arc::new(NoneRuntime))
        .await
        .unwrap();
    kecs.create_cluster(&ctx(), create("kept")).await.unwrap();

    store.full.store(true, Ordering::SeqCst);
    let failed = kecs.create_cluster(&ctx(), create("lost")).await;
    assert!(
        matches!(failed, Err(EcsError::Internal { .. })),
        "{failed:?}"
    );
    assert_eq!(
        names(&kecs).await,
        ["kept"],
        "the failed cluster is not served"
    );
    assert_eq!(store.resumes.load(Ordering::SeqCst), 1, "reloaded once");
    // Still full: each write fails on its own, and is not served either.
    let again = kecs.create_cluster(&ctx(), create("lost-too")).await;
    assert!(again.is_err());
    assert_eq!(names(&kecs).await, ["kept"]);

    store.full.store(false, Ordering::SeqCst);
    kecs.create_cluster(&ctx(), create("after")).await.unwrap();
    assert_eq!(names(&kecs).await, ["after", "kept"]);
    assert_eq!(
        store.inner.load().await.unwrap().len(),
        2,
        "the store agrees"
    );
}
