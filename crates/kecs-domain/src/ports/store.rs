//! The storage port. KECS answers reads from its in-memory [`crate::state::State`]; the store is
//! the durable record of it: every acknowledged write is committed here first, and the state is
//! rebuilt from [`Store::load`] at start-up.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// The kinds of resource KECS stores.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An ECS cluster, keyed by ARN.
    Cluster,
    /// A task definition revision, keyed by ARN.
    TaskDefinition,
    /// The tags of one resource, keyed by the resource's ARN.
    Tags,
    /// A capacity provider, keyed by ARN.
    CapacityProvider,
    /// An account setting, keyed by region, principal and name.
    AccountSetting,
    /// A custom attribute, keyed by cluster, target and name.
    Attribute,
    /// A task, keyed by ARN.
    Task,
    /// A service, keyed by ARN.
    Service,
    /// A service deployment (the history of one deployment), keyed by ARN.
    ServiceDeployment,
    /// A service revision (what one deployment deploys), keyed by ARN.
    ServiceRevision,
}

impl Kind {
    /// Every kind.
    pub const ALL: &'static [Kind] = &[
        Kind::Cluster,
        Kind::TaskDefinition,
        Kind::Tags,
        Kind::CapacityProvider,
        Kind::AccountSetting,
        Kind::Attribute,
        Kind::Task,
        Kind::Service,
        Kind::ServiceDeployment,
        Kind::ServiceRevision,
    ];

    /// The stable name stored with each record.
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::TaskDefinition => "task_definition",
            Kind::Tags => "tags",
            Kind::CapacityProvider => "capacity_provider",
            Kind::AccountSetting => "account_setting",
            Kind::Attribute => "attribute",
            Kind::Task => "task",
            Kind::Service => "service",
            Kind::ServiceDeployment => "service_deployment",
            Kind::ServiceRevision => "service_revision",
        }
    }

    /// Parses a stored kind name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// The columns that filters and pagination use, stored beside each document.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Index {
    /// The ARN of the cluster the resource belongs to.
    pub cluster: Option<String>,
    /// Task definition family.
    pub family: Option<String>,
    /// Task definition revision.
    pub revision: Option<i64>,
    /// Status (ACTIVE, INACTIVE, RUNNING...).
    pub status: Option<String>,
    /// Service name.
    pub service: Option<String>,
    /// A task's `startedBy`.
    pub started_by: Option<String>,
    /// Creation time in epoch seconds.
    pub created_at: Option<f64>,
}

/// One stored resource: its JSON document and its index columns.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// What it is.
    pub kind: Kind,
    /// Its key, unique within the kind.
    pub key: String,
    /// The resource as JSON.
    pub doc: String,
    /// Its filter columns.
    pub index: Index,
}

/// One change of a commit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Change {
    /// Insert or replace a record.
    Put(Record),
    /// Delete a record if present.
    Delete {
        /// What it is.
        kind: Kind,
        /// Its key.
        key: String,
    },
    /// Delete everything (admin reset).
    Truncate,
}

/// A storage failure: always our fault, never the client's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

/// Resolves when a commit is durable.
pub type CommitFuture = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;
/// A boxed future, for the port's async methods.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// The storage port.
pub trait Store: Send + Sync {
    /// Every stored record (read once at start-up).
    fn load(&self) -> StoreFuture<Vec<Record>>;
    /// Every stored record, a batch at a time: a store holding many hands them over so, and
    /// the state is built as they come instead of from all of them at once. One batch of
    /// [`load`](Self::load) by default.
    fn load_batches(&self) -> futures::stream::BoxStream<'static, Result<Vec<Record>, StoreError>> {
        Box::pin(futures::stream::once(self.load()))
    }
    /// Queues `changes` as one atomic unit, **in call order** (callers rely on this to keep the
    /// store in the same order as their in-memory state), and returns a future that resolves
    /// once they are durably committed.
    fn commit(&self, changes: Vec<Change>) -> CommitFuture;
    /// Checks that the store answers (readiness).
    fn ping(&self) -> StoreFuture<()>;
}

/// A store that keeps records in memory only: for `--data-dir :memory:`-style use, embedding and tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    records: Arc<Mutex<BTreeMap<(Kind, String), Record>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        let records: Result<Vec<Record>, StoreError> = match self.records.lock() {
            Ok(r) => Ok(r.values().cloned().collect()),
            Err(e) => Err(StoreError(e.to_string())),
        };
        Box::pin(async move { records })
    }

    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        let result = match self.records.lock() {
            Ok(mut records) => {
                for change in changes {
                    match change {
                        Change::Put(r) => {
                            records.insert((r.kind, r.key.clone()), r);
                        }
                        Change::Delete { kind, key } => {
                            records.remove(&(kind, key));
                        }
                        Change::Truncate => records.clear(),
                    }
                }
                Ok(())
            }
            Err(e) => Err(StoreError(e.to_string())),
        };
        Box::pin(async move { result })
    }

    fn ping(&self) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }
}
