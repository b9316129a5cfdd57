//! What a write hands the store: only what changes (a new task without tags records no tags).

use std::sync::{Arc, Mutex};

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::{
    Change, CommitFuture, Kind, MemoryStore, Record, Store, StoreFuture,
};
use kecs_domain::Kecs;

mod support;
use support::ctx;

/// A memory store that remembers the kind of every change committed.
#[derive(Default)]
struct Recording {
    inner: MemoryStore,
    changes: Mutex<Vec<(Kind, bool)>>,
}

impl Store for Recording {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        self.inner.load()
    }
    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        let mut seen = self.changes.lock().unwrap();
        seen.extend(changes.iter().filter_map(|c| match c {
            Change::Put(r) => Some((r.kind, true)),
            Change::Delete { kind, .. } => Some((*kind, false)),
            Change::Truncate => None,
        }));
        self.inner.commit(changes)
    }
    fn ping(&self) -> StoreFuture<()> {
        self.inner.ping()
    }
}

#[tokio::test]
async fn an_untagged_task_records_no_tags_and_a_tagged_one_does() {
    let store = Arc::new(Recording::default());
    let kecs = Kecs::open(store.clone(), Arc::new(SystemClock), Arc::new(NoneRuntime))
        .await
        .unwrap();
    support::prepare(&kecs, &["busybox"]).await;
    let run = |tags: Option<Vec<Tag>>| RunTaskRequest {
        task_definition: Some("web".into()),
        tags,
        ..RunTaskRequest::default()
    };
    store.changes.lock().unwrap().clear();
    let ran = kecs.run_task(&ctx(), run(None)).await.unwrap();
    assert_eq!(ran.tasks.unwrap().len(), 1);
    assert_eq!(*store.changes.lock().unwrap(), [(Kind::Task, true)]);

    store.changes.lock().unwrap().clear();
    let tag = Tag {
        key: Some("team".into()),
        value: Some("a".into()),
    };
    let ran = kecs.run_task(&ctx(), run(Some(vec![tag]))).await.unwrap();
    let arn = ran.tasks.unwrap()[0].task_arn.clone().unwrap();
    assert_eq!(
        *store.changes.lock().unwrap(),
        [(Kind::Task, true), (Kind::Tags, true)]
    );

    // Taking the last tag away deletes the record.
    store.changes.lock().unwrap().clear();
    let untag = UntagResourceRequest {
        resource_arn: Some(arn),
        tag_keys: Some(vec!["team".into()]),
    };
    kecs.untag_resource(&ctx(), untag).await.unwrap();
    assert_eq!(*store.changes.lock().unwrap(), [(Kind::Tags, false)]);
}
