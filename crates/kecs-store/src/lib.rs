//! KECS's durable store: the domain's [`Store`] port on an embedded DuckDB file.
//!
//! Requests queue their changes over a channel. The front thread takes everything pending as one
//! group, appends it to the journal (see [`journal`]), syncs it and only then acknowledges each
//! request (group commit: many concurrent writes share one `fdatasync`). One DuckDB thread owns
//! the connection and applies the journaled groups behind, in large transactions; at open, the
//! groups DuckDB does not hold yet are applied again. There is never a second writer, so
//! DuckDB's write-write conflicts cannot happen.

mod backlog;
pub mod journal;
mod migrations;
mod sql;
mod writer;

use futures::stream::BoxStream;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use kecs_domain::ports::store::{Change, CommitFuture, Record, Store, StoreError, StoreFuture};
use tokio::sync::oneshot;

use writer::{Command, ToDuck};

/// The file name of the database inside a data directory.
pub const DB_FILE: &str = "kecs.duckdb";

/// The DuckDB-backed store.
pub struct DuckStore {
    commands: Commands,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// How far the journal and DuckDB have come (a journaled store only).
    progress: Option<Arc<writer::Progress>>,
}

/// Where requests go: the journal's front thread, or (no journal) the DuckDB thread itself.
enum Commands {
    Journaled(mpsc::Sender<Command>),
    Direct(mpsc::SyncSender<ToDuck>),
}

impl Commands {
    fn send(&self, command: Command) -> Result<(), ()> {
        match self {
            Commands::Journaled(tx) => tx.send(command).map_err(|_| ()),
            Commands::Direct(tx) => tx.send(ToDuck::Command(command)).map_err(|_| ()),
        }
    }
}

fn spawn(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| StoreError::io(format!("starting the {name} thread"), e))
}

impl std::fmt::Debug for DuckStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckStore").finish_non_exhaustive()
    }
}

impl DuckStore {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations;
    /// damage in the journal stops it (see [`open_with`](Self::open_with)).
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, journal::OnDamage::Refuse).map(|(store, _)| store)
    }

    /// [`open`](Self::open), with damage in the journal refused or repaired as `on_damage` says;
    /// also returns what a repair dropped.
    pub fn open_with(
        data_dir: &Path,
        on_damage: journal::OnDamage,
    ) -> Result<(Self, Vec<String>), StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::io(
                format!("cannot create data directory {}", data_dir.display()),
                e,
            )
        })?;
        let path: PathBuf = data_dir.join(DB_FILE);
        let mut conn = duckdb::Connection::open(&path)
            .map_err(|e| StoreError::engine(format!("cannot open {}", path.display()), e))?;
        migrations::apply(&mut conn)?;
        // Groups acknowledged but not yet in DuckDB when KECS last stopped go in first.
        let applied = sql::applied_seq(&conn)?;
        let fs: Arc<dyn journal::Fs> = Arc::new(journal::RealFs);
        let recovered = journal::recover(fs.as_ref(), data_dir, applied, on_damage)?;
        let last = recovered.groups.last().map_or(applied, |g| g.seq);
        sql::replay(&mut conn, recovered.groups)?;
        let journal = journal::Journal::start(fs, data_dir, last)?;
        let progress = Arc::new(writer::Progress::new(last));
        let (front_tx, front_rx) = mpsc::channel();
        let (duck_tx, duck_rx) = mpsc::sync_channel(writer::MAX_LAG_GROUPS);
        let (seen, front) = (progress.clone(), progress.clone());
        let duck = writer::Duck::new(conn, Some(path));
        let threads = vec![
            spawn("kecs-store-duckdb", move || {
                writer::run_duck(duck, duck_rx, seen, writer::Cache::Evict)
            })?,
            spawn("kecs-store-journal", move || {
                writer::run_front(journal, front_rx, duck_tx, front)
            })?,
        ];
        let store = Self {
            commands: Commands::Journaled(front_tx),
            threads: Mutex::new(threads),
            progress: Some(progress),
        };
        Ok((store, recovered.repairs))
    }

    /// A DuckDB database that lives in memory only (no journal: each group is acknowledged
    /// after its DuckDB COMMIT).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        let mut conn = duckdb::Connection::open_in_memory()
            .map_err(|e| StoreError::engine("cannot open an in-memory database", e))?;
        migrations::apply(&mut conn)?;
        let (tx, rx) = mpsc::sync_channel(writer::MAX_LAG_GROUPS);
        let progress = Arc::new(writer::Progress::new(0));
        let duck = spawn("kecs-store-duckdb", move || {
            writer::run_duck(
                writer::Duck::new(conn, None),
                rx,
                progress,
                writer::Cache::Keep,
            )
        })?;
        Ok(Self {
            commands: Commands::Direct(tx),
            threads: Mutex::new(vec![duck]),
            progress: None,
        })
    }

    fn ask<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> StoreFuture<T> {
        let (tx, rx) = oneshot::channel();
        let sent = self.commands.send(make(tx));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Stopped)?;
            rx.await.map_err(|_| StoreError::Stopped)?
        })
    }
}

impl Store for DuckStore {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        let mut batches = self.load_batches();
        Box::pin(async move {
            let mut all = vec![];
            while let Some(batch) = batches.next().await {
                all.extend(batch?);
            }
            Ok(all)
        })
    }

    fn load_batches(&self) -> BoxStream<'static, Result<Vec<Record>, StoreError>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        if self.commands.send(Command::Load(tx)).is_err() {
            return Box::pin(futures::stream::once(async { Err(StoreError::Stopped) }));
        }
        Box::pin(futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|batch| (batch, rx))
        }))
    }

    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        self.ask(|ack| Command::Commit(changes, ack, tracing::Span::current()))
    }

    fn ping(&self) -> StoreFuture<()> {
        self.ask(Command::Ping)
    }

    fn resume(&self) -> StoreFuture<()> {
        self.ask(Command::Resume)
    }

    fn backlog(&self) -> Option<u64> {
        self.progress.as_ref().map(|p| p.backlog())
    }
}

impl Drop for DuckStore {
    /// Stops the writers after DuckDB holds everything queued, and closes the database.
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        let threads = self
            .threads
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default();
        for handle in threads {
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kecs_domain::ports::store::{Index, Kind};

    fn put(key: &str) -> Change {
        Change::Put(Record {
            kind: Kind::Cluster,
            key: key.into(),
            doc: "{}".into(),
            index: Index::default(),
        })
    }

    async fn keys(store: &DuckStore) -> Vec<String> {
        let mut keys: Vec<String> = store
            .load()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect();
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn groups_journaled_but_not_in_duckdb_are_applied_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = DuckStore::open(dir.path()).unwrap();
        store.commit(vec![put("a")]).await.unwrap();
        drop(store);
        // As if KECS was killed after acknowledging two more groups, before DuckDB took them.
        let mut journal =
            journal::Journal::start(Arc::new(journal::RealFs), dir.path(), 1).unwrap();
        journal.append(vec![put("b")]).unwrap();
        journal.append(vec![put("c"), put("a")]).unwrap();
        drop(journal);

        let store = DuckStore::open(dir.path()).unwrap();
        assert_eq!(keys(&store).await, ["a", "b", "c"]);
        store.commit(vec![put("d")]).await.unwrap();
        drop(store);
        let conn = duckdb::Connection::open(dir.path().join(DB_FILE)).unwrap();
        assert_eq!(
            sql::applied_seq(&conn).unwrap(),
            4,
            "replayed 2 and 3, then 4"
        );
        drop(conn);
        let store = DuckStore::open(dir.path()).unwrap();
        assert_eq!(keys(&store).await, ["a", "b", "c", "d"]);
        // Only the live segment is left.
        let segments: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("kecs.journal."))
            .collect();
        assert_eq!(segments, ["kecs.journal.00000000000000000005"]);
    }

    #[tokio::test]
    async fn the_backlog_counts_journaled_groups_until_duckdb_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = DuckStore::open(dir.path()).unwrap();
        assert_eq!(store.backlog(), Some(0));
        for key in ["a", "b", "c"] {
            store.commit(vec![put(key)]).await.unwrap();
        }
        let backlog = store.backlog().unwrap();
        assert!(backlog <= 3, "{backlog}");
        // A ping is answered once DuckDB holds everything queued before it.
        store.ping().await.unwrap();
        assert_eq!(store.backlog(), Some(0));
        let memory = DuckStore::open_in_memory().unwrap();
        assert_eq!(memory.backlog(), None, "no journal, nothing behind it");
    }
}
