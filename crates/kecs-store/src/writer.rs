//! The writer threads. With a journal (a data directory): the front thread appends each group
//! of commits to the journal, syncs it and acknowledges them; the DuckDB thread takes the
//! groups behind it in large transactions. Without one (in-memory DuckDB, tests): the DuckDB
//! thread commits each group itself and acknowledges it after COMMIT.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use kecs_domain::ports::store::{Change, Record, StoreError};
use tokio::sync::oneshot;

use crate::backlog::Backlog;
use crate::journal::Journal;
use crate::sql::{err, load, load_overlaid, MAX_BATCH};

pub(crate) type Ack<T> = oneshot::Sender<Result<T, StoreError>>;
/// Where a load sends its batches.
pub(crate) type Batches = tokio::sync::mpsc::Sender<Result<Vec<Record>, StoreError>>;

/// What the store is asked to do.
pub(crate) enum Command {
    /// Changes to commit, the answer's sender, and the committing span (which the journal tells
    /// how many commits shared its group).
    Commit(Vec<Change>, Ack<()>, tracing::Span),
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

/// Groups the DuckDB thread may lag behind the journal before the front waits for it: enough
/// to ride out a DuckDB checkpoint (seconds, under a write storm) without stalling requests,
/// while a DuckDB that stays behind still slows writers down rather than filling memory.
pub(crate) const MAX_LAG_GROUPS: usize = 65_536;

/// How far the journal and DuckDB have come, by group sequence number.
#[derive(Debug)]
pub(crate) struct Progress {
    /// The last group the journal made durable.
    journaled: AtomicU64,
    /// The last group DuckDB holds.
    applied: AtomicU64,
}

impl Progress {
    /// Both at `seq` (what DuckDB holds at open, the journal replayed into it).
    pub(crate) fn new(seq: u64) -> Self {
        Self {
            journaled: AtomicU64::new(seq),
            applied: AtomicU64::new(seq),
        }
    }

    /// Groups journaled and not yet in DuckDB.
    pub(crate) fn backlog(&self) -> u64 {
        let applied = self.applied.load(Ordering::Acquire);
        self.journaled
            .load(Ordering::Acquire)
            .saturating_sub(applied)
    }
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

/// Commits taken since the last group was journaled: their changes, who waits for each, and
/// the span of each (told how many commits shared the group).
#[derive(Default)]
struct Waiting {
    changes: Vec<Change>,
    acks: Vec<Ack<()>>,
    spans: Vec<tracing::Span>,
}

/// The front thread: journals each group of commits, acknowledges it once synced, and hands
/// it (and every other command, in order) to the DuckDB thread.
pub(crate) fn run_front(
    mut journal: Journal,
    rx: mpsc::Receiver<Command>,
    duck: mpsc::SyncSender<ToDuck>,
    progress: Arc<Progress>,
) {
    let mut gate = Gate::default();
    while let Ok(first) = rx.recv() {
        let pending = drain(&rx, first, |c| match c {
            Command::Commit(c, ..) => c.len(),
            _ => 0,
        });
        let mut waiting = Waiting::default();
        let mut stop = false;
        for cmd in pending {
            match cmd {
                Command::Commit(changes, ack, span) => match gate.check() {
                    Ok(()) => {
                        waiting.changes.extend(changes);
                        waiting.acks.push(ack);
                        waiting.spans.push(span);
                    }
                    Err(refused) => {
                        let _ = ack.send(Err(refused));
                    }
                },
                Command::Resume(ack) => {
                    journal_group(&mut journal, &duck, &mut waiting, &mut gate, &progress);
                    gate.resume();
                    let _ = ack.send(Ok(()));
                }
                other => {
                    journal_group(&mut journal, &duck, &mut waiting, &mut gate, &progress);
                    stop = matches!(other, Command::Stop);
                    if duck.send(ToDuck::Command(other)).is_err() {
                        return;
                    }
                }
            }
        }
        journal_group(&mut journal, &duck, &mut waiting, &mut gate, &progress);
        journal.applied(progress.applied.load(Ordering::Acquire));
        if stop {
            break;
        }
    }
}

/// Journals what is waiting as one group and answers each commit in it.
fn journal_group(
    journal: &mut Journal,
    duck: &mpsc::SyncSender<ToDuck>,
    waiting: &mut Waiting,
    gate: &mut Gate,
    progress: &Progress,
) {
    let Waiting {
        changes: group,
        acks,
        spans,
    } = std::mem::take(waiting);
    if acks.is_empty() {
        return;
    }
    for span in spans {
        span.record("group", acks.len());
    }
    let lag = progress.backlog();
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
            progress.journaled.store(g.seq, Ordering::Release);
            let _ = duck.send(ToDuck::Journaled(g.seq, g.changes));
        })
    };
    if let Err(e) = &result {
        tracing::error!(error = %e, "journal append failed; refusing writes until the state is reloaded");
        gate.failed(e);
    }
    for ack in acks {
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

/// Journaled groups that come while DuckDB is still this close to its last transaction wait
/// for the rest of it (unless [`MAX_BATCH`] changes are waiting): a DuckDB transaction costs
/// milliseconds whatever it carries (each statement ~0.5 ms on 2 cores, the merge more), so
/// under a write storm few large ones cost a fraction of the CPU of many small ones. The groups
/// are durable in the journal already; only DuckDB's copy lags, by at most this much.
const APPLY_EVERY: Duration = Duration::from_millis(100);

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
    progress: Arc<Progress>,
    cache: Cache,
) {
    let applied = &progress.applied;
    let mut backlog = Backlog::default();
    let mut gate = Gate::default();
    let mut retry = RETRY_FIRST;
    let mut loaded_once = false;
    // When the backlog may be taken next (see [`APPLY_EVERY`]).
    let mut due = Instant::now();
    loop {
        let first = if backlog.is_empty() {
            rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            rx.recv_timeout(due.saturating_duration_since(Instant::now()))
        };
        let pending = match first {
            Ok(first) => drain(&rx, first, |m| match m {
                ToDuck::Journaled(_, c) | ToDuck::Command(Command::Commit(c, ..)) => c.len(),
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
                ToDuck::Command(Command::Commit(changes, ack, _)) => {
                    if let Err(refused) = gate.check() {
                        let _ = ack.send(Err(refused));
                        continue;
                    }
                    backlog.changes.extend(changes);
                    backlog.acks.push(ack);
                }
                ToDuck::Command(Command::Resume(ack)) => {
                    // Commits queued before it are answered first, as decided before the reload.
                    let _ = duck.flush(&mut backlog, applied);
                    gate.resume();
                    let _ = ack.send(Ok(()));
                }
                ToDuck::Command(Command::Load(batches)) => {
                    // Apply what came before, so the load sees it. The loader takes one batch
                    // at a time (blocking here), so no more than two are ever held.
                    let emit = |batch| batches.blocking_send(Ok(batch)).is_ok();
                    let loaded = match duck.flush(&mut backlog, applied) {
                        Ok(()) => duck.conn().and_then(|conn| load(conn, emit)),
                        // DuckDB cannot take them now (a full disk): what it holds, with the
                        // journaled changes it lacks on top, is still the durable state.
                        Err(e) => {
                            tracing::warn!(error = %e, "loading from DuckDB with the journaled changes it lacks on top");
                            let changes = &backlog.changes;
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
                    let lag = backlog.lag(applied);
                    let answered = duck
                        .flush(&mut backlog, applied)
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
        let take = stop
            || !backlog.acks.is_empty()
            || backlog.changes.len() >= MAX_BATCH
            || Instant::now() >= due;
        if take && !backlog.is_empty() {
            match duck.flush(&mut backlog, applied) {
                Ok(()) => {
                    retry = RETRY_FIRST;
                    due = Instant::now() + APPLY_EVERY;
                }
                // Direct commits (no journal) that failed: later ones wait for the reload.
                Err(e) if backlog.seq.is_none() => gate.failed(&e),
                // The groups are safe in the journal: tried again, in order, after a while.
                Err(_) => {
                    due = Instant::now() + retry;
                    retry = (retry * 2).min(RETRY_MAX);
                }
            }
        }
        if stop {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_is_what_the_journal_holds_beyond_duckdb() {
        let p = Progress::new(5);
        assert_eq!(p.backlog(), 0);
        p.journaled.store(8, Ordering::Release);
        assert_eq!(p.backlog(), 3);
        p.applied.store(8, Ordering::Release);
        assert_eq!(p.backlog(), 0);
    }
}
