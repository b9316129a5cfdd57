//! What KECS keeps in its data directory besides the store: its instance ID and the key of
//! task credentials IDs, each written so that a crash leaves the old file or the whole new one.

use std::path::Path;

use crate::error::ServerError;

/// The value kept in the file `name` of the data directory: read when it holds at least
/// `min_len` characters, else `fresh()` written there durably (never kept for `:memory:`).
fn kept(
    data_dir: &str,
    name: &str,
    min_len: usize,
    fresh: impl Fn() -> String,
) -> Result<String, ServerError> {
    if data_dir == ":memory:" {
        return Ok(fresh());
    }
    let path = Path::new(data_dir).join(name);
    if let Ok(value) = std::fs::read_to_string(&path) {
        if value.trim().len() >= min_len {
            return Ok(value.trim().to_string());
        }
    }
    let value = fresh();
    write_durably(&path, value.as_bytes())
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))?;
    Ok(value)
}

/// The name this KECS labels its containers with, so that it adopts (and cleans up) only its
/// own: kept in the data directory, so a restart on the same data is the same instance.
pub(crate) fn instance_id(data_dir: &str) -> Result<String, ServerError> {
    kept(data_dir, "instance-id", 1, || {
        uuid::Uuid::new_v4().simple().to_string()
    })
}

/// The secret key of task credentials IDs: kept in the data directory, as running containers
/// keep the credentials URI they were given across a restart.
pub(crate) fn endpoint_key(data_dir: &str) -> Result<Vec<u8>, ServerError> {
    let key = kept(data_dir, "task-endpoints.key", 32, || {
        let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        format!("{}{}", a.simple(), b.simple())
    })?;
    Ok(key.into_bytes())
}

/// Writes `contents` to `path` so that a crash leaves either the old file or the whole new one:
/// a temporary file synced to disk, renamed over `path`, then the directory synced (the rename).
fn write_durably(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_instance_id_is_kept_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("kecs-instance-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data_dir = dir.to_string_lossy().into_owned();
        let first = instance_id(&data_dir).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(
            instance_id(&data_dir).unwrap(),
            first,
            "a restart is the same instance"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("instance-id")).unwrap(),
            first
        );
        assert!(!dir.join("instance-id.tmp").exists());
        assert_ne!(instance_id(":memory:").unwrap(), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_endpoint_key_is_kept_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("kecs-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data_dir = dir.to_string_lossy().into_owned();
        let first = endpoint_key(&data_dir).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(
            endpoint_key(&data_dir).unwrap(),
            first,
            "kept across restarts"
        );
        assert_ne!(endpoint_key(":memory:").unwrap(), first);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
