//! KECS's durable store: the domain's [`Store`] port on an embedded DuckDB file.
//!
//! One writer thread owns the connection. Requests queue their changes over a channel; the
//! writer takes everything pending, commits it as one transaction (group commit) and only then
//! acknowledges each request. There is never a second writer, so DuckDB's write-write conflicts
//! cannot happen, and many concurrent writes share one fsync.

mod migrations;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Mutex;

use kecs_domain::store::{Change, CommitFuture, Record, Store, StoreError, StoreFuture};
use tokio::sync::oneshot;

use writer::Command;

/// The file name of the database inside a data directory.
pub const DB_FILE: &str = "kecs.duckdb";

/// The DuckDB-backed store.
pub struct DuckStore {
    commands: mpsc::Sender<Command>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for DuckStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DuckStore").finish_non_exhaustive()
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl DuckStore {
    /// Opens (creating if needed) the database in `data_dir` and applies pending migrations.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            err(format!(
                "cannot create data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path: PathBuf = data_dir.join(DB_FILE);
        let conn = duckdb::Connection::open(&path)
            .map_err(|e| err(format!("cannot open {}: {e}", path.display())))?;
        Self::start(conn)
    }

    /// A DuckDB database that lives in memory only.
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::start(duckdb::Connection::open_in_memory().map_err(err)?)
    }

    fn start(mut conn: duckdb::Connection) -> Result<Self, StoreError> {
        migrations::apply(&mut conn)?;
        let (commands, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("kecs-store-writer".into())
            .spawn(move || writer::run(conn, rx))
            .map_err(err)?;
        Ok(Self {
            commands,
            writer: Mutex::new(Some(writer)),
        })
    }

    fn ask<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Command,
    ) -> StoreFuture<T> {
        let (tx, rx) = oneshot::channel();
        let sent = self.commands.send(make(tx));
        Box::pin(async move {
            sent.map_err(|_| err("the store writer has stopped"))?;
            rx.await.map_err(|_| err("the store writer has stopped"))?
        })
    }
}

impl Store for DuckStore {
    fn load(&self) -> StoreFuture<Vec<Record>> {
        self.ask(Command::Load)
    }

    fn commit(&self, changes: Vec<Change>) -> CommitFuture {
        self.ask(|ack| Command::Commit(changes, ack))
    }

    fn ping(&self) -> StoreFuture<()> {
        self.ask(Command::Ping)
    }
}

impl Drop for DuckStore {
    /// Stops the writer after it has committed everything queued, and closes the database.
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(handle) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = handle.join();
        }
    }
}
