//! Crash safety: a storm of writes from several clients (RunTask, RegisterTaskDefinition,
//! CreateCluster), the server killed with SIGKILL at a pseudo-random moment, restarted on the same
//! data directory: every acknowledged write is there, no half-written resource is visible, and
//! revisions run 1..n without gaps. Twenty times over (`KECS_KILL_ROUNDS` sets how many).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::container;
use kecs_e2e::Server;

/// Rounds in the test command; `KECS_KILL_ROUNDS=100` runs the longer storm the README reports.
fn kills() -> u64 {
    std::env::var("KECS_KILL_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20)
}
const WRITERS: usize = 6;

/// What the server acknowledged.
#[derive(Default, Clone)]
struct Acked {
    tasks: BTreeSet<String>,
    clusters: BTreeSet<String>,
    /// Highest revision acknowledged per family.
    revisions: BTreeMap<String, i32>,
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

async fn storm(ecs: aws_sdk_ecs::Client, writer: usize, round: u64, acked: Arc<Mutex<Acked>>) {
    for n in 0.. {
        let result = match n % 3 {
            0 => ecs
                .run_task()
                .cluster("crash")
                .task_definition("base")
                .count(1 + (n / 3) % 3)
                .send()
                .await
                .map(|out| {
                    let arns = out.tasks().iter().filter_map(|t| t.task_arn());
                    acked.lock().unwrap().tasks.extend(arns.map(str::to_string));
                })
                .map_err(|e| e.to_string()),
            1 => {
                let family = format!("fam-{writer}");
                ecs.register_task_definition()
                    .family(&family)
                    .container_definitions(container("c"))
                    .send()
                    .await
                    .map(|out| {
                        let revision = out.task_definition().map(|t| t.revision()).unwrap_or(0);
                        let mut acked = acked.lock().unwrap();
                        let highest = acked.revisions.entry(family).or_insert(0);
                        *highest = (*highest).max(revision);
                    })
                    .map_err(|e| e.to_string())
            }
            _ => ecs
                .create_cluster()
                .cluster_name(format!("c-{round}-{writer}-{n}"))
                .send()
                .await
                .map(|out| {
                    if let Some(arn) = out.cluster().and_then(|c| c.cluster_arn()) {
                        acked.lock().unwrap().clusters.insert(arn.to_string());
                    }
                })
                .map_err(|e| e.to_string()),
        };
        if result.is_err() {
            // The server is gone: this writer is done.
            return;
        }
    }
}

async fn verify(ecs: &aws_sdk_ecs::Client, acked: &Acked, round: u64) {
    let tasks: Vec<String> = acked.tasks.iter().cloned().collect();
    for chunk in tasks.chunks(100) {
        let out = ecs
            .describe_tasks()
            .cluster("crash")
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        assert!(
            out.failures().is_empty(),
            "round {round}: acknowledged tasks lost: {:?}",
            out.failures()
        );
        for t in out.tasks() {
            // Whole, not half-written: running, in its cluster, of a task definition that exists.
            assert_eq!(t.last_status(), Some("RUNNING"), "round {round}: {t:?}");
            assert!(t
                .cluster_arn()
                .unwrap_or_default()
                .ends_with(":cluster/crash"));
            assert!(t
                .task_definition_arn()
                .unwrap_or_default()
                .ends_with("/base:1"));
            assert!(
                !t.containers().is_empty(),
                "round {round}: task without containers"
            );
        }
    }
    let clusters: Vec<String> = acked.clusters.iter().cloned().collect();
    for chunk in clusters.chunks(100) {
        let out = ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        assert!(
            out.failures().is_empty(),
            "round {round}: acknowledged clusters lost: {:?}",
            out.failures()
        );
        assert!(out.clusters().iter().all(|c| c.status() == Some("ACTIVE")));
    }
    for (family, highest) in &acked.revisions {
        let mut revisions = vec![];
        let mut token = None;
        loop {
            let out = ecs
                .list_task_definitions()
                .family_prefix(family)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            revisions.extend(
                out.task_definition_arns()
                    .iter()
                    .filter_map(|a| a.rsplit(':').next()?.parse::<i32>().ok()),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let n = revisions.len() as i32;
        assert!(n >= *highest, "round {round}: {family} lost revisions");
        assert_eq!(
            revisions,
            (1..=n).collect::<Vec<_>>(),
            "round {round}: {family} revisions have gaps or duplicates"
        );
    }
}

#[tokio::test]
async fn every_acknowledged_write_survives_kill_9_mid_storm() {
    // A kill -9 can cut the conformance log's last line in half: these servers keep none.
    std::env::remove_var("KECS_CONFORMANCE_DIR");
    let dir = tempfile::tempdir().unwrap();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    {
        let kecs = Server::start_on(dir.path(), &[]).await;
        let ecs = kecs.client().await;
        ecs.create_cluster()
            .cluster_name("crash")
            .send()
            .await
            .unwrap();
        ecs.register_task_definition()
            .family("base")
            .container_definitions(container("c"))
            .send()
            .await
            .unwrap();
        kecs.kill();
    }
    let begun = Instant::now();
    let kills = kills();
    for round in 0..kills {
        let kecs = Server::start_on(dir.path(), &[]).await;
        let ecs = kecs.client().await;
        let so_far = acked.lock().unwrap().clone();
        verify(&ecs, &so_far, round).await;
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| tokio::spawn(storm(ecs.clone(), w, round, acked.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(20 + next(&mut seed) % 300)).await;
        kecs.kill();
        for w in writers {
            w.await.unwrap();
        }
    }
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    let acked = acked.lock().unwrap().clone();
    verify(&ecs, &acked, kills).await;
    assert!(
        acked.tasks.len() > 100 && acked.revisions.values().sum::<i32>() > 50,
        "the storm wrote too little to prove anything: {} tasks",
        acked.tasks.len()
    );
    println!(
        "{kills} kills in {:.1} s: {} tasks, {} clusters, {} revisions acknowledged and found",
        begun.elapsed().as_secs_f64(),
        acked.tasks.len(),
        acked.clusters.len(),
        acked.revisions.values().sum::<i32>()
    );
}
