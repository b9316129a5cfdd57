//! The SQL side of the store: change batches applied to DuckDB in transactions, records read
//! back in batches (with changes DuckDB lacks laid on top when it cannot take them).

use std::collections::HashMap;

use duckdb::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::{DataType, Float64Type, Int64Type};
use kecs_domain::ports::store::{Change, Index, Kind, Record, StoreError};

/// Records per batch of a load.
pub(crate) const LOAD_BATCH: usize = 1024;

/// At most this many changes go into one transaction.
pub(crate) const MAX_BATCH: usize = 8192;

/// The puts of a transaction are appended here first (DuckDB's Appender, no SQL per row), then
/// moved into `resources` by one statement. A temporary table: it lives with the connection and
/// is never written to the database file or its WAL.
const STAGING: &str =
    "CREATE TEMP TABLE IF NOT EXISTS staged_puts AS SELECT * FROM resources LIMIT 0";

/// Moves the staged puts into `resources` (insert or overwrite by `(kind, key)`, through the
/// primary key's index) and empties the staging table for the next transaction.
const MERGE: &str =
    "INSERT OR REPLACE INTO resources SELECT * FROM staged_puts; DELETE FROM staged_puts";

pub(crate) fn err(e: duckdb::Error) -> StoreError {
    StoreError::engine("DuckDB", e)
}

/// The last change per record since the last truncate: what the batch leaves behind.
fn collapse(changes: &[Change]) -> (bool, Vec<&Change>) {
    let truncate_at = changes.iter().rposition(|c| matches!(c, Change::Truncate));
    let rest = &changes[truncate_at.map_or(0, |i| i + 1)..];
    let mut order: Vec<(Kind, &str)> = vec![];
    let mut last: HashMap<(Kind, &str), &Change> = HashMap::new();
    for c in rest {
        let id = match c {
            Change::Put(r) => (r.kind, r.key.as_str()),
            Change::Delete { kind, key } => (*kind, key.as_str()),
            Change::Truncate => continue,
        };
        if last.insert(id, c).is_none() {
            order.push(id);
        }
    }
    let collapsed = order
        .into_iter()
        .filter_map(|id| last.remove(&id))
        .collect();
    (truncate_at.is_some(), collapsed)
}

/// Stages `puts` with DuckDB's Appender and merges them in one statement: DuckDB's cost is per
/// statement far more than per row (measured, 2 cores: multi-row `INSERT ... ON CONFLICT`
/// statements of up to 256 rows applied ~6,700 rows/s in transactions of 2,048 changes; staged,
/// ~40,000).
fn upsert_all(tx: &duckdb::Transaction, puts: &[&Record]) -> Result<(), StoreError> {
    if puts.is_empty() {
        return Ok(());
    }
    tx.execute_batch(STAGING).map_err(err)?;
    {
        let mut appender = tx
            .appender_to_catalog_and_db("staged_puts", "temp", "main")
            .map_err(err)?;
        for r in puts {
            let i = &r.index;
            appender
                .append_row(duckdb::params![
                    r.kind.as_str(),
                    r.key,
                    r.doc,
                    i.cluster,
                    i.family,
                    i.revision,
                    i.status,
                    i.service,
                    i.started_by,
                    i.created_at,
                ])
                .map_err(err)?;
        }
        // Explicitly: a flush on drop would swallow its error.
        appender.flush().map_err(err)?;
    }
    tx.execute_batch(MERGE).map_err(err)
}

/// Writes `changes` in one transaction (a truncate in its own before it), recording `seq` as the
/// last journal group DuckDB holds.
pub(crate) fn apply(
    conn: &mut duckdb::Connection,
    changes: &[Change],
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
            apply(conn, &std::mem::take(&mut chunk), last)?;
        }
    }
    if !chunk.is_empty() || last.is_some() {
        apply(conn, &chunk, last)?;
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
pub(crate) fn load_overlaid(
    conn: &duckdb::Connection,
    changes: &[Change],
    mut emit: impl FnMut(Vec<Record>) -> bool,
) -> Result<(), StoreError> {
    let (truncate, overlay) = collapse(changes);
    let replaced: std::collections::HashSet<(Kind, &str)> = overlay
        .iter()
        .filter_map(|c| match c {
            Change::Put(r) => Some((r.kind, r.key.as_str())),
            Change::Delete { kind, key } => Some((*kind, key.as_str())),
            Change::Truncate => None,
        })
        .collect();
    let mut taken = true;
    if !truncate {
        load(conn, |batch| {
            let kept: Vec<Record> = batch
                .into_iter()
                .filter(|r| !replaced.contains(&(r.kind, r.key.as_str())))
                .collect();
            taken = emit(kept);
            taken
        })?;
    }
    let puts: Vec<&Record> = overlay
        .into_iter()
        .filter_map(|c| match c {
            Change::Put(r) => Some(r),
            _ => None,
        })
        .collect();
    for chunk in puts.chunks(LOAD_BATCH) {
        if !taken || !emit(chunk.iter().map(|r| (*r).clone()).collect()) {
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
        let changes = [
            put("a", "1"),
            Change::Truncate,
            put("b", "1"),
            put("b", "2"),
            put("c", "1"),
        ];
        let (t, c) = collapse(&changes);
        assert!(t);
        assert_eq!(c, [&put("b", "2"), &put("c", "1")]);
        let delete_a = Change::Delete {
            kind: Kind::Cluster,
            key: "a".into(),
        };
        let changes = [put("a", "1"), delete_a.clone()];
        let (t, c) = collapse(&changes);
        assert!(!t);
        assert_eq!(c, [&delete_a]);
    }

    #[test]
    fn overwrites_new_keys_and_deletes_go_in_together_batch_after_batch() {
        let mut conn = duckdb::Connection::open_in_memory().unwrap();
        crate::migrations::apply(&mut conn).unwrap();
        let first: Vec<Change> = (0..341).map(|i| put(&format!("k{i:03}"), "1")).collect();
        apply(&mut conn, &first, None).unwrap();
        // Overwrites, new keys and deletes in one batch.
        let mut second: Vec<Change> = (0..100).map(|i| put(&format!("k{i:03}"), "2")).collect();
        second.extend((341..360).map(|i| put(&format!("k{i:03}"), "3")));
        second.push(Change::Delete {
            kind: Kind::Cluster,
            key: "k340".into(),
        });
        // The first batch's staged rows are gone: merged again, they would overwrite these.
        apply(&mut conn, &second, Some(7)).unwrap();
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
            &[put("a", "1"), put("b", "1"), put("c", "1")],
            None,
        )
        .unwrap();
        let read = |changes: Vec<Change>| {
            let mut seen = vec![];
            load_overlaid(&conn, &changes, |batch| {
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
            &(0..n)
                .map(|i| put(&format!("k{i:05}"), "1"))
                .collect::<Vec<_>>(),
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
