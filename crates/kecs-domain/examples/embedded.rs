//! KECS's ECS service embedded in a Rust program: no server, no Docker, no DuckDB. Creates a
//! cluster, registers a task definition and runs a service of three tasks to a steady state,
//! all in-process on the in-memory store and the `none` runtime.
//!
//! `cargo run -p kecs-domain --example embedded`

use std::sync::Arc;
use std::time::Duration;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::MemoryStore;
use kecs_domain::{EcsError, Kecs, RequestContext};

#[tokio::main]
async fn main() -> Result<(), EcsError> {
    let store = Arc::new(MemoryStore::new());
    let kecs = Arc::new(Kecs::open(store, Arc::new(SystemClock), Arc::new(NoneRuntime)).await?);
    // The task controller and scheduler run on the embedding program's tokio runtime.
    tokio::spawn(kecs.clone().drive_tasks());
    let ctx = RequestContext::new("us-east-1", "000000000000");

    let cluster = kecs
        .create_cluster(
            &ctx,
            CreateClusterRequest {
                cluster_name: Some("embedded".into()),
                ..Default::default()
            },
        )
        .await?
        .cluster
        .unwrap_or_default();
    println!("cluster  {}", cluster.cluster_arn.unwrap_or_default());

    let td = kecs
        .register_task_definition(
            &ctx,
            RegisterTaskDefinitionRequest {
                family: Some("web".into()),
                container_definitions: Some(vec![ContainerDefinition {
                    name: Some("web".into()),
                    image: Some("nginx:latest".into()),
                    memory: Some(128),
                    ..Default::default()
                }]),
                ..Default::default()
            },
        )
        .await?
        .task_definition
        .unwrap_or_default();
    println!("task def {}", td.task_definition_arn.unwrap_or_default());

    kecs.create_service(
        &ctx,
        CreateServiceRequest {
            cluster: Some("embedded".into()),
            service_name: Some("web".into()),
            task_definition: Some("web".into()),
            desired_count: Some(3),
            ..Default::default()
        },
    )
    .await?;

    let describe = DescribeServicesRequest {
        cluster: Some("embedded".into()),
        services: Some(vec!["web".into()]),
        ..Default::default()
    };
    for _ in 0..100 {
        let service = kecs
            .describe_services(&ctx, describe.clone())
            .await?
            .services
            .unwrap_or_default()
            .remove(0)
            .into_value()
            .map_err(|e| EcsError::internal("decoding a described service", e))?;
        let newest = service
            .events
            .iter()
            .flatten()
            .next()
            .and_then(|e| e.message.clone())
            .unwrap_or_default();
        if service.running_count == Some(3) && newest.ends_with("has reached a steady state.") {
            println!(
                "service  {} runs {} tasks: {newest}",
                service.service_name.unwrap_or_default(),
                3
            );
            let tasks = kecs
                .list_tasks(
                    &ctx,
                    ListTasksRequest {
                        cluster: Some("embedded".into()),
                        service_name: Some("web".into()),
                        ..Default::default()
                    },
                )
                .await?
                .task_arns
                .unwrap_or_default();
            assert_eq!(
                tasks.len(),
                3,
                "ListTasks disagrees with the service's count"
            );
            for t in tasks {
                println!("task     {t}");
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(EcsError::Internal {
        message: "the service never reached a steady state".into(),
        cause: None,
    })
}
