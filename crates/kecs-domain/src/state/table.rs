//! A table of values kept packed (see [`packed`](super::packed)), by key in key order, each
//! beside a small summary of the fields that walks over many of them filter on: a walk reads
//! summaries, and only the values it keeps are unpacked.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Range;

use serde::{de::DeserializeOwned, Serialize};

use super::packed::{PackError, Packed};
use crate::model::Stored;

/// The most threads [`Table::load_all`] prepares documents on.
const LOAD_THREADS: usize = 4;

/// A value a [`Table`] can hold.
pub trait Row: Serialize + DeserializeOwned {
    /// What walks filter on without unpacking the value.
    type Summary: Clone + std::fmt::Debug + Send;
    /// The summary of `self`.
    fn summarize(&self) -> Self::Summary;
    /// The summary of the value whose JSON document is `doc` (what a load reads): decodes the
    /// whole value unless a row reads its summary's members alone.
    fn summarize_document(doc: &str) -> Result<Self::Summary, serde_json::Error> {
        serde_json::from_str::<Self>(doc).map(|value| value.summarize())
    }
    /// The member of its document that reads copy into answers as it is stored (a task's
    /// `task`): where it lies is found once, when the value is kept ([`Table::member`]).
    const MEMBER: Option<&'static str> = None;
}

#[derive(Debug, Clone)]
struct Entry<S> {
    summary: S,
    packed: Packed,
    /// Where [`Row::MEMBER`] lies in the document (`start..end` as u32 to keep entries small;
    /// empty when there is none to copy).
    member: (u32, u32),
}

impl<S> Entry<S> {
    fn new<T: Row>(summary: S, doc: &str) -> Result<Self, PackError> {
        let member = T::MEMBER
            .and_then(|name| Stored::member_of(doc.as_bytes(), name))
            .and_then(|at| Some((u32::try_from(at.start).ok()?, u32::try_from(at.end).ok()?)))
            .unwrap_or_default();
        Ok(Self {
            summary,
            packed: Packed::pack(doc)?,
            member,
        })
    }
}

/// Packed values by key.
pub struct Table<T: Row> {
    entries: BTreeMap<String, Entry<T::Summary>>,
    // fn() -> T: the table holds no T, so it is Send and Sync whatever T is.
    kind: PhantomData<fn() -> T>,
}

impl<T: Row> Default for Table<T> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
            kind: PhantomData,
        }
    }
}

impl<T: Row> Clone for Table<T> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            kind: PhantomData,
        }
    }
}

impl<T: Row> std::fmt::Debug for Table<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.entries.iter()).finish()
    }
}

fn unpacked<T: Row>(key: &str, packed: &Packed) -> Option<T> {
    logged(key, packed.unpack())
}

fn logged<R>(key: &str, unpacked: Result<R, super::PackError>) -> Option<R> {
    match unpacked {
        Ok(value) => Some(value),
        Err(e) => {
            // Only this process packs, from values that serialized: a failure here is a bug.
            tracing::error!(key, error = %e, "a packed value does not unpack");
            None
        }
    }
}

impl<T: Row> Table<T> {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<T> {
        self.entries.get(key).and_then(|e| unpacked(key, &e.packed))
    }

    /// The JSON document of the value under `key` and where its [`Row::MEMBER`] lies in it;
    /// `None` when there is no such value or it has no member to copy (nothing decompressed).
    pub fn member(&self, key: &str) -> Option<(Vec<u8>, Range<usize>)> {
        let entry = self.entries.get(key)?;
        let (start, end) = entry.member;
        if end <= start {
            return None;
        }
        Some((
            logged(key, entry.packed.document())?,
            start as usize..end as usize,
        ))
    }

    /// The summary of the value under `key`.
    pub fn summary(&self, key: &str) -> Option<&T::Summary> {
        self.entries.get(key).map(|e| &e.summary)
    }

    /// Whether a value is under `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// Puts `value` under `key`; `doc` is its JSON document (made for the store already).
    pub fn insert(&mut self, key: String, value: &T, doc: &str) -> Result<(), PackError> {
        self.keep(key, value.summarize(), doc)
    }

    /// Puts the values stored JSON documents hold under their keys, each summarized from its
    /// document ([`Row::summarize_document`]) and packed, on every core (up to four) at once (a
    /// start-up's long pole). A document that cannot be read fails it with its key.
    pub fn load_all(&mut self, docs: Vec<(String, String)>) -> Result<(), (String, PackError)> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(LOAD_THREADS));
        // Below this, a thread costs more than it saves.
        let chunk = docs.len().div_ceil(threads).max(128);
        let prepare =
            |docs: &[(String, String)]| -> Result<Vec<Entry<T::Summary>>, (String, PackError)> {
                docs.iter()
                    .map(|(key, doc)| {
                        let summary = T::summarize_document(doc)
                            .map_err(|e| (key.clone(), PackError::Json(e)))?;
                        Entry::new::<T>(summary, doc).map_err(|e| (key.clone(), e))
                    })
                    .collect()
            };
        let mut chunks = docs.chunks(chunk);
        let first = chunks.next().unwrap_or_default();
        let prepared = std::thread::scope(|scope| {
            let others: Vec<_> = chunks.map(|c| scope.spawn(move || prepare(c))).collect();
            let mut prepared = vec![prepare(first)];
            for other in others {
                // A panic in a helper thread is this call's panic.
                prepared.push(
                    other
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            prepared
        });
        let keys = docs.into_iter().map(|(key, _)| key);
        let mut entries = Vec::with_capacity(keys.len());
        for part in prepared {
            entries.extend(part?);
        }
        self.entries.extend(keys.zip(entries));
        Ok(())
    }

    fn keep(&mut self, key: String, summary: T::Summary, doc: &str) -> Result<(), PackError> {
        self.entries.insert(key, Entry::new::<T>(summary, doc)?);
        Ok(())
    }

    /// Removes the value under `key`; whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        self.entries.remove(key).is_some()
    }

    /// How many values it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every key and summary, in key order.
    pub fn summaries(&self) -> impl Iterator<Item = (&String, &T::Summary)> {
        self.entries.iter().map(|(k, e)| (k, &e.summary))
    }

    /// The keys starting with `prefix` and their summaries, in key order: ARN keys put one
    /// region's, one cluster's or one service's values in one range.
    pub fn prefixed(&self, prefix: String) -> impl Iterator<Item = (&String, &T::Summary)> {
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .map(|(k, e)| (k, &e.summary))
    }

    /// The values under keys starting with `prefix`, unpacked, in key order.
    pub fn prefixed_values(&self, prefix: String) -> impl Iterator<Item = T> + '_ {
        self.entries
            .range(prefix.clone()..)
            .take_while(move |(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, e)| unpacked(k, &e.packed))
    }
}
