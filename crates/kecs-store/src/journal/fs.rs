//! The file operations the journal needs, behind a trait: the real files here, and in tests a
//! simulated disk that loses or tears whatever was not synced when it "crashes" (see `sim`).

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// A journal segment open for writing.
pub trait SegmentFile: Send {
    /// Writes `bytes` at `offset` (explicit offsets: after a truncation there is no cursor
    /// left pointing past the end).
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes what was written durable (`fdatasync`).
    fn sync(&mut self) -> std::io::Result<()>;
    /// Cuts the file to `len` bytes (not durable until the next [`sync`](Self::sync)).
    fn set_len(&mut self, len: u64) -> std::io::Result<()>;
}

/// The directory-level operations.
pub trait Fs: Send + Sync {
    /// The paths in `dir`.
    fn list(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>>;
    /// The whole content of `path`.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Creates `path` empty (replacing it) for writing.
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn SegmentFile>>;
    /// Opens the existing `path` for writing.
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn SegmentFile>>;
    /// Removes `path`.
    fn remove(&self, path: &Path) -> std::io::Result<()>;
    /// Makes `dir`'s entries (files created and removed) durable.
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()>;
}

/// The machine's own files.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

struct RealFile(File);

impl SegmentFile for RealFile {
    fn write_at(&mut self, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all_at(bytes, offset)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.0.sync_data()
    }
    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.0.set_len(len)
    }
}

impl Fs for RealFs {
    fn list(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect()
    }
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let mut bytes = vec![];
        File::open(path)?.read_to_end(&mut bytes)?;
        Ok(bytes)
    }
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)?;
        Ok(Box::new(RealFile(file)))
    }
    fn open(&self, path: &Path) -> std::io::Result<Box<dyn SegmentFile>> {
        Ok(Box::new(RealFile(
            OpenOptions::new().write(true).open(path)?,
        )))
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        File::open(dir)?.sync_all()
    }
}
