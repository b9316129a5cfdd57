//! New IDs come from the ID port: with predictable IDs, a task's ID and its service's
//! deployment ID are predictable too.

use std::sync::Arc;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::ids::SequentialIds;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::ports::store::MemoryStore;
use kecs_domain::Kecs;

mod support;
use support::{ctx, prepare};

#[tokio::test]
async fn task_and_deployment_ids_come_from_the_id_port() {
    let kecs = Kecs::open_with_ids(
        Arc::new(MemoryStore::new()),
        Arc::new(SystemClock),
        Arc::new(NoneRuntime),
        Arc::new(SequentialIds::default()),
    )
    .await
    .unwrap();
    prepare(&kecs, &["app"]).await;
    let ctx = ctx();
    let task = kecs
        .run_task(
            &ctx,
            RunTaskRequest {
                task_definition: Some("web".into()),
                ..RunTaskRequest::default()
            },
        )
        .await
        .unwrap()
        .tasks
        .unwrap()
        .remove(0);
    let id = task
        .task_arn
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    // A few IDs went to the earlier writes' events; the task's is the next one.
    let n = u128::from_str_radix(&id, 16).unwrap();
    assert!(id.len() == 32 && (1..20).contains(&n), "task ID {id}");
    let service = kecs
        .create_service(
            &ctx,
            CreateServiceRequest {
                service_name: Some("s".into()),
                task_definition: Some("web".into()),
                desired_count: Some(0),
                ..CreateServiceRequest::default()
            },
        )
        .await
        .unwrap()
        .service
        .unwrap();
    let deployment = service.deployments.unwrap()[0].id.clone().unwrap();
    let digits = deployment.strip_prefix("ecs-svc/").unwrap();
    assert_eq!(digits.len(), 19, "{deployment}");
    assert!(digits.parse::<u128>().unwrap() < 100, "{deployment}");
}
