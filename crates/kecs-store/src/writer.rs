//! The single writer thread: group commit over one DuckDB connection.

use std::collections::HashMap;
use std::sync::mpsc;

use kecs_domain::store::{Change, Index, Kind, Record, StoreError};
use tokio::sync::oneshot;

type Ack<T> = oneshot::Sender<Result<T, StoreError>>;

/// What the writer is asked to do.
pub(crate) enum Command {
    Commit(Vec<Change>, Ack<()>),
    Load(Ack<Vec<Record>>),
    Ping(Ack<()>),
    Stop,
}

/// At most this many changes go into one transaction.
const MAX_BATCH: usize = 8192;

const UPSERT: &str = "INSERT INTO resources (kind, key, doc, cluster, family, revision, status, service, started_by, created_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (kind, key) DO UPDATE SET doc = excluded.doc, cluster = excluded.cluster, family = excluded.family, \
     revision = excluded.revision, status = excluded.status, service = excluded.service, \
     started_by = excluded.started_by, created_at = excluded.created_at";

fn err(e: duckdb::Error) -> StoreError {
    StoreError(e.to_string())
}

pub(crate) fn run(mut conn: duckdb::Connection, rx: mpsc::Receiver<Command>) {
    while let Ok(first) = rx.recv() {
        let mut pending = vec![first];
        let mut changes = 0;
        // Take what else is queued: they all share the next commit.
        while changes < MAX_BATCH {
            match rx.try_recv() {
                Ok(cmd) => {
                    if let Command::Commit(c, _) = &cmd {
                        changes += c.len();
                    }
                    pending.push(cmd);
                }
                Err(_) => break,
            }
        }
        let mut commits = vec![];
        let mut stop = false;
        for cmd in pending {
            match cmd {
                Command::Commit(c, ack) => commits.push((c, ack)),
                Command::Load(ack) => {
                    // Commit what came before, so a load sees it.
                    flush(&mut conn, std::mem::take(&mut commits));
                    let _ = ack.send(load(&conn));
                }
                Command::Ping(ack) => {
                    let _ = ack.send(conn.execute_batch("SELECT 1").map_err(err));
                }
                Command::Stop => stop = true,
            }
        }
        flush(&mut conn, commits);
        if stop {
            break;
        }
    }
}

/// Commits every queued change, then acknowledges each request with the outcome.
fn flush(conn: &mut duckdb::Connection, commits: Vec<(Vec<Change>, Ack<()>)>) {
    if commits.is_empty() {
        return;
    }
    let (batches, acks): (Vec<_>, Vec<_>) = commits.into_iter().unzip();
    let result = apply(conn, batches.into_iter().flatten().collect());
    for ack in acks {
        let _ = ack.send(result.clone());
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

fn apply(conn: &mut duckdb::Connection, changes: Vec<Change>) -> Result<(), StoreError> {
    let (truncate, changes) = collapse(changes);
    if truncate {
        // Its own transaction: DuckDB refuses to re-insert a key deleted in the same one.
        conn.execute_batch("DELETE FROM resources").map_err(err)?;
    }
    if changes.is_empty() {
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
    tx.commit().map_err(err)
}

fn load(conn: &duckdb::Connection) -> Result<Vec<Record>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT kind, key, doc, cluster, family, revision, status, service, started_by, created_at FROM resources")
        .map_err(err)?;
    let rows = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                Record {
                    kind: Kind::Cluster,
                    key: row.get(1)?,
                    doc: row.get(2)?,
                    index: Index {
                        cluster: row.get(3)?,
                        family: row.get(4)?,
                        revision: row.get(5)?,
                        status: row.get(6)?,
                        service: row.get(7)?,
                        started_by: row.get(8)?,
                        created_at: row.get(9)?,
                    },
                },
            ))
        })
        .map_err(err)?;
    let mut out = vec![];
    for row in rows {
        let (kind, mut record) = row.map_err(err)?;
        record.kind =
            Kind::parse(&kind).ok_or_else(|| StoreError(format!("unknown kind {kind}")))?;
        out.push(record);
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
        apply(&mut conn, first).unwrap();
        // Overwrites, new keys and deletes in one batch.
        let mut second: Vec<Change> = (0..100).map(|i| put(&format!("k{i:03}"), "2")).collect();
        second.extend((341..360).map(|i| put(&format!("k{i:03}"), "3")));
        second.push(Change::Delete {
            kind: Kind::Cluster,
            key: "k340".into(),
        });
        apply(&mut conn, second).unwrap();
        let mut records = load(&conn).unwrap();
        records.sort_by(|a, b| a.key.cmp(&b.key));
        assert_eq!(records.len(), 359);
        let doc = |k: &str| records.iter().find(|r| r.key == k).map(|r| r.doc.clone());
        assert_eq!(doc("k000").as_deref(), Some("2"));
        assert_eq!(doc("k200").as_deref(), Some("1"));
        assert_eq!(doc("k340"), None);
        assert_eq!(doc("k359").as_deref(), Some("3"));
    }
}
