//! How the state's tables take records: typed values by key, or packed [`Table`]s, each change
//! answered as the store's [`Change`].

use std::collections::BTreeMap;

use serde::{de::DeserializeOwned, Serialize};

use super::{PackError, Row, Table};
use crate::ports::store::{Change, Index, Kind, Record, StoreError};
use crate::EcsError;

fn to_doc<T: Serialize>(value: &T) -> Result<String, EcsError> {
    serde_json::to_string(value).map_err(|e| EcsError::internal("encoding a stored document", e))
}

/// A table of the state: typed values by key, or a packed [`Table`].
pub(super) trait Holds<T> {
    /// Puts `value` under `key`; `doc` is its JSON document.
    fn hold(&mut self, key: String, value: T, doc: &str) -> Result<(), PackError>;
    /// Puts the value a stored JSON document holds under `key`.
    fn hold_doc(&mut self, key: String, doc: &str) -> Result<(), PackError>;
    /// Removes the value under `key`.
    fn release(&mut self, key: &str);
}

impl<T: DeserializeOwned> Holds<T> for BTreeMap<String, T> {
    fn hold(&mut self, key: String, value: T, _doc: &str) -> Result<(), PackError> {
        self.insert(key, value);
        Ok(())
    }
    fn hold_doc(&mut self, key: String, doc: &str) -> Result<(), PackError> {
        let value = serde_json::from_str(doc).map_err(PackError::Json)?;
        self.insert(key, value);
        Ok(())
    }
    fn release(&mut self, key: &str) {
        self.remove(key);
    }
}

impl<T: Row> Holds<T> for Table<T> {
    fn hold(&mut self, key: String, value: T, doc: &str) -> Result<(), PackError> {
        self.insert(key, &value, doc)
    }
    fn hold_doc(&mut self, key: String, doc: &str) -> Result<(), PackError> {
        self.load_all(vec![(key, doc.to_owned())])
            .map_err(|(_, e)| e)
    }
    fn release(&mut self, key: &str) {
        self.remove(key);
    }
}

pub(super) fn put<T: Serialize>(
    table: &mut impl Holds<T>,
    kind: Kind,
    key: String,
    value: T,
    index: Index,
) -> Result<Change, EcsError> {
    let doc = to_doc(&value)?;
    table
        .hold(key.clone(), value, &doc)
        .map_err(|e| EcsError::internal(format!("keeping {} {key}", kind.as_str()), e))?;
    Ok(Change::Put(Record {
        kind,
        key,
        doc,
        index,
    }))
}

pub(super) fn delete<T>(table: &mut impl Holds<T>, kind: Kind, key: String) -> Change {
    table.release(&key);
    Change::Delete { kind, key }
}

pub(super) fn load_into<T>(table: &mut impl Holds<T>, record: Record) -> Result<(), StoreError> {
    table
        .hold_doc(record.key.clone(), &record.doc)
        .map_err(|e| StoreError::undecodable(format!("{} {}", record.kind.as_str(), record.key), e))
}
