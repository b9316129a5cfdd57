//! Changes the DuckDB thread has taken but DuckDB does not hold yet.

use std::sync::atomic::{AtomicU64, Ordering};

use kecs_domain::ports::store::{Change, StoreError};

use crate::sql::apply;
use crate::writer::Ack;

/// Changes taken but not yet in DuckDB: a failed transaction keeps them, in order, for the next
/// attempt (journaled groups are never dropped; unjournaled commits are answered either way).
#[derive(Default)]
pub(crate) struct Backlog {
    pub(crate) changes: Vec<Change>,
    pub(crate) seq: Option<u64>,
    pub(crate) acks: Vec<Ack<()>>,
}

impl Backlog {
    pub(crate) fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.acks.is_empty()
    }

    /// Journaled groups not yet in DuckDB.
    pub(crate) fn lag(&self, applied: &AtomicU64) -> u64 {
        self.seq
            .map_or(0, |seq| seq.saturating_sub(applied.load(Ordering::Acquire)))
    }

    /// Answers the waiting commits with `e` (DuckDB could not even be reached); returns it.
    pub(crate) fn fail(&mut self, e: StoreError) -> StoreError {
        for ack in self.acks.drain(..) {
            let _ = ack.send(Err(e.clone()));
        }
        if self.seq.is_none() {
            self.changes.clear();
        }
        e
    }

    pub(crate) fn flush(
        &mut self,
        conn: &mut duckdb::Connection,
        applied: &AtomicU64,
    ) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let result = apply(conn, &self.changes, self.seq);
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
