//! Everything acknowledged survives a restart, a clean one and a kill -9.

mod common;

use common::{container, tag};
use kecs_e2e::Server;

async fn write_some(ecs: &aws_sdk_ecs::Client, n: usize) {
    for i in 0..n {
        ecs.create_cluster()
            .cluster_name(format!("c{i}"))
            .tags(tag("i", &i.to_string()))
            .send()
            .await
            .unwrap();
        ecs.register_task_definition()
            .family("fam")
            .container_definitions(container("c"))
            .send()
            .await
            .unwrap();
    }
}

async fn check(ecs: &aws_sdk_ecs::Client, n: usize) {
    let clusters = ecs.list_clusters().send().await.unwrap();
    assert_eq!(clusters.cluster_arns().len(), n);
    let tds = ecs
        .list_task_definitions()
        .family_prefix("fam")
        .send()
        .await
        .unwrap();
    assert_eq!(tds.task_definition_arns().len(), n);
    let tags = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:cluster/c0")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags(), [tag("i", "0")]);
}

#[tokio::test]
async fn survives_sigterm_restart() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &[]).await;
    write_some(&kecs.client().await, 5).await;
    assert!(kecs.stop().success(), "clean exit on SIGTERM");
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    check(&ecs, 5).await;
    // Revisions continue after a restart.
    let next = ecs
        .register_task_definition()
        .family("fam")
        .container_definitions(container("c"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.task_definition.unwrap().revision, 6);
}

#[tokio::test]
async fn survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &[]).await;
    write_some(&kecs.client().await, 8).await;
    kecs.kill();
    let kecs = Server::start_on(dir.path(), &[]).await;
    check(&kecs.client().await, 8).await;
}

#[tokio::test]
async fn concurrent_registrations_get_distinct_gapless_revisions() {
    let kecs = Server::start().await;
    let ecs = kecs.client().await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let ecs = ecs.clone();
            tokio::spawn(async move {
                ecs.register_task_definition()
                    .family("race")
                    .container_definitions(container("c"))
                    .send()
                    .await
                    .unwrap()
                    .task_definition
                    .unwrap()
                    .revision
            })
        })
        .collect();
    let mut revisions = vec![];
    for t in tasks {
        revisions.push(t.await.unwrap());
    }
    revisions.sort();
    assert_eq!(revisions, (1..=40).collect::<Vec<i32>>());
}
