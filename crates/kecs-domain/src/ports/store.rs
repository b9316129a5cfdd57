//! The storage port. KECS answers reads from its in-memory [`crate::state::State`]; the store is
//! the durable record of it: every acknowledged write is committed here first, and the state is
//! rebuilt from [`Store::load`] at start-up.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::Cause;

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
    /// A container instance, keyed by ARN.
    ContainerInstance,
    /// A CloudWatch Logs log group, keyed by ARN (`arn:aws:logs:<region>:<account>:log-group:<name>`).
    LogGroup,
    /// A daemon task definition revision, keyed by ARN.
    DaemonTaskDefinition,
    /// A daemon with its revisions and deployments, keyed by ARN.
    Daemon,
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
        Kind::ContainerInstance,
        Kind::LogGroup,
        Kind::DaemonTaskDefinition,
        Kind::Daemon,
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
            Kind::ContainerInstance => "container_instance",
            Kind::LogGroup => "log_group",
            Kind::DaemonTaskDefinition => "daemon_task_definition",
            Kind::Daemon => "daemon",
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
    /// Creation time in epoch seconds; for an INACTIVE cluster, the time it was deleted.
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

/// A storage failure: always our fault, never the client's. Each kind keeps its cause.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the store's files failed (a full disk, a permission).
    #[error("store: {context}: {cause}")]
    Io {
        /// What the store was doing.
        context: String,
        /// The I/O error.
        #[source]
        cause: Cause,
    },
    /// The database engine failed.
    #[error("store: {context}: {cause}")]
    Engine {
        /// What the store was doing.
        context: String,
        /// The engine's error.
        #[source]
        cause: Cause,
    },
    /// What the store holds cannot be read back as KECS wrote it.
    #[error("store: {context}")]
    Corrupt {
        /// What is wrong, and where.
        context: String,
        /// The decoder's error, when there is one.
        #[source]
        cause: Option<Cause>,
    },
    /// The store no longer takes writes (it is shutting down, or its writer failed).
    #[error("store: the store writer has stopped")]
    Stopped,
    /// An earlier commit failed, and this one may have been decided on a state that included
    /// it: refused until the state is reloaded ([`Store::resume`]).
    #[error("store: refusing writes until the state is reloaded after a failed commit ({cause})")]
    Refused {
        /// The failure of the earlier commit.
        #[source]
        cause: Cause,
    },
}

impl From<StoreError> for crate::EcsError {
    /// A store failure is our fault: ServerException, with the failure as its cause.
    fn from(e: StoreError) -> Self {
        crate::EcsError::internal("the store failed", e)
    }
}

impl StoreError {
    /// An I/O failure while doing `context`.
    pub fn io(context: impl Into<String>, cause: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            cause: Cause::new(cause),
        }
    }
    /// The database engine failed while doing `context`.
    pub fn engine(
        context: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Engine {
            context: context.into(),
            cause: Cause::new(cause),
        }
    }
    /// Stored data that cannot be read back: `context` says what and where.
    pub fn corrupt(context: impl Into<String>) -> Self {
        Self::Corrupt {
            context: context.into(),
            cause: None,
        }
    }
    /// Stored data that `cause` could not decode: `context` says what and where.
    pub fn undecodable(
        context: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Corrupt {
            context: context.into(),
            cause: Some(Cause::new(cause)),
        }
    }
}

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
    ///
    /// After a commit fails, a store that can fail refuses every later one
    /// ([`StoreError::Refused`]) until [`resume`](Self::resume): they were decided on a state that
    /// included the failed changes.
    fn commit(&self, changes: Vec<Change>) -> CommitFuture;
    /// Takes commits again after a failure; queued **when called**, in order with commits, so
    /// that every commit queued before it is still refused. The caller reloads its state from
    /// [`load`](Self::load) first. Nothing to do for a store that cannot fail.
    fn resume(&self) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }
    /// Checks that the store answers (readiness).
    fn ping(&self) -> StoreFuture<()>;
    /// Committed groups the store has made durable but not yet written where it loads from (a
    /// store that journals ahead of its database); `None` for a store without such a stage.
    fn backlog(&self) -> Option<u64> {
        None
    }
}

/// A store that keeps nothing: a commit is acknowledged and forgotten, a load finds nothing.
/// For a process whose state lives and dies with it (`kecs server --data-dir :memory:`): it
/// never loads again, so a [`MemoryStore`]'s copy of every record would never be read (with
/// 100k tasks that copy was two thirds of KECS's memory).
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStore;

impl Store for NoStore {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        Box::pin(async { Ok(vec![]) })
    }

    fn commit(&self, _changes: Vec<Change>) -> CommitFuture {
        Box::pin(async { Ok(()) })
    }

    fn ping(&self) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

/// A store that keeps records in memory only, for embedding and tests: a state loaded again
/// from it (a restart in-process) finds what was committed.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    records: Arc<Mutex<BTreeMap<(Kind, String), Record>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records; a commit that panicked midway leaves whole records only, so the map is
    /// still usable.
    fn records(&self) -> MutexGuard<'_, BTreeMap<(Kind, String), Record>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Store for MemoryStore {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        let records: Vec<Record> = self.records().values().cloned().collect();
        Box::pin(async move { Ok(records) })
    }

    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        let mut records = self.records();
        for change in changes {
            match change {
                Change::Put(mut r) => {
                    // Documents come from a serializer's growing buffer: up to twice their size.
                    r.doc.shrink_to_fit();
                    records.insert((r.kind, r.key.clone()), r);
                }
                Change::Delete { kind, key } => {
                    records.remove(&(kind, key));
                }
                Change::Truncate => records.clear(),
            }
        }
        Box::pin(async { Ok(()) })
    }

    fn ping(&self) -> StoreFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EcsError;
    use std::error::Error;

    #[test]
    fn a_failed_commit_keeps_its_cause_as_a_chain_and_in_its_message() {
        let disk = std::io::Error::other("No space left on device");
        let e: EcsError = StoreError::io("journal: append", disk).into();
        assert_eq!(
            e.to_string(),
            "the store failed: store: journal: append: No space left on device"
        );
        let store = e.source().expect("the store error is the source");
        assert!(store.to_string().starts_with("store: journal: append"));
        let io = store
            .source()
            .expect("the I/O error is the store error's source");
        assert_eq!(io.to_string(), "No space left on device");
    }
}
