//! Many clients writing the same things at once: revisions of one family strictly increasing
//! without gaps or duplicates, tags added to one resource from many clients all kept (no lost
//! update), one service updated from many clients without an error reaching any of them, and
//! RunTask retried with one clientToken starting its tasks once.

mod common;

use std::collections::BTreeSet;

use common::{container, tag};
use futures::future::join_all;
use kecs_e2e::Server;

const CLIENTS: usize = 16;
const EACH: usize = 10;

#[tokio::test]
async fn concurrent_writers_lose_nothing_and_see_no_conflicts() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    ecs.create_cluster()
        .cluster_name("busy")
        .send()
        .await
        .unwrap();

    // One family, many registrants.
    let revisions: Vec<i32> = join_all((0..CLIENTS).map(|_| {
        let ecs = ecs.clone();
        async move {
            let mut mine = vec![];
            for _ in 0..EACH {
                let out = ecs
                    .register_task_definition()
                    .family("shared")
                    .container_definitions(container("c"))
                    .send()
                    .await
                    .expect("RegisterTaskDefinition under contention");
                mine.push(out.task_definition().unwrap().revision());
            }
            mine
        }
    }))
    .await
    .into_iter()
    .flatten()
    .collect();
    let unique: BTreeSet<i32> = revisions.iter().copied().collect();
    let n = (CLIENTS * EACH) as i32;
    assert_eq!(
        unique.len(),
        revisions.len(),
        "duplicate revisions handed out"
    );
    assert_eq!(unique, (1..=n).collect(), "revisions with gaps");

    // Tags from many clients on one cluster: every one kept (10 × 5: ECS's limit is 50).
    join_all((0..10).map(|c| {
        let ecs = ecs.clone();
        async move {
            for i in 0..5 {
                ecs.tag_resource()
                    .resource_arn("arn:aws:ecs:us-east-1:000000000000:cluster/busy")
                    .tags(tag(&format!("k{c}-{i}"), "v"))
                    .send()
                    .await
                    .expect("TagResource under contention");
            }
        }
    }))
    .await;
    let tags = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:cluster/busy")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 50, "tags lost to concurrent updates");

    // One service, many updaters: each update lands, none fails.
    ecs.create_service()
        .cluster("busy")
        .service_name("svc")
        .task_definition("shared:1")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let finals: Vec<i32> = join_all((0..CLIENTS).map(|c| {
        let ecs = ecs.clone();
        async move {
            let mut last = 0;
            for i in 0..EACH {
                let desired = ((c + i) % 4) as i32;
                let out = ecs
                    .update_service()
                    .cluster("busy")
                    .service("svc")
                    .desired_count(desired)
                    .force_new_deployment(i % 3 == 0)
                    .send()
                    .await
                    .expect("UpdateService under contention");
                last = out.service().unwrap().desired_count();
                assert_eq!(last, desired, "an update answered with another's count");
            }
            last
        }
    }))
    .await;
    let service = ecs
        .describe_services()
        .cluster("busy")
        .services("svc")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    assert!(finals.contains(&service.desired_count()));

    // RunTask retried concurrently with one clientToken starts its tasks once.
    let runs = join_all((0..CLIENTS).map(|_| {
        let ecs = ecs.clone();
        async move {
            let out = ecs
                .run_task()
                .cluster("busy")
                .task_definition("shared:1")
                .count(2)
                .client_token("same-token")
                .send()
                .await
                .expect("RunTask with a clientToken under contention");
            let arns: BTreeSet<String> = out
                .tasks()
                .iter()
                .filter_map(|t| t.task_arn().map(str::to_string))
                .collect();
            arns
        }
    }))
    .await;
    assert!(
        runs.iter().all(|r| r == &runs[0] && r.len() == 2),
        "{runs:?}"
    );
}
