//! The writer threads. With a journal (a data directory): the front thread appends each group
//! of commits to the journal, syncs it and acknowledges them; the DuckDB thread takes the
//! groups behind it in large transactions. Without one (in-memory DuckDB, tests): the DuckDB
//! thread commits each group itself and acknowledges it after COMMIT.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use duckdb::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::{DataType, Float64Type, Int64Type};
use kecs_domain::ports::store::{Change, Index, Kind, Record, StoreError};
use tokio::sync::oneshot;

use crate::journal::Journal;

type Ack<T> = oneshot::Sender<Result<T, StoreError>>;
/// Where a load sends its batches.
pub(crate) type Batches = tokio::sync::mpsc::Sender<Result<Vec<Record>, StoreError>>;

/// Records per batch of a load.
pub(crate) const LOAD_BATCH: usize = 1024;

/// What the store is asked to do.
pub(crate) enum Command {
    Commit(Vec<Change>, Ack<()>),
    /// Every record, in batches of [`LOAD_BATCH`] (the channel ends after the last).
    Load(Batches),
    Ping(Ack<()>),
    /// Take commits again after a failed one (see [`Gate`]).
    Resume(Ack<()>),
    Stop,
}

/// After a commit fails, every later one is refused until [`Command::Resume`]: they were decided
/// on a state that included the failed changes (the domain reloads its state, then resumes).
#[derive(Default)]
pub(crate) struct Gate(Option<StoreError>);

impl Gate {
    /// Whether a commit may go ahead.
    fn check(&self) -> Result<(), StoreError> {
        match &self.0 {
            None => Ok(()),
            Some(failure) => Err(StoreError::Refused {
                cause: kecs_domain::Cause::new(failure.clone()),
            }),
        }
    }
    fn failed(&mut self, failure: &StoreError) {
        self.0.get_or_insert_with(|| failure.clone());
    }
    fn resume(&mut self) {
        self.0 = None;
    }
}

/// What the DuckDB thread is given: commands, or groups the journal already made durable.
pub(crate) enum ToDuck {
    Command(Command),
    Journaled(u64, Vec<Change>),
}

/// At most this many changes go into one transaction.
const MAX_BATCH: usize = 8192;
/// Groups the DuckDB thread may lag behind the journal before the front waits for it: enough
/// to ride out a DuckDB checkpoint (seconds, under a write storm) without stalling requests,
/// while a DuckDB that stays behind still slows writers down rather than filling memory.
pub(crate) const MAX_LAG_GROUPS: usize = 65_536;

const UPSERT: &str = "INSERT INTO resources (kind, key, doc, cluster, family, revision, status, service, started_by, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc, cluster = excluded.cluster, family = excluded.family, \
     revision = excluded.revision, status = excluded.status, service = excluded.service, \
     started_by = excluded.started_by, created_at = excluded.created_at";

fn err(e: duckdb::Error) -> StoreError {
    StoreError::engine("DuckDB", e)
}

/// Everything queued on `rx` after `first`, up to [`MAX_BATCH`] changes.
fn drain<T>(rx: &mpsc::Receiver<T>, first: T, size: impl Fn(&T) -> usize) -> Vec<T> {
    let mut changes = size(&first);
    let mut pending = vec![first];
    while changes < MAX_BATCH {
        match rx.try_recv() {
            Ok(next) => {
                changes += size(&next);
                pending.push(next);
            }
            Err(_) => break,
        }
    }
    pending
}

/// The front thread: journals each group of commits, acknowledges it once synced, and hands
/// it (and every other command, in order) to the DuckDB thread.
pub(crate) fn run_front(
    mut journal: Journal,
    rx: mpsc::Receiver<Command>,
    duck: mpsc::SyncSender<ToDuck>,
    applied: Arc<AtomicU64>,
) {
    let mut gate = Gate::default();
    while let Ok(first) = rx.recv() {
        let pending = drain(&rx, first, |c| match c {
            Command::Commit(c, _) => c.len(),
            _ => 0,
        });
        let mut group: Vec<Change> = vec![];
        let mut acks = vec![];
        let mut stop = false;
        for cmd in pending {
            match cmd {
                Command::Commit(changes, ack) => match gate.check() {
                    Ok(()) => {
                        group.extend(changes);
                        acks.push(ack);
                    }
                    Err(refused) => {
                        let _ = ack.send(Err(refused));
                    }
                },
                Command::Resume(ack) => {
                    let group = std::mem::take(&mut group);
                    journal_group(&mut journal, &duck, group, &mut acks, &mut gate, &applied);
                    gate.resume();
                    let _ = ack.send(Ok(()));
                }
                other => {
                    let group = std::mem::take(&mut group);
                    journal_group(&mut journal, &duck, group, &mut acks, &mut gate, &applied);
                    stop = matches!(other, Command::Stop);
                    if duck.send(ToDuck::Command(other)).is_err() {
                        return;
                    }
                }
            }
        }
        journal_group(&mut journal, &duck, group, &mut acks, &mut gate, &applied);
        journal.applied(applied.load(Ordering::Acquire));
        if stop {
            break;
        }
    }
}

fn journal_group(
    journal: &mut Journal,
    duck: &mpsc::SyncSender<ToDuck>,
    group: Vec<Change>,
    acks: &mut Vec<Ack<()>>,
    gate: &mut Gate,
    applied: &AtomicU64,
) {
    if acks.is_empty() {
        return;
    }
    let lag = journal
        .next_seq()
        .saturating_sub(1 + applied.load(Ordering::Acquire));
    let result = if lag >= MAX_LAG_GROUPS as u64 {
        // DuckDB is failing (or far behind): refuse rather than hold ever more in memory.
        Err(StoreError::Engine {
            context: format!(
                "DuckDB is {lag} journaled groups behind; refusing writes until it catches up"
            ),
            cause: kecs_domain::Cause::new(std::io::Error::other("DuckDB lag")),
        })
    } else {
        journal.append(group).map(|g| {
            // The group is durable: DuckDB takes it when it can.
            let _ = duck.send(ToDuck::Journaled(g.seq, g.changes));
        })
    };
    if let Err(e) = &result {
        tracing::error!(error = %e, "journal append failed; refusing writes until the state is reloaded");
        gate.failed(e);
    }
    for ack in acks.drain(..) {
        let _ = ack.send(result.clone().map(|_| ()));
    }
}

/// What becomes of the blocks DuckDB's buffer pool holds once the start-up load has read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cache {
    /// Dropped (a database file: they can always be read again).
    Evict,
    /// Kept (an in-memory database: the pool is the database).
    Keep,
}

/// The load reads every block of the table, and DuckDB's pool keeps what it read up to 80 % of
/// the machine's memory: ~55 MiB of RSS at 100k tasks (measured, release) for blocks KECS never
/// reads again (it answers from its own state). Lowering the limit evicts them; it then goes back to the
/// default, so that a write never has to spill to temporary files (a path with known bugs in
/// this DuckDB). A checkpoint first makes every block one that can be dropped.
fn evict_cache(conn: &duckdb::Connection) {
    let evicted = conn.execute_batch("CHECKPOINT; SET memory_limit = '16MB'; RESET memory_limit;");
    if let Err(e) = evicted {
        tracing::debug!(error = %e, "DuckDB kept its cache after the load");
        let _ = conn.execute_batch("RESET memory_limit");
    }
}

/// The DuckDB connection. After a failure DuckDB does not come back from on its own (it
/// "invalidates" the database after a fatal I/O error, e.g. a full disk during a checkpoint),
/// the connection is dropped and the file opened again at the next attempt; the changes not yet
/// committed are still in the backlog (and in the journal), and applying them again is
/// idempotent.
pub(crate) struct Duck {
    conn: Option<duckdb::Connection>,
    /// The file to open again (`None`: an in-memory database, which cannot be).
    path: Option<std::path::PathBuf>,
}

impl Duck {
    pub(crate) fn new(conn: duckdb::Connection, path: Option<std::path::PathBuf>) -> Self {
        Self {
            conn: Some(conn),
            path,
        }
    }

    fn conn(&mut self) -> Result<&mut duckdb::Connection, StoreError> {
        if self.conn.is_none() {
            if let Some(path) = &self.path {
                let conn = duckdb::Connection::open(path)
                    .map_err(|e| StoreError::engine("DuckDB: opening the database again", e))?;
                tracing::warn!("DuckDB was opened again after a fatal error");
                self.conn = Some(conn);
            }
        }
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::corrupt("DuckDB: the in-memory database failed"))
    }

    /// Notes a failure: a fatal one drops the connection, to open the file again next time.
    fn failed(&mut self, e: &StoreError) {
        let text = e.to_string();
        if self.path.is_some() && (text.contains("invalidated") || text.contains("FATAL")) {
            tracing::error!(error = %e, "DuckDB failed fatally; it will be opened again");
            self.conn = None;
        }
    }

    fn flush(&mut self, backlog: &mut Backlog, applied: &AtomicU64) -> Result<(), StoreError> {
        if backlog.is_empty() {
            return Ok(());
        }
        let flushed = match self.conn() {
            Ok(conn) => backlog.flush(conn, applied),
            Err(e) => Err(backlog.fail(e)),
        };
        if let Err(e) = &flushed {
            self.failed(e);
        }
        flushed
    }
}

/// The first wait before DuckDB is tried again after a failure; it doubles up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// The DuckDB thread: applies journaled groups (and, without a journal, commits) in large
/// transactions; answers loads and pings after everything before them is applied. While DuckDB
/// fails, the groups wait in the backlog and are tried again on a timer (the front refuses
/// writes once they are [`MAX_LAG_GROUPS`] behind, so the backlog stays bounded).
pub(crate) fn run_duck(
    mut duck: Duck,
    rx: mpsc::Receiver<ToDuck>,
    applied: Arc<AtomicU64>,
    cache: Cache,
) {
    let mut backlog = Backlog::default();
    let mut gate = Gate::default();
    let mut retry = RETRY_FIRST;
    let mut loaded_once = false;
    loop {
        let first = if backlog.is_empty() {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(retry)
        };
        let pending = match first {
            Ok(first) => drain(&rx, first, |m| match m {
                ToDuck::Journaled(_, c) | ToDuck::Command(Command::Commit(c, _)) => c.len(),
                _ => 0,
            }),
            Err(mpsc::RecvTimeoutError::Timeout) => vec![],
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut stop = false;
        for msg in pending {
            match msg {
                ToDuck::Journaled(seq, changes) => {
                    backlog.changes.extend(changes);
                    backlog.seq = Some(seq);
                }
                ToDuck::Command(Command::Commit(changes, ack)) => {
                    if let Err(refused) = gate.check() {
                        let _ = ack.send(Err(refused));
                        continue;
                    }
                    backlog.changes.extend(changes);
                    backlog.acks.push(ack);
                }
                ToDuck::Command(Command::Resume(ack)) => {
                    // Commits queued before it are answered first, as decided before the reload.
                    let _ = duck.flush(&mut backlog, &applied);
                    gate.resume();
                    let _ = ack.send(Ok(()));
                }
                ToDuck::Command(Command::Load(batches)) => {
                    // Apply what came before, so the load sees it. The loader takes one batch
                    // at a time (blocking here), so no more than two are ever held.
                    let emit = |batch| batches.blocking_send(Ok(batch)).is_ok();
                    let loaded = match duck.flush(&mut backlog, &applied) {
                        Ok(()) => duck.conn().and_then(|conn| load(conn, emit)),
                        // DuckDB cannot take them now (a full disk): what it holds, with the
                        // journaled changes it lacks on top, is still the durable state.
                        Err(e) => {
                            tracing::warn!(error = %e, "loading from DuckDB with the journaled changes it lacks on top");
                            let changes = backlog.changes.clone();
                            duck.conn()
                                .and_then(|conn| load_overlaid(conn, changes, emit))
                        }
                    };
                    let ok = loaded.is_ok();
                    if let Err(e) = loaded {
                        duck.failed(&e);
                        let _ = batches.blocking_send(Err(e));
                    }
                    // The loader sees the end now; the eviction runs while it builds the state.
                    drop(batches);
                    // Only after the start-up load: its checkpoint is a write, and a reload
                    // comes after a failure (a full disk, where a failed checkpoint makes
                    // DuckDB give up on the database).
                    if let (true, Cache::Evict, Ok(conn)) = (ok && !loaded_once, cache, duck.conn())
                    {
                        evict_cache(conn);
                    }
                    loaded_once |= ok;
                }
                ToDuck::Command(Command::Ping(ack)) => {
                    let lag = backlog.lag(&applied);
                    let answered = duck
                        .flush(&mut backlog, &applied)
                        .and_then(|()| duck.conn()?.execute_batch("SELECT 1").map_err(err))
                        .inspect_err(|e| duck.failed(e))
                        .map_err(|e| match lag {
                            0 => e,
                            lag => StoreError::Engine {
                                context: format!(
                                    "DuckDB is {lag} journaled group(s) behind the journal and failing"
                                ),
                                cause: kecs_domain::Cause::new(e),
                            },
                        });
                    let _ = ack.send(answered);
                }
                ToDuck::Command(Command::Stop) => stop = true,
            }
        }
        match duck.flush(&mut backlog, &applied) {
            Ok(()) => retry = RETRY_FIRST,
            // Direct commits (no journal) that failed: later ones wait for the reload.
            Err(e) if backlog.seq.is_none() => gate.failed(&e),
            // The groups are safe in the journal: tried again, in order, after a while.
            Err(_) => retry = (retry * 2).min(RETRY_MAX),
        }
        if stop {
            break;
        }
    }
}

/// Changes taken but not yet in DuckDB: a failed transaction keeps them, in order, for the next
/// attempt (journaled groups are never dropped; unjournaled commits are answered either way).
#[derive(Default)]
struct Backlog {
    changes: Vec<Change>,
    seq: Option<u64>,
    acks: Vec<Ack<()>>,
}

impl Backlog {
    fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.acks.is_empty()
    }

    /// Journaled groups not yet in DuckDB.
    fn lag(&self, applied: &AtomicU64) -> u64 {
        self.seq
            .map_or(0, |seq| seq.saturating_sub(applied.load(Ordering::Acquire)))
    }

    /// Answers the waiting commits with `e` (DuckDB could not even be reached); returns it.
    fn fail(&mut self, e: StoreError) -> StoreError {
        for ack in self.acks.drain(..) {
            let _ = ack.send(Err(e.clone()));
        }
        if self.seq.is_none() {
            self.changes.clear();
        }
        e
    }

    fn flush(
        &mut self,
        conn: &mut duckdb::Connection,
        applied: &AtomicU64,
    ) -> Result<(), StoreError> {
        if self.changes.is_empty() && self.acks.is_empty() {
            return Ok(());
        }
        let result = apply(conn, self.changes.clone(), self.seq);
        for ack in self.acks.drain(..) {
            let _ = ack.send(result.clone());
        }
        match &result {
            Ok(()) => {
                if let Some(seq) = self.seq.take() {
                    applied.store(seq, Ordering::Release);
                }
                self.changes.clear();
            }
            Err(e) if self.seq.is_some() => {
                tracing::error!(error = %e, "applying journaled changes to DuckDB failed; retrying")
            }
            Err(_) => self.changes.clear(),
        }
        result
    }
}

/// The last change per record since the last truncate: what the batch leaves behind.
fn collapse(changes: Vec<Change>) -> (bool, Vec<Change>) {
    let truncate_at = changes.iter().rposition(|c| matches!(c, Change::Truncate));
    let truncate = truncate_at.is_some();
    let rest = changes.into_iter().skip(truncate_at.map_or(0, |i| i + 1));
    let mut order: Vec<(Kind, String)> = vec![];
    let mut last: HashMap<(Kind, String), Change> = HashMap::new();
    for c in rest {
        let id = match &c {
            Change::Put(r) => (r.kind, r.key.clone()),
            Change::Delete { kind, key } => (*kind, key.clone()),
            Change::Truncate => continue,
        };
        if last.insert(id.clone(), c).is_none() {
            order.push(id);
        }
    }
    let collapsed = order
        .into_iter()
        .filter_map(|id| last.remove(&id))
        .collect();
    (truncate, collapsed)
}

/// How many rows one upsert statement carries at most. A batch is cut into statements of these
/// sizes (largest first), so a handful of prepared statements serve every batch size: DuckDB's
/// cost is per statement far more than per row (16 single-row upserts take ~8× one 16-row one).
const UPSERT_CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// The upsert of `rows` rows in one statement.
fn upsert_sql(rows: usize) -> String {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; rows].join(", ");
    UPSERT.replace(
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &format!("VALUES {values}"),
    )
}

fn upsert_all(tx: &duckdb::Transaction, records: &[&Record]) -> Result<(), StoreError> {
    let mut rest = records;
    for size in UPSERT_CHUNKS {
        while rest.len() >= size {
            let (chunk, tail) = rest.split_at(size);
            let kinds: Vec<&'static str> = chunk.iter().map(|r| r.kind.as_str()).collect();
            let mut params: Vec<&dyn duckdb::ToSql> = Vec::with_capacity(size * 10);
            for (r, kind) in chunk.iter().zip(&kinds) {
                let i = &r.index;
                params.extend_from_slice(&[
                    kind as &dyn duckdb::ToSql,
                    &r.key,
                    &r.doc,
                    &i.cluster,
                    &i.family,
                    &i.revision,
                    &i.status,
                    &i.service,
                    &i.started_by,
                    &i.created_at,
                ]);
            }
            tx.prepare_cached(&upsert_sql(size))
                .map_err(err)?
                .execute(params.as_slice())
                .map_err(err)?;
            rest = tail;
        }
    }
    Ok(())
}

/// Writes `changes` in one transaction (a truncate in its own before it), recording `seq` as the
/// last journal group DuckDB holds.
pub(crate) fn apply(
    conn: &mut duckdb::Connection,
    changes: Vec<Change>,
    seq: Option<u64>,
) -> Result<(), StoreError> {
    let (truncate, changes) = collapse(changes);
    if truncate {
        // Its own transaction: DuckDB refuses to re-insert a key deleted in the same one.
        conn.execute_batch("DELETE FROM resources").map_err(err)?;
    }
    if changes.is_empty() && seq.is_none() {
        return Ok(());
    }
    // One change per record after collapse, so puts and deletes may go in any order.
    let puts: Vec<&Record> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Put(r) => Some(r),
            _ => None,
        })
        .collect();
    let tx = conn.transaction().map_err(err)?;
    upsert_all(&tx, &puts)?;
    {
        let mut delete = tx
            .prepare_cached("DELETE FROM resources WHERE kind = ? AND key = ?")
            .map_err(err)?;
        for c in &changes {
            if let Change::Delete { kind, key } = c {
                delete
                    .execute(duckdb::params![kind.as_str(), key])
                    .map_err(err)?;
            }
        }
    }
    if let Some(seq) = seq {
        let seq = i64::try_from(seq)
            .map_err(|e| StoreError::engine("a group number beyond DuckDB's integers", e))?;
        tx.execute("UPDATE journal_applied SET seq = ?", [seq])
            .map_err(err)?;
    }
    tx.commit().map_err(err)
}

/// Applies the journal's groups DuckDB does not hold yet, in transactions of about
/// [`MAX_BATCH`] changes (a long backlog is never one huge transaction).
pub(crate) fn replay(
    conn: &mut duckdb::Connection,
    groups: Vec<crate::journal::Group>,
) -> Result<(), StoreError> {
    let (total, mut chunk, mut last) = (groups.len(), vec![], None);
    for group in groups {
        chunk.extend(group.changes);
        last = Some(group.seq);
        if chunk.len() >= MAX_BATCH {
            apply(conn, std::mem::take(&mut chunk), last)?;
        }
    }
    if !chunk.is_empty() || last.is_some() {
        apply(conn, chunk, last)?;
    }
    if total > 0 {
        tracing::info!(
            groups = total,
            "applied the journal's groups DuckDB did not hold yet"
        );
    }
    Ok(())
}

/// The last journal group DuckDB holds.
pub(crate) fn applied_seq(conn: &duckdb::Connection) -> Result<u64, StoreError> {
    let seq: i64 = conn
        .query_row("SELECT max(seq) FROM journal_applied", [], |r| r.get(0))
        .map_err(err)?;
    Ok(u64::try_from(seq).unwrap_or(0))
}

/// Reads every record and hands them to `emit` in batches of [`LOAD_BATCH`]; stops early when
/// `emit` says nobody takes them any more. The query streams (Arrow batches of DuckDB's vector
/// size): a materialized result would hold every document at once (~125 MB of them at 100k
/// tasks and 10k services).
pub(crate) fn load(
    conn: &duckdb::Connection,
    mut emit: impl FnMut(Vec<Record>) -> bool,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare("SELECT kind, key, doc, cluster, family, revision, status, service, started_by, created_at FROM resources")
        .map_err(err)?;
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    for chunk in stmt.stream_arrow([]).map_err(err)? {
        for record in records(&chunk.map_err(err)?)? {
            batch.push(record);
            if batch.len() == LOAD_BATCH
                && !emit(std::mem::replace(
                    &mut batch,
                    Vec::with_capacity(LOAD_BATCH),
                ))
            {
                return Ok(());
            }
        }
    }
    if !batch.is_empty() {
        emit(batch);
    }
    Ok(())
}

/// [`load`], with `changes` (not yet in DuckDB) applied over what it holds.
fn load_overlaid(
    conn: &duckdb::Connection,
    changes: Vec<Change>,
    mut emit: impl FnMut(Vec<Record>) -> bool,
) -> Result<(), StoreError> {
    let (truncate, overlay) = collapse(changes);
    let replaced: std::collections::HashSet<(Kind, String)> = overlay
        .iter()
        .filter_map(|c| match c {
            Change::Put(r) => Some((r.kind, r.key.clone())),
            Change::Delete { kind, key } => Some((*kind, key.clone())),
            Change::Truncate => None,
        })
        .collect();
    let mut taken = true;
    if !truncate {
        load(conn, |batch| {
            let kept: Vec<Record> = batch
                .into_iter()
                .filter(|r| !replaced.contains(&(r.kind, r.key.clone())))
                .collect();
            taken = emit(kept);
            taken
        })?;
    }
    let puts: Vec<Record> = overlay
        .into_iter()
        .filter_map(|c| match c {
            Change::Put(r) => Some(r),
            _ => None,
        })
        .collect();
    for chunk in puts.chunks(LOAD_BATCH) {
        if !taken || !emit(chunk.to_vec()) {
            break;
        }
    }
    Ok(())
}

/// The records of one Arrow batch of the load query.
fn records(chunk: &RecordBatch) -> Result<Vec<Record>, StoreError> {
    // Cast to one type per column, whichever string or number layout DuckDB hands over.
    let column = |i: usize, to: &DataType| {
        cast(chunk.column(i), to)
            .map_err(|e| StoreError::undecodable(format!("load: column {i}"), e))
    };
    let strings: Vec<ArrayRef> = [0, 1, 2, 3, 4, 6, 7, 8]
        .into_iter()
        .map(|i| column(i, &DataType::Utf8))
        .collect::<Result<_, _>>()?;
    let [kind, key, doc, cluster, family, status, service, started_by] =
        <[ArrayRef; 8]>::try_from(strings)
            .map_err(|_| StoreError::corrupt("load: column count"))?;
    let revision = column(5, &DataType::Int64)?;
    let created_at = column(9, &DataType::Float64)?;
    let (revision, created_at) = (
        revision.as_primitive::<Int64Type>(),
        created_at.as_primitive::<Float64Type>(),
    );
    let text = |a: &ArrayRef, row: usize| {
        let a = a.as_string::<i32>();
        (!a.is_null(row)).then(|| a.value(row).to_string())
    };
    let mut out = Vec::with_capacity(chunk.num_rows());
    for row in 0..chunk.num_rows() {
        let kind_name = text(&kind, row).unwrap_or_default();
        out.push(Record {
            kind: Kind::parse(&kind_name)
                .ok_or_else(|| StoreError::corrupt(format!("unknown kind {kind_name}")))?,
            key: text(&key, row).unwrap_or_default(),
            doc: text(&doc, row).unwrap_or_default(),
            index: Index {
                cluster: text(&cluster, row),
                family: text(&family, row),
                revision: (!revision.is_null(row)).then(|| revision.value(row)),
                status: text(&status, row),
                service: text(&service, row),
                started_by: text(&started_by, row),
                created_at: (!created_at.is_null(row)).then(|| created_at.value(row)),
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, doc: &str) -> Change {
        Change::Put(Record {
            kind: Kind::Cluster,
            key: key.into(),
            doc: doc.into(),
            index: Index::default(),
        })
    }

    #[test]
    fn collapse_keeps_the_last_change_per_key_after_the_last_truncate() {
        let (t, c) = collapse(vec![
            put("a", "1"),
            Change::Truncate,
            put("b", "1"),
            put("b", "2"),
            put("c", "1"),
        ]);
        assert!(t);
        assert_eq!(c, vec![put("b", "2"), put("c", "1")]);
        let (t, c) = collapse(vec![
            put("a", "1"),
            Change::Delete {
                kind: Kind::Cluster,
                key: "a".into(),
            },
        ]);
        assert!(!t);
        assert_eq!(
            c,
            vec![Change::Delete {
                kind: Kind::Cluster,
                key: "a".into()
            }]
        );
    }

    #[test]
    fn a_batch_of_any_size_is_upserted_whole_across_statements() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut conn).unwrap();
        // 341 = 256 + 64 + 16 + 4 + 1: every statement size at once.
        let first: Vec<Change> = (0..341).map(|i| put(&format!("k{i:03}"), "1")).collect();
        apply(&mut conn, first, None).unwrap();
        // Overwrites, new keys and deletes in one batch.
        let mut second: Vec<Change> = (0..100).map(|i| put(&format!("k{i:03}"), "2")).collect();
        second.extend((341..360).map(|i| put(&format!("k{i:03}"), "3")));
        second.push(Change::Delete {
            kind: Kind::Cluster,
            key: "k340".into(),
        });
        apply(&mut conn, second, Some(7)).unwrap();
        assert_eq!(applied_seq(&conn).unwrap(), 7);
        let (mut records, mut batches) = (vec![], vec![]);
        load(&conn, |batch| {
            batches.push(batch.len());
            records.extend(batch);
            true
        })
        .unwrap();
        // 359 records: batches of LOAD_BATCH and what is left.
        assert_eq!(batches, [359]);
        records.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(records.len(), 359);
        let doc = |k: &str| records.iter().find(|r| r.key == k).map(|r| r.doc.clone());
        assert_eq!(doc("k000").as_deref(), Some("2"));
        assert_eq!(doc("k200").as_deref(), Some("1"));
        assert_eq!(doc("k340"), None);
        assert_eq!(doc("k359").as_deref(), Some("3"));
    }

    #[test]
    fn a_load_can_lay_changes_duckdb_lacks_over_what_it_holds() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut conn).unwrap();
        apply(
            &mut conn,
            vec![put("a", "1"), put("b", "1"), put("c", "1")],
            None,
        )
        .unwrap();
        let read = |changes: Vec<Change>| {
            let mut seen = vec![];
            load_overlaid(&conn, changes, |batch| {
                seen.extend(batch.into_iter().map(|r| (r.key, r.doc)));
                true
            })
            .unwrap();
            seen.sort();
            seen
        };
        let delete_c = Change::Delete {
            kind: Kind::Cluster,
            key: "c".into(),
        };
        let pair = |k: &str, d: &str| (k.to_string(), d.to_string());
        assert_eq!(
            read(vec![put("b", "2"), delete_c, put("d", "2")]),
            [pair("a", "1"), pair("b", "2"), pair("d", "2")]
        );
        assert_eq!(
            read(vec![Change::Truncate, put("e", "3")]),
            [pair("e", "3")]
        );
    }

    #[test]
    fn a_load_comes_in_batches_and_stops_when_nobody_takes_them() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut conn).unwrap();
        let n = LOAD_BATCH * 2 + 5;
        apply(
            &mut conn,
            (0..n).map(|i| put(&format!("k{i:05}"), "1")).collect(),
            None,
        )
        .unwrap();
        let mut sizes = vec![];
        load(&conn, |batch| {
            sizes.push(batch.len());
            true
        })
        .unwrap();
        assert_eq!(sizes, [LOAD_BATCH, LOAD_BATCH, 5]);
        let mut taken = 0;
        load(&conn, |_| {
            taken += 1;
            false
        })
        .unwrap();
        assert_eq!(taken, 1);
    }
}
