//! The journal: an append-only file of committed change groups in front of DuckDB.
//!
//! A group of writes is acknowledged once it is appended here and `fdatasync`ed (a fraction of a
//! millisecond), not once DuckDB has committed it (milliseconds per transaction, whatever its
//! size). DuckDB then takes the changes in large transactions behind, recording the last group it
//! holds (`journal_applied`), and at open every group after that one is applied again: an
//! acknowledged write survives `kill -9` either way.
//!
//! Entry: `len: u32 LE | crc32(payload): u32 LE | payload`, payload = `seq: u64 LE | JSON changes`.
//! A torn entry at the end (a crash mid-append) fails its length or checksum and is cut off.
//! Segments (`kecs.journal.<first seq>`) roll over at [`SEGMENT_BYTES`] and are deleted once
//! DuckDB holds all of their groups.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kecs_domain::ports::store::{Change, StoreError};

/// A segment is closed (and a new one started) past this size.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const PREFIX: &str = "kecs.journal.";

/// A journal file operation `what` failed.
fn err(what: &str, e: std::io::Error) -> StoreError {
    StoreError::io(format!("journal: {what}"), e)
}

/// One group of changes and its place in the order.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Increasing by one per group.
    pub seq: u64,
    /// The changes, in order.
    pub changes: Vec<Change>,
}

fn encode(group: &Group) -> Result<Vec<u8>, StoreError> {
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

/// The whole entries of `bytes` after the group `after`, and how many bytes all the whole
/// entries take (the rest is a torn tail). The groups up to `after` are checked but not
/// decoded: after a clean stop the journal's last segment holds up to 64 MiB DuckDB has already.
fn decode(bytes: &[u8], after: u64) -> (Vec<Group>, usize) {
    let (mut groups, mut at) = (vec![], 0);
    while bytes.len() >= at + 8 {
        let word =
            |i: usize| u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let (len, crc) = (word(at) as usize, word(at + 4));
        let Some(payload) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if len < 8 || crc32fast::hash(payload) != crc {
            break;
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&payload[..8]);
        let seq = u64::from_le_bytes(seq);
        if seq > after {
            let Ok(changes) = serde_json::from_slice(&payload[8..]) else {
                break;
            };
            groups.push(Group { seq, changes });
        }
        at += 8 + len;
    }
    (groups, at)
}

/// The segments in `dir`, oldest first, with the first seq each holds.
fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut found = vec![];
    for entry in std::fs::read_dir(dir).map_err(|e| err("list", e))? {
        let path = entry.map_err(|e| err("list", e))?.path();
        let first = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(first) = first {
            found.push((first, path));
        }
    }
    found.sort();
    Ok(found)
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| err("sync directory", e))
}

/// The whole groups in the journal of `dir` after the group `after`, oldest first; a torn tail
/// is cut off the file.
pub fn read_after(dir: &Path, after: u64) -> Result<Vec<Group>, StoreError> {
    let mut out = vec![];
    for (_, path) in segments(dir)? {
        let mut bytes = vec![];
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| err("read", e))?;
        let (groups, whole) = decode(&bytes, after);
        if whole < bytes.len() {
            tracing::warn!(
                segment = %path.display(),
                dropped_bytes = bytes.len() - whole,
                "the journal ends in a torn entry (a crash while appending); cutting it off"
            );
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(|e| err("open", e))?;
            f.set_len(whole as u64).map_err(|e| err("truncate", e))?;
            f.sync_all().map_err(|e| err("sync", e))?;
        }
        out.extend(groups);
    }
    Ok(out)
}

/// The appending side: the open segment and the closed ones still needed.
pub struct Journal {
    dir: PathBuf,
    current: File,
    current_path: PathBuf,
    current_bytes: u64,
    /// Closed segments: their path and the last seq each holds.
    closed: Vec<(PathBuf, u64)>,
    next_seq: u64,
}

impl Journal {
    /// Starts a fresh segment in `dir` after the groups up to `last_seq`; every older segment
    /// must already be in DuckDB (the caller replayed them) and is removed.
    pub fn start(dir: &Path, last_seq: u64) -> Result<Self, StoreError> {
        let old = segments(dir)?;
        let next_seq = last_seq + 1;
        let (current, current_path) = Self::create(dir, next_seq)?;
        for (_, path) in old.into_iter().filter(|(_, p)| *p != current_path) {
            std::fs::remove_file(&path).map_err(|e| err("remove", e))?;
        }
        sync_dir(dir)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            current,
            current_path,
            current_bytes: 0,
            closed: vec![],
            next_seq,
        })
    }

    /// A new, empty segment whose first group will be `first`.
    fn create(dir: &Path, first: u64) -> Result<(File, PathBuf), StoreError> {
        let path = dir.join(format!("{PREFIX}{first:020}"));
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| err("create", e))?;
        Ok((file, path))
    }

    /// Appends `changes` as the next group and makes it durable; returns its seq.
    pub fn append(&mut self, changes: Vec<Change>) -> Result<Group, StoreError> {
        let group = Group {
            seq: self.next_seq,
            changes,
        };
        let entry = encode(&group)?;
        self.current
            .write_all(&entry)
            .and_then(|()| self.current.sync_data())
            .map_err(|e| err("append", e))?;
        self.next_seq += 1;
        self.current_bytes += entry.len() as u64;
        if self.current_bytes >= SEGMENT_BYTES {
            let (next, next_path) = Self::create(&self.dir, self.next_seq)?;
            sync_dir(&self.dir)?;
            self.current = next;
            let closed = std::mem::replace(&mut self.current_path, next_path);
            self.closed.push((closed, group.seq));
            self.current_bytes = 0;
        }
        Ok(group)
    }

    /// DuckDB holds every group up to `seq`: the segments entirely before it go.
    pub fn applied(&mut self, seq: u64) {
        self.closed.retain(|(path, last)| {
            if *last > seq {
                return true;
            }
            if let Err(e) = std::fs::remove_file(path) {
                tracing::warn!(segment = %path.display(), error = %e, "removing a journal segment failed");
            }
            false
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kecs_domain::ports::store::{Index, Kind, Record};

    fn put(key: &str, doc: &str) -> Change {
        Change::Put(Record {
            kind: Kind::Task,
            key: key.into(),
            doc: doc.into(),
            index: Index {
                cluster: Some("c".into()),
                revision: Some(3),
                created_at: Some(1.5),
                ..Index::default()
            },
        })
    }

    #[test]
    fn groups_come_back_in_order_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::start(dir.path(), 41).unwrap();
        let a = j.append(vec![put("a", "{}"), Change::Truncate]).unwrap();
        let b = j
            .append(vec![Change::Delete {
                kind: Kind::Cluster,
                key: "x".into(),
            }])
            .unwrap();
        assert_eq!((a.seq, b.seq), (42, 43));
        drop(j);
        // A crash in the middle of the next append.
        let (_, path) = segments(dir.path()).unwrap().pop().unwrap();
        let torn = encode(&Group {
            seq: 44,
            changes: vec![put("c", "{}")],
        })
        .unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&torn[..torn.len() - 3]).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            read_after(dir.path(), 0).unwrap(),
            vec![a.clone(), b.clone()]
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            before - (torn.len() as u64 - 3)
        );
        // Groups DuckDB holds already are left out.
        assert_eq!(read_after(dir.path(), 42).unwrap(), vec![b]);
        assert!(read_after(dir.path(), 43).unwrap().is_empty());
    }

    #[test]
    fn a_corrupt_entry_ends_the_journal() {
        let mut bytes = encode(&Group {
            seq: 1,
            changes: vec![put("a", "{}")],
        })
        .unwrap();
        let whole = bytes.len();
        bytes.extend(
            encode(&Group {
                seq: 2,
                changes: vec![],
            })
            .unwrap(),
        );
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let (groups, used) = decode(&bytes, 0);
        assert_eq!(groups.len(), 1);
        assert_eq!(used, whole);
        // Skipped, the first is still checked: the corrupt second still ends the journal.
        let (groups, used) = decode(&bytes, 1);
        assert!(groups.is_empty());
        assert_eq!(used, whole);
    }

    #[test]
    fn segments_roll_over_and_go_once_applied() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::start(dir.path(), 0).unwrap();
        let big = "x".repeat(1024 * 1024);
        let mut last = 0;
        while segments(dir.path()).unwrap().len() < 3 {
            last = j.append(vec![put("k", &big)]).unwrap().seq;
        }
        assert_eq!(j.closed.len(), 2);
        let first_closed_last = j.closed[0].1;
        j.applied(first_closed_last);
        assert_eq!(segments(dir.path()).unwrap().len(), 2);
        j.applied(last);
        assert_eq!(segments(dir.path()).unwrap().len(), 1);
        // What is left still reads back whole: the groups after the last closed segment.
        assert!(read_after(dir.path(), 0)
            .unwrap()
            .iter()
            .all(|g| g.seq > first_closed_last));
    }
}
