//! One suite every store adapter must pass: DuckDB (a real file in a temp dir) and in-memory.

use std::sync::Arc;

use kecs_domain::api::EcsApi;
use kecs_domain::model::CreateClusterRequest;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::{Change, Index, Kind, MemoryStore, Record, Store};
use kecs_domain::{Kecs, RequestContext};
use kecs_store::DuckStore;

/// Opens a store; calling it again "restarts" on the same data.
trait Harness {
    fn open(&mut self) -> Arc<dyn Store>;
}

struct Duck(tempfile::TempDir);
impl Harness for Duck {
    fn open(&mut self) -> Arc<dyn Store> {
        Arc::new(DuckStore::open(self.0.path()).expect("open duckdb"))
    }
}

/// The in-memory store "restarts" as the same instance: it keeps data for the process's life.
struct Memory(MemoryStore);
impl Harness for Memory {
    fn open(&mut self) -> Arc<dyn Store> {
        Arc::new(self.0.clone())
    }
}

fn record(kind: Kind, key: &str, doc: &str) -> Record {
    Record {
        kind,
        key: key.into(),
        doc: doc.into(),
        index: Index {
            cluster: Some("arn:c".into()),
            family: Some("fam".into()),
            revision: Some(7),
            status: Some("ACTIVE".into()),
            service: Some("svc".into()),
            started_by: Some("me".into()),
            created_at: Some(1.5),
        },
    }
}

async fn sorted(store: &Arc<dyn Store>) -> Vec<(Kind, String, String)> {
    let mut v: Vec<_> = store
        .load()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.kind, r.key, r.doc))
        .collect();
    v.sort();
    v
}

async fn put_overwrite_delete_and_reopen(h: &mut dyn Harness) {
    let store = h.open();
    store
        .commit(vec![
            Change::Put(record(Kind::Cluster, "a", "{\"v\":1}")),
            Change::Put(record(Kind::Cluster, "b", "{}")),
            Change::Put(record(Kind::TaskDefinition, "a", "{}")),
        ])
        .await
        .unwrap();
    store
        .commit(vec![
            Change::Put(record(Kind::Cluster, "a", "{\"v\":2}")),
            Change::Delete {
                kind: Kind::Cluster,
                key: "b".into(),
            },
            Change::Delete {
                kind: Kind::Cluster,
                key: "never-there".into(),
            },
        ])
        .await
        .unwrap();
    let expected = vec![
        (Kind::Cluster, "a".to_string(), "{\"v\":2}".to_string()),
        (Kind::TaskDefinition, "a".to_string(), "{}".to_string()),
    ];
    assert_eq!(sorted(&store).await, expected);
    drop(store);
    let reopened = h.open();
    assert_eq!(sorted(&reopened).await, expected, "data survives a reopen");
    let loaded = reopened.load().await.unwrap();
    let a = loaded.iter().find(|r| r.kind == Kind::Cluster).unwrap();
    assert_eq!(
        a.index,
        record(Kind::Cluster, "a", "").index,
        "index columns round-trip"
    );
}

async fn truncate_then_write_in_one_batch(h: &mut dyn Harness) {
    let store = h.open();
    store
        .commit(vec![Change::Put(record(Kind::Tags, "x", "[]"))])
        .await
        .unwrap();
    // Queued back to back, so a group-committing store takes them as one batch.
    let first = store.commit(vec![Change::Truncate]);
    let second = store.commit(vec![Change::Put(record(Kind::Tags, "x", "[1]"))]);
    first.await.unwrap();
    second.await.unwrap();
    assert_eq!(
        sorted(&store).await,
        vec![(Kind::Tags, "x".to_string(), "[1]".to_string())]
    );
}

async fn concurrent_commits_all_land(h: &mut dyn Harness) {
    let store = h.open();
    let futures: Vec<_> = (0..500)
        .map(|i| {
            store.commit(vec![Change::Put(record(
                Kind::Attribute,
                &format!("k{i:04}"),
                "{}",
            ))])
        })
        .collect();
    for f in futures {
        f.await.unwrap();
    }
    drop(store);
    assert_eq!(sorted(&h.open()).await.len(), 500);
    assert!(h.open().ping().await.is_ok());
}

async fn service_state_survives_restart(h: &mut dyn Harness) {
    let ctx = RequestContext::new("us-east-1", "000000000000");
    let kecs = Kecs::open(h.open(), Arc::new(SystemClock), Arc::new(NoneRuntime))
        .await
        .unwrap();
    let created = kecs
        .create_cluster(
            &ctx,
            CreateClusterRequest {
                cluster_name: Some("persist".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    drop(kecs);
    let kecs = Kecs::open(h.open(), Arc::new(SystemClock), Arc::new(NoneRuntime))
        .await
        .unwrap();
    let listed = kecs.list_clusters(&ctx, Default::default()).await.unwrap();
    assert_eq!(
        listed.cluster_arns.unwrap(),
        vec![created.cluster.unwrap().cluster_arn.unwrap()]
    );
}

macro_rules! suite {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            #[tokio::test]
            async fn put_overwrite_delete_and_reopen() {
                super::put_overwrite_delete_and_reopen(&mut $make).await
            }
            #[tokio::test]
            async fn truncate_then_write_in_one_batch() {
                super::truncate_then_write_in_one_batch(&mut $make).await
            }
            #[tokio::test]
            async fn concurrent_commits_all_land() {
                super::concurrent_commits_all_land(&mut $make).await
            }
            #[tokio::test]
            async fn service_state_survives_restart() {
                super::service_state_survives_restart(&mut $make).await
            }
        }
    };
}

suite!(duckdb, Duck(tempfile::tempdir().unwrap()));
suite!(memory, Memory(MemoryStore::new()));
