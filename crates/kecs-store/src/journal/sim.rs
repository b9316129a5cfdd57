//! A simulated disk for the journal's power-loss tests: it remembers what was synced, can fail
//! writes and syncs on purpose, and on a "crash" keeps only what a real disk may keep: synced
//! bytes, plus any prefix of the unsynced ones (dropped, torn, or zeroed), and file names only
//! once their directory was synced (a removed name may come back).

use std::collections::BTreeMap;
use std::io::{Error, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::fs::{Fs, SegmentFile};

/// A small seeded generator (xorshift64*): each seed replays one exact run.
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

#[derive(Default, Clone)]
struct File {
    data: Vec<u8>,
    synced: Vec<u8>,
}

struct Disk {
    files: BTreeMap<PathBuf, File>,
    /// Names that survive a crash (their directory was synced since they were created).
    durable: BTreeMap<PathBuf, bool>,
    /// Removed names whose removal is not durable yet, with their synced bytes.
    ghosts: BTreeMap<PathBuf, Vec<u8>>,
    rng: Rng,
    /// Chances, per thousand operations, of an injected write or sync failure.
    fail_per_mille: u64,
    /// Operations left before the crash (`None`: no crash planned).
    crash_in: Option<u64>,
    crashed: bool,
}

/// The simulated disk; clones share it.
#[derive(Clone)]
pub(crate) struct SimFs {
    disk: Arc<Mutex<Disk>>,
    /// Syncs do nothing (to show the simulation catches a missing `fdatasync`).
    skip_sync: bool,
}

fn io(kind: ErrorKind, what: &str) -> Error {
    Error::new(kind, what.to_string())
}

impl SimFs {
    pub fn new(seed: u64, fail_per_mille: u64, crash_in: Option<u64>) -> Self {
        Self {
            disk: Arc::new(Mutex::new(Disk {
                files: BTreeMap::new(),
                durable: BTreeMap::new(),
                ghosts: BTreeMap::new(),
                rng: Rng::new(seed),
                fail_per_mille,
                crash_in,
                crashed: false,
            })),
            skip_sync: false,
        }
    }

    /// The same disk, whose syncs are skipped.
    pub fn without_sync(&self) -> Self {
        Self {
            disk: self.disk.clone(),
            skip_sync: true,
        }
    }

    /// The disk; a test that panicked holding it leaves it whole enough to read.
    fn disk(&self) -> MutexGuard<'_, Disk> {
        self.disk.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn crashed(&self) -> bool {
        self.disk().crashed
    }

    /// Power comes back: only what a disk may keep is left; faults and crashes stop.
    pub fn reboot(&self) {
        let mut disk = self.disk();
        let d = &mut *disk;
        let mut after = BTreeMap::new();
        for (path, file) in std::mem::take(&mut d.files) {
            let named = d.durable.get(&path).copied().unwrap_or(false);
            if !named && d.rng.chance(500) {
                continue;
            }
            let mut kept = file.synced.clone();
            if file.data.len() > file.synced.len() && file.data.starts_with(&file.synced) {
                let tail = &file.data[file.synced.len()..];
                let n = d.rng.below(tail.len() as u64 + 1) as usize;
                match d.rng.below(3) {
                    0 => {}
                    1 => kept.extend_from_slice(&tail[..n]),
                    _ => kept.extend(std::iter::repeat_n(0u8, n)),
                }
            } else if d.rng.chance(500) {
                kept = file.data.clone();
            }
            after.insert(
                path,
                File {
                    data: kept.clone(),
                    synced: kept,
                },
            );
        }
        for (path, synced) in std::mem::take(&mut d.ghosts) {
            if d.rng.chance(500) && !after.contains_key(&path) {
                after.insert(
                    path,
                    File {
                        data: synced.clone(),
                        synced,
                    },
                );
            }
        }
        d.durable = after.keys().map(|p| (p.clone(), true)).collect();
        d.files = after;
        d.fail_per_mille = 0;
        d.crash_in = None;
        d.crashed = false;
    }

    /// One operation: counts down to the crash, and may be chosen to fail.
    fn step(&self, may_fail: bool) -> Result<(), Error> {
        let mut d = self.disk();
        if d.crashed {
            return Err(io(ErrorKind::Other, "the machine is off"));
        }
        if let Some(left) = d.crash_in.as_mut() {
            if *left == 0 {
                d.crashed = true;
                return Err(io(ErrorKind::Other, "power lost"));
            }
            *left -= 1;
        }
        let fail = d.fail_per_mille;
        if may_fail && d.rng.chance(fail) {
            return Err(io(
                ErrorKind::StorageFull,
                "no space left on device (injected)",
            ));
        }
        Ok(())
    }
}

struct SimFile {
    fs: SimFs,
    path: PathBuf,
}

impl SegmentFile for SimFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let failed = self.fs.step(true);
        let mut d = self.fs.disk();
        // A failing write may still have written part of its bytes.
        let n = match &failed {
            Ok(()) => bytes.len(),
            Err(_) if d.crashed => 0,
            Err(_) => d.rng.below(bytes.len() as u64) as usize,
        };
        let file = d
            .files
            .get_mut(&self.path)
            .ok_or_else(|| io(ErrorKind::NotFound, "gone"))?;
        let offset = offset as usize;
        if file.data.len() < offset + n {
            file.data.resize(offset + n, 0);
        }
        file.data[offset..offset + n].copy_from_slice(&bytes[..n]);
        failed
    }

    fn sync(&mut self) -> std::io::Result<()> {
        // Only syncing new bytes fails on purpose; a cut's sync is what recovers from that.
        let grows = {
            let d = self.fs.disk();
            d.files
                .get(&self.path)
                .is_some_and(|f| f.data.len() > f.synced.len())
        };
        self.fs.step(grows)?;
        if self.fs.skip_sync {
            return Ok(());
        }
        let mut d = self.fs.disk();
        let file = d
            .files
            .get_mut(&self.path)
            .ok_or_else(|| io(ErrorKind::NotFound, "gone"))?;
        file.synced = file.data.clone();
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.fs.step(false)?;
        let mut d = self.fs.disk();
        let file = d
            .files
            .get_mut(&self.path)
            .ok_or_else(|| io(ErrorKind::NotFound, "gone"))?;
        file.data.resize(len as usize, 0);
        Ok(())
    }
}

impl Fs for SimFs {
    fn list(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        self.step(false)?;
        let d = self.disk();
        Ok(d.files
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .cloned()
            .collect())
    }
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.step(false)?;
        let d = self.disk();
        d.files
            .get(path)
            .map(|f| f.data.clone())
            .ok_or_else(|| io(ErrorKind::NotFound, "no file"))
    }
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
        self.step(false)?;
        let mut d = self.disk();
        d.files.insert(path.to_path_buf(), File::default());
        d.durable.entry(path.to_path_buf()).or_insert(false);
        Ok(Box::new(SimFile {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
        self.step(false)?;
        let d = self.disk();
        if !d.files.contains_key(path) {
            return Err(io(ErrorKind::NotFound, "no file"));
        }
        Ok(Box::new(SimFile {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        self.step(false)?;
        let mut d = self.disk();
        let file = d
            .files
            .remove(path)
            .ok_or_else(|| io(ErrorKind::NotFound, "no file"))?;
        if d.durable.remove(path).unwrap_or(false) {
            d.ghosts.insert(path.to_path_buf(), file.synced);
        }
        Ok(())
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        self.step(false)?;
        if self.skip_sync {
            return Ok(());
        }
        let mut d = self.disk();
        for (path, durable) in d.durable.iter_mut() {
            if path.parent() == Some(dir) {
                *durable = true;
            }
        }
        d.ghosts.retain(|p, _| p.parent() != Some(dir));
        Ok(())
    }
}
