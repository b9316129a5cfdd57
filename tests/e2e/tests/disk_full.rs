//! A full disk: KECS's data directory on a small tmpfs, filled up while clients write. Every
//! request gets an HTTP answer (writes a 5xx ServerException, reads 200); once space is freed,
//! writes succeed again without a restart; after kill -9 and a restart every acknowledged write
//! is there and no failed one is. Needs root for `mount -t tmpfs`; elsewhere it says why it
//! skipped.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use kecs_e2e::Server;

/// Unmounts on drop, whatever the test's outcome.
struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn mount_tmpfs(at: &Path, size: &str) -> Result<Tmpfs, String> {
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(at)
        .output()
        .map_err(|e| format!("mount: {e}"))?;
    if out.status.success() {
        Ok(Tmpfs(at.to_path_buf()))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Writes zeros to `path` until the file system is full.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    // The last partial chunk too, to the last byte.
    let one = [0u8; 1];
    while f.write_all(&one).is_ok() {}
    let _ = f.sync_all();
}

/// POSTs one ECS call; (status, body). A connection closed without an answer fails the test.
async fn call(kecs: &Server, op: &str, body: String) -> (u16, String) {
    let resp = kecs
        .raw(op, body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{op}: no HTTP answer: {e}"));
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn create(kecs: &Server, name: &str) -> (u16, String) {
    // Tags make each write a few kilobytes, so the disk fills in a few dozen.
    let tags: Vec<String> = (0..40)
        .map(|i| format!(r#"{{"key":"k{i}","value":"{}"}}"#, "v".repeat(200)))
        .collect();
    let body = format!(r#"{{"clusterName":"{name}","tags":[{}]}}"#, tags.join(","));
    call(kecs, "CreateCluster", body).await
}

async fn names(kecs: &Server) -> BTreeSet<String> {
    let (status, body) = call(kecs, "ListClusters", r#"{"maxResults":100}"#.into()).await;
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["clusterArns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().rsplit('/').next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_full_disk_fails_writes_cleanly_and_they_come_back_without_a_restart() {
    let mnt = tempfile::tempdir().unwrap();
    let _tmpfs = match mount_tmpfs(mnt.path(), "24m") {
        Ok(m) => m,
        Err(why) => {
            eprintln!(
                "SKIPPED: cannot mount a tmpfs here ({why}); run as root to test a full disk"
            );
            return;
        }
    };
    let data = mnt.path().join("data");
    let kecs = Server::start_on(&data, &[]).await;
    let (mut acked, mut failed) = (BTreeSet::new(), BTreeSet::new());
    for i in 0..5 {
        let name = format!("before-{i}");
        assert_eq!(create(&kecs, &name).await.0, 200);
        acked.insert(name);
    }

    fill(&mnt.path().join("filler"));
    for i in 0..40 {
        let name = format!("full-{i}");
        let (status, body) = create(&kecs, &name).await;
        if status == 200 {
            acked.insert(name);
        } else {
            assert!(status >= 500, "{status} {body}");
            assert!(body.contains("ServerException"), "{body}");
            failed.insert(name);
        }
        // Reads go on, and never show a failed write.
        let listed = names(&kecs).await;
        assert!(
            listed.is_disjoint(&failed),
            "served a failed write: {listed:?}"
        );
    }
    assert!(!failed.is_empty(), "the disk never filled");

    std::fs::remove_file(mnt.path().join("filler")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = 0;
    while after < 5 {
        let name = format!("after-{after}-{}", failed.len());
        let (status, body) = create(&kecs, &name).await;
        if status == 200 {
            acked.insert(name);
            after += 1;
        } else {
            assert!(
                Instant::now() < deadline,
                "writes did not come back: {body}"
            );
            failed.insert(name);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let listed = names(&kecs).await;
    assert!(
        acked.is_subset(&listed),
        "missing: {:?}",
        acked.difference(&listed)
    );
    assert!(listed.is_disjoint(&failed));

    kecs.kill();
    let kecs = Server::start_on(&data, &[]).await;
    let listed = names(&kecs).await;
    assert!(
        acked.is_subset(&listed),
        "lost after a crash: {:?}",
        acked.difference(&listed)
    );
    assert!(
        listed.is_disjoint(&failed),
        "a failed write came back: {listed:?}"
    );
    eprintln!(
        "{} writes acknowledged, {} refused while full; all there after kill -9",
        acked.len(),
        failed.len()
    );
}
