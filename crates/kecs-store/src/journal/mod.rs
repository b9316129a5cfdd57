//! The journal: an append-only file of committed change groups in front of DuckDB.
//!
//! A group of writes is acknowledged once it is appended here and `fdatasync`ed (a fraction of a
//! millisecond), not once DuckDB has committed it (milliseconds per transaction, whatever its
//! size). DuckDB then takes the changes in large transactions behind, recording the last group it
//! holds (`journal_applied`), and at open every group after that one is applied again: an
//! acknowledged write survives `kill -9` and power loss either way.
//!
//! Entries are laid out as `scan.rs` describes. Segments (`kecs.journal.<first seq>`) roll over at
//! [`SEGMENT_BYTES`] and are deleted once DuckDB holds all of their groups.
//!
//! Faults: an append that fails (a full disk, an I/O error) is cut off the segment before anything
//! else is appended, so a failed group never reappears; until the cut succeeds the journal refuses
//! appends. At start, a torn entry at the very end (a crash mid-append) is cut off; damage
//! anywhere else, or a gap in the group numbers, stops start-up naming the file and offset,
//! unless [`OnDamage::Repair`] keeps what comes before it and reports what it dropped.

mod fs;
mod scan;
#[cfg(test)]
mod sim;

pub use fs::{Fs, RealFs, SegmentFile};
pub use scan::Group;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kecs_domain::ports::store::{Change, StoreError};
use scan::{encode, End};

/// A segment is closed (and a new one started) past this size.
pub const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
const PREFIX: &str = "kecs.journal.";

/// A journal file operation `what` failed.
fn err(what: &str, e: std::io::Error) -> StoreError {
    StoreError::io(format!("journal: {what}"), e)
}

/// The segments in `dir`, oldest first, with the first seq each holds.
fn segments(fs: &dyn Fs, dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut found = vec![];
    for path in fs.list(dir).map_err(|e| err("list", e))? {
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

/// Cuts `path` to `len` bytes, durably.
fn cut(fs: &dyn Fs, path: &Path, len: usize) -> Result<(), StoreError> {
    let mut file = fs.open(path).map_err(|e| err("open", e))?;
    file.set_len(len as u64)
        .and_then(|()| file.sync())
        .map_err(|e| err("truncate", e))
}

/// What to do with damage found at start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OnDamage {
    /// Stop, naming the file and offset.
    #[default]
    Refuse,
    /// Keep every group before the damage, drop the rest, and report it.
    Repair,
}

/// What start-up found in the journal.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The groups after the one asked for, oldest first.
    pub groups: Vec<Group>,
    /// What a repair dropped, one line per damage.
    pub repairs: Vec<String>,
}

/// The whole groups in the journal of `dir` after the group `after`, oldest first. A torn tail
/// of the last segment is cut off; other damage, or a gap in the groups, is refused or repaired
/// as `on_damage` says.
pub fn recover(
    fs: &dyn Fs,
    dir: &Path,
    after: u64,
    on_damage: OnDamage,
) -> Result<Recovered, StoreError> {
    let segments = segments(fs, dir)?;
    let mut out = Recovered::default();
    let mut expected = after + 1;
    for (i, (_, path)) in segments.iter().enumerate() {
        let bytes = fs.read(path).map_err(|e| err("read", e))?;
        let scan = scan::scan(&bytes, after);
        let mut damage = None;
        let mut kept = 0;
        for (offset, group) in &scan.groups {
            if group.seq != expected {
                damage = Some((
                    *offset,
                    format!(
                        "group {} where group {expected} should be: groups are missing",
                        group.seq
                    ),
                ));
                break;
            }
            expected += 1;
            kept += 1;
        }
        let last = i + 1 == segments.len();
        // (Not `Option::or`: the torn tail is cut only when nothing before it is wrong.)
        if damage.is_none() {
            damage = match scan.end {
                End::Clean => None,
                End::Torn if last => {
                    tracing::warn!(
                        segment = %path.display(),
                        dropped_bytes = bytes.len() - scan.whole,
                        "the journal ends in a torn entry (a crash while appending); cutting it off"
                    );
                    cut(fs, path, scan.whole)?;
                    None
                }
                End::Torn => Some((scan.whole, "a torn entry before the last segment".into())),
                End::Corrupt(why) => Some((scan.whole, why)),
            };
        }
        out.groups
            .extend(scan.groups.into_iter().take(kept).map(|(_, g)| g));
        let Some((offset, why)) = damage else {
            continue;
        };
        // Damage in a segment whose groups DuckDB holds already changes nothing.
        let next_first = segments.get(i + 1).map(|(first, _)| *first);
        if kept == 0 && next_first.is_some_and(|first| first <= after + 1) {
            tracing::warn!(segment = %path.display(), offset, reason = %why,
                "damage in a journal segment DuckDB holds entirely; ignored");
            continue;
        }
        let later = &segments[i + 1..];
        let report = format!(
            "journal segment {} is damaged at byte {offset} ({why}): {} byte(s) from there and {} later segment(s) {}",
            path.display(),
            bytes.len() - offset,
            later.len(),
            match on_damage {
                OnDamage::Refuse => "cannot be read",
                OnDamage::Repair => "were dropped",
            }
        );
        if on_damage == OnDamage::Refuse {
            return Err(StoreError::corrupt(format!(
                "{report}; the {} group(s) before it are whole. Start with --repair-journal to keep them and drop the rest",
                out.groups.len()
            )));
        }
        cut(fs, path, offset)?;
        for (_, path) in later {
            fs.remove(path).map_err(|e| err("remove", e))?;
        }
        fs.sync_dir(dir).map_err(|e| err("sync directory", e))?;
        tracing::warn!("{report}");
        out.repairs.push(report);
        break;
    }
    Ok(out)
}

/// The appending side: the open segment and the closed ones still needed.
pub struct Journal {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    current: Box<dyn SegmentFile>,
    current_path: PathBuf,
    /// The length of the current segment's whole, durable entries.
    current_bytes: u64,
    /// Bytes past `current_bytes` may be on disk (an append failed): cut them before appending.
    damaged: bool,
    /// Closed segments: their path and the last seq each holds.
    closed: Vec<(PathBuf, u64)>,
    next_seq: u64,
    /// Past this size the segment is closed.
    segment_bytes: u64,
}

impl Journal {
    /// Starts a fresh segment in `dir` after the groups up to `last_seq`; every older segment
    /// must already be in DuckDB (the caller replayed them) and is removed.
    pub fn start(fs: Arc<dyn Fs>, dir: &Path, last_seq: u64) -> Result<Self, StoreError> {
        let old = segments(fs.as_ref(), dir)?;
        let next_seq = last_seq + 1;
        let (current, current_path) = Self::create(fs.as_ref(), dir, next_seq)?;
        for (_, path) in old.into_iter().filter(|(_, p)| *p != current_path) {
            fs.remove(&path).map_err(|e| err("remove", e))?;
        }
        fs.sync_dir(dir).map_err(|e| err("sync directory", e))?;
        Ok(Self {
            fs,
            dir: dir.to_path_buf(),
            current,
            current_path,
            current_bytes: 0,
            damaged: false,
            closed: vec![],
            next_seq,
            segment_bytes: SEGMENT_BYTES,
        })
    }

    /// A new, empty segment whose first group will be `first` (the caller syncs the directory).
    fn create(
        fs: &dyn Fs,
        dir: &Path,
        first: u64,
    ) -> Result<(Box<dyn SegmentFile>, PathBuf), StoreError> {
        let path = dir.join(format!("{PREFIX}{first:020}"));
        let file = fs.create(&path).map_err(|e| err("create", e))?;
        Ok((file, path))
    }

    /// Segments close past `bytes` (small segments for tests).
    #[cfg(test)]
    fn with_segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// Appends `changes` as the next group and makes it durable; returns it. On failure nothing
    /// of it stays in the journal (or, if it cannot be cut off yet, nothing more is appended).
    pub fn append(&mut self, changes: Vec<Change>) -> Result<Group, StoreError> {
        self.cut_damage()?;
        let group = Group {
            seq: self.next_seq,
            changes,
        };
        let entry = encode(&group)?;
        let written = self
            .current
            .write_at(self.current_bytes, &entry)
            .and_then(|()| self.current.sync());
        if let Err(e) = written {
            self.damaged = true;
            if let Err(cut) = self.cut_damage() {
                tracing::error!(error = %cut, "cutting a failed append off the journal failed; appends wait for it");
            }
            return Err(err("append", e));
        }
        self.next_seq += 1;
        self.current_bytes += entry.len() as u64;
        if self.current_bytes >= self.segment_bytes {
            // The group is durable whatever happens here: a failed roll-over is tried again later.
            if let Err(e) = self.roll_over(group.seq) {
                tracing::warn!(error = %e, "starting a new journal segment failed; the current one goes on");
            }
        }
        Ok(group)
    }

    /// Cuts what a failed append may have left past the last whole entry.
    fn cut_damage(&mut self) -> Result<(), StoreError> {
        if !self.damaged {
            return Ok(());
        }
        self.current
            .set_len(self.current_bytes)
            .and_then(|()| self.current.sync())
            .map_err(|e| err("cut a failed append off", e))?;
        self.damaged = false;
        Ok(())
    }

    /// Closes the current segment (its last group is `last`) and starts the next.
    fn roll_over(&mut self, last: u64) -> Result<(), StoreError> {
        let (next, next_path) = Self::create(self.fs.as_ref(), &self.dir, self.next_seq)?;
        if let Err(e) = self.fs.sync_dir(&self.dir) {
            // Not durable as a name: appending there could lose acknowledged groups.
            let _ = self.fs.remove(&next_path);
            return Err(err("sync directory", e));
        }
        self.current = next;
        let closed = std::mem::replace(&mut self.current_path, next_path);
        self.closed.push((closed, last));
        self.current_bytes = 0;
        Ok(())
    }

    /// DuckDB holds every group up to `seq`: the segments entirely before it go.
    pub fn applied(&mut self, seq: u64) {
        let fs = self.fs.clone();
        self.closed.retain(|(path, last)| {
            if *last > seq {
                return true;
            }
            if let Err(e) = fs.remove(path) {
                tracing::warn!(segment = %path.display(), error = %e, "removing a journal segment failed");
            }
            false
        });
    }
}

#[cfg(test)]
mod tests {
    use super::sim::{Rng, SimFs};
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

    fn real() -> Arc<dyn Fs> {
        Arc::new(RealFs)
    }

    fn read(dir: &Path, after: u64) -> Result<Vec<Group>, StoreError> {
        recover(&RealFs, dir, after, OnDamage::Refuse).map(|r| r.groups)
    }

    fn segment_files(dir: &Path) -> Vec<(u64, PathBuf)> {
        segments(&RealFs, dir).unwrap()
    }

    #[test]
    fn groups_come_back_in_order_and_a_torn_tail_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::start(real(), dir.path(), 41).unwrap();
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
        let (_, path) = segment_files(dir.path()).pop().unwrap();
        let torn = encode(&Group {
            seq: 44,
            changes: vec![put("c", "{}")],
        })
        .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        RealFs
            .open(&path)
            .unwrap()
            .write_at(before, &torn[..torn.len() - 3])
            .unwrap();
        // DuckDB holds up to 41.
        assert_eq!(read(dir.path(), 41).unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
        // Groups DuckDB holds already are left out.
        assert_eq!(read(dir.path(), 42).unwrap(), vec![b]);
        assert!(read(dir.path(), 43).unwrap().is_empty());
    }

    /// Writes a segment named after `seqs[0]` holding those groups; returns its path and the
    /// offset of each entry.
    fn segment(dir: &Path, seqs: &[u64]) -> (PathBuf, Vec<usize>) {
        let path = dir.join(format!("{PREFIX}{:020}", seqs[0]));
        let (mut bytes, mut offsets) = (vec![], vec![]);
        for seq in seqs {
            offsets.push(bytes.len());
            bytes.extend(
                encode(&Group {
                    seq: *seq,
                    changes: vec![put(&format!("k{seq}"), "{}")],
                })
                .unwrap(),
            );
        }
        std::fs::write(&path, bytes).unwrap();
        (path, offsets)
    }

    #[test]
    fn damage_in_the_middle_stops_start_up_and_a_repair_keeps_what_comes_before() {
        let dir = tempfile::tempdir().unwrap();
        let (path, offsets) = segment(dir.path(), &[1, 2, 3]);
        let (later, _) = segment(dir.path(), &[4, 5]);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offsets[1] + 20] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();

        let refused = read(dir.path(), 0).unwrap_err().to_string();
        assert!(refused.contains(&path.display().to_string()), "{refused}");
        assert!(
            refused.contains(&format!("at byte {}", offsets[1])),
            "{refused}"
        );
        assert!(refused.contains("--repair-journal"), "{refused}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "a refusal changes nothing"
        );

        let repaired = recover(&RealFs, dir.path(), 0, OnDamage::Repair).unwrap();
        assert_eq!(
            repaired.groups.iter().map(|g| g.seq).collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(repaired.repairs.len(), 1);
        assert!(repaired.repairs[0].contains("1 later segment(s) were dropped"));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), offsets[1] as u64);
        assert!(!later.exists());
        assert_eq!(read(dir.path(), 0).unwrap().len(), 1, "whole again");
    }

    #[test]
    fn a_gap_in_the_groups_stops_start_up() {
        let dir = tempfile::tempdir().unwrap();
        segment(dir.path(), &[1, 2]);
        let (later, _) = segment(dir.path(), &[5, 6]);
        let refused = read(dir.path(), 0).unwrap_err().to_string();
        assert!(
            refused.contains("group 5 where group 3 should be"),
            "{refused}"
        );
        assert!(refused.contains(&later.display().to_string()), "{refused}");
        // DuckDB holding up to 4 closes the gap.
        assert_eq!(read(dir.path(), 4).unwrap().len(), 2);
        let repaired = recover(&RealFs, dir.path(), 0, OnDamage::Repair).unwrap();
        assert_eq!(repaired.groups.len(), 2);
        assert_eq!(std::fs::metadata(&later).unwrap().len(), 0);
    }

    #[test]
    fn segments_roll_over_and_go_once_applied() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::start(real(), dir.path(), 0)
            .unwrap()
            .with_segment_bytes(4096);
        let big = "x".repeat(1024);
        let mut last = 0;
        while segment_files(dir.path()).len() < 3 {
            last = j.append(vec![put("k", &big)]).unwrap().seq;
        }
        assert_eq!(j.closed.len(), 2);
        let first_closed_last = j.closed[0].1;
        j.applied(first_closed_last);
        assert_eq!(segment_files(dir.path()).len(), 2);
        // What is left reads back whole: every group after the removed segment.
        let left: Vec<u64> = read(dir.path(), first_closed_last)
            .unwrap()
            .iter()
            .map(|g| g.seq)
            .collect();
        assert_eq!(left, (first_closed_last + 1..=last).collect::<Vec<_>>());
        j.applied(last);
        assert_eq!(segment_files(dir.path()).len(), 1);
    }

    #[test]
    fn a_failed_append_is_cut_off_and_the_next_lands_after_the_last_good_entry() {
        let dir = Path::new("/sim");
        // Every write and sync of new bytes fails until the disk has room again.
        let fs = SimFs::new(7, 1000, None);
        let mut j = Journal::start(Arc::new(fs.clone()), dir, 0).unwrap();
        assert!(j.append(vec![put("lost", "{}")]).is_err());
        assert!(j.append(vec![put("lost-too", "{}")]).is_err());
        fs.reboot(); // stops the faults; the journal object lives on as if nothing happened
        let mut j2 = Journal::start(Arc::new(fs.clone()), dir, 0).unwrap();
        let kept = j2.append(vec![put("kept", "{}")]).unwrap();
        assert_eq!(kept.seq, 1, "a failed append takes no number");
        assert_eq!(
            recover(&fs, dir, 0, OnDamage::Refuse).unwrap().groups,
            vec![kept]
        );
        drop(j);
    }

    /// One power-loss run: appends (some failing on purpose, some segments rolling over, DuckDB
    /// taking groups behind) until the power goes at a random operation. Returns the groups
    /// acknowledged, the one in flight, and what the journal holds after the reboot.
    fn power_loss_run(seed: u64, skip_sync: bool) -> Result<(), String> {
        let dir = Path::new("/data");
        let mut rng = Rng::new(seed ^ 0xabcdef);
        let disk = SimFs::new(seed, 50, Some(rng.below(400)));
        let fs: Arc<dyn Fs> = if skip_sync {
            Arc::new(disk.without_sync())
        } else {
            Arc::new(disk.clone())
        };
        let mut acked: Vec<Group> = vec![];
        let mut in_flight = None;
        let mut applied = 0; // what DuckDB holds: durable on its own
        if let Ok(j) = Journal::start(fs.clone(), dir, 0) {
            let mut j = j.with_segment_bytes(300 + rng.below(600));
            for n in 0.. {
                let changes = vec![put(&format!("k{n}"), &"v".repeat(rng.below(80) as usize))];
                match j.append(changes.clone()) {
                    Ok(g) => acked.push(g),
                    Err(_) if disk.crashed() => {
                        in_flight = Some(changes);
                        break;
                    }
                    Err(_) => {}
                }
                if rng.chance(200) && !acked.is_empty() {
                    applied = acked[rng.below(acked.len() as u64) as usize]
                        .seq
                        .max(applied);
                    j.applied(applied);
                }
            }
        }
        disk.reboot();
        let found = recover(&disk, dir, applied, OnDamage::Refuse)
            .map_err(|e| format!("seed {seed}: {e}"))?
            .groups;
        let want: Vec<&Group> = acked.iter().filter(|g| g.seq > applied).collect();
        let whole = found.len() >= want.len() && found.iter().zip(&want).all(|(f, w)| f == *w);
        // Beyond the acknowledged groups, only the one in flight may have made it.
        let extra = &found[want.len().min(found.len())..];
        let extra_ok =
            extra.is_empty() || (extra.len() == 1 && Some(&extra[0].changes) == in_flight.as_ref());
        if whole && extra_ok {
            Ok(())
        } else {
            Err(format!(
                "seed {seed}: acknowledged {:?}, found {:?}",
                want.iter().map(|g| g.seq).collect::<Vec<_>>(),
                found.iter().map(|g| g.seq).collect::<Vec<_>>()
            ))
        }
    }

    #[test]
    fn power_loss_at_any_point_keeps_every_acknowledged_group_and_no_failed_one() {
        for seed in 0..3000 {
            power_loss_run(seed, false).unwrap();
        }
    }

    #[test]
    fn the_power_loss_simulation_catches_a_missing_sync() {
        let lost = (0..300)
            .filter(|seed| power_loss_run(*seed, true).is_err())
            .count();
        assert!(
            lost > 0,
            "without fdatasync some run must lose acknowledged groups"
        );
    }
}
