//! The entry format and the reading of one segment: whole entries, then how the segment ends.
//!
//! Entry: `len: u32 LE | crc32(payload): u32 LE | payload`, payload = `seq: u64 LE | JSON changes`.

use kecs_domain::ports::store::{Change, StoreError};

/// One group of changes and its place in the order.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Increasing by one per group.
    pub seq: u64,
    /// The changes, in order.
    pub changes: Vec<Change>,
}

/// The bytes of `group`'s entry.
pub(crate) fn encode(group: &Group) -> Result<Vec<u8>, StoreError> {
    let mut payload = group.seq.to_le_bytes().to_vec();
    serde_json::to_writer(&mut payload, &group.changes)
        .map_err(|e| StoreError::engine("journal: encode", e))?;
    let len = u32::try_from(payload.len())
        .map_err(|e| StoreError::engine("journal: group too large", e))?;
    let mut entry = Vec::with_capacity(payload.len() + 8);
    entry.extend_from_slice(&len.to_le_bytes());
    entry.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    entry.extend_from_slice(&payload);
    Ok(entry)
}

/// How a segment's run of whole entries ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum End {
    /// At the end of the file.
    Clean,
    /// In a torn entry: one that runs past the end of the file, or zeros to the end (what a
    /// crash while appending leaves).
    Torn,
    /// In bytes that are neither: damage, with what is wrong.
    Corrupt(String),
}

/// One segment read: its groups after `after`, with the offset of each.
#[derive(Debug)]
pub(crate) struct Scan {
    /// `(offset, group)` for each whole entry whose seq is after `after`.
    pub groups: Vec<(usize, Group)>,
    /// Bytes taken by whole entries; what follows is the end.
    pub whole: usize,
    pub end: End,
}

/// Reads `bytes`: the entries up to `after` are checked but not decoded (after a clean stop
/// the last segment holds up to 64 MiB DuckDB has already).
pub(crate) fn scan(bytes: &[u8], after: u64) -> Scan {
    let (mut groups, mut at) = (vec![], 0usize);
    let word = |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    let end = loop {
        let rest = &bytes[at..];
        if rest.is_empty() {
            break End::Clean;
        }
        if rest.len() < 8 || rest.iter().all(|b| *b == 0) {
            break End::Torn;
        }
        let (len, crc) = (word(at) as usize, word(at + 4));
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break End::Torn;
        };
        if len < 8 {
            break End::Corrupt(format!("an entry length of {len} bytes"));
        }
        if crc32fast::hash(payload) != crc {
            break End::Corrupt("a checksum mismatch".into());
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&payload[..8]);
        let seq = u64::from_le_bytes(seq);
        if seq > after {
            match serde_json::from_slice(&payload[8..]) {
                Ok(changes) => groups.push((at, Group { seq, changes })),
                Err(e) => break End::Corrupt(format!("group {seq} does not decode: {e}")),
            }
        }
        at += 8 + len;
    };
    Scan {
        groups,
        whole: at,
        end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kecs_domain::ports::store::{Index, Kind, Record};

    fn entry(seq: u64) -> Vec<u8> {
        encode(&Group {
            seq,
            changes: vec![Change::Put(Record {
                kind: Kind::Task,
                key: format!("k{seq}"),
                doc: "{}".into(),
                index: Index::default(),
            })],
        })
        .unwrap()
    }

    #[test]
    fn a_partial_last_entry_or_zeros_are_a_torn_tail_and_anything_else_is_damage() {
        let (a, b) = (entry(1), entry(2));
        let whole = [a.clone(), b.clone()].concat();
        let clean = scan(&whole, 0);
        assert_eq!(
            (clean.end, clean.groups.len(), clean.whole),
            (End::Clean, 2, whole.len())
        );
        // Cut inside the second entry.
        let torn = scan(&whole[..whole.len() - 3], 0);
        assert_eq!(
            (torn.end, torn.groups.len(), torn.whole),
            (End::Torn, 1, a.len())
        );
        // Zeros where the second entry should be (a file extended, its data lost).
        let zeros = [a.clone(), vec![0; b.len()]].concat();
        assert_eq!(scan(&zeros, 0).end, End::Torn);
        // A flipped byte inside a whole entry, followed by another whole entry.
        let mut flipped = [a.clone(), b.clone(), entry(3)].concat();
        flipped[a.len() + 12] ^= 0x40;
        let damaged = scan(&flipped, 0);
        assert!(matches!(damaged.end, End::Corrupt(_)), "{:?}", damaged.end);
        assert_eq!((damaged.groups.len(), damaged.whole), (1, a.len()));
        // Entries up to `after` are checked, not returned.
        let skipped = scan(&whole, 1);
        assert_eq!(skipped.groups.len(), 1);
        assert_eq!(skipped.groups[0].0, a.len());
    }
}
