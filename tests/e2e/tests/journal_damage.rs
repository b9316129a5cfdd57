//! Damage in the middle of the journal, through the real binary: start-up refuses, naming the
//! segment and the byte offset; `--repair-journal` keeps what comes before it, reports what it
//! dropped, and serves it (with whatever DuckDB held beyond).

use std::path::PathBuf;
use std::process::Command;

use kecs_e2e::{free_port, kecs_bin, Server};

fn segments(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("kecs.journal."))
        })
        .collect();
    found.sort();
    found
}

/// Runs `kecs server` on `dir` until it exits or is ready; (exited, its stderr).
fn start_once(dir: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(kecs_bin())
        .args(["server", "--runtime", "none", "--data-dir"])
        .arg(dir)
        .args(["--api-addr", &format!("127.0.0.1:{}", free_port())])
        .args(["--admin-addr", &format!("127.0.0.1:{}", free_port())])
        .args(extra)
        .env("RUST_LOG", "warn")
        .env("KECS_LOG_FORMAT", "text")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut child = out;
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (true, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            return (false, String::from_utf8_lossy(&out.stderr).into_owned());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[tokio::test]
async fn damage_mid_journal_stops_start_up_and_the_repair_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    for name in ["one", "two", "three", "four"] {
        ecs.create_cluster()
            .cluster_name(name)
            .send()
            .await
            .unwrap();
    }
    kecs.kill();
    // A flipped byte inside the second of the segment's entries.
    let segment = segments(dir.path()).pop().expect("a journal segment");
    let mut bytes = std::fs::read(&segment).unwrap();
    let first_len = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    let offset = 8 + first_len;
    bytes[offset + 20] ^= 0x10;
    std::fs::write(&segment, &bytes).unwrap();

    let (exited, log) = start_once(dir.path(), &[]);
    assert!(exited, "started on a damaged journal: {log}");
    assert!(log.contains(&segment.display().to_string()), "{log}");
    assert!(log.contains(&format!("at byte {offset}")), "{log}");
    assert!(log.contains("--repair-journal"), "{log}");

    let kecs = Server::start_on(dir.path(), &["--repair-journal"]).await;
    let listed = kecs.client().await.list_clusters().send().await.unwrap();
    // The group before the damage is kept; the ones after it survive only where DuckDB held
    // them already (it takes groups a moment after they are acknowledged).
    let names: Vec<&str> = listed
        .cluster_arns()
        .iter()
        .map(|a| a.rsplit('/').next().unwrap())
        .collect();
    assert!(names.contains(&"one"), "{names:?}");
    assert!(names
        .iter()
        .all(|n| ["one", "two", "three", "four"].contains(n)));
}
