//! Task sets of EXTERNAL services (and CODE_DEPLOY's first task set) through the public API,
//! with the real scheduler on an in-memory store and the emulated runtime: a blue/green shift
//! by scale, the primary task set, deletion, and the errors an external controller meets.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::runtime::NoneRuntime;
use kecs_domain::{EcsError, Kecs};
use support::{ctx, kecs_with, td};

async fn setup() -> Arc<Kecs> {
    kecs_with(Arc::new(NoneRuntime), &["blue", "green"]).await
}

async fn create_service(kecs: &Kecs, name: &str, controller: DeploymentControllerType) {
    kecs.create_service(
        &ctx(),
        CreateServiceRequest {
            service_name: Some(name.into()),
            task_definition: (controller != DeploymentControllerType::External)
                .then(|| "web:1".into()),
            desired_count: Some(4),
            deployment_controller: Some(DeploymentController {
                r#type: Some(controller),
            }),
            ..CreateServiceRequest::default()
        },
    )
    .await
    .unwrap();
}

async fn service(kecs: &Kecs, name: &str) -> Service {
    kecs.describe_services(
        &ctx(),
        DescribeServicesRequest {
            services: Some(vec![name.into()]),
            ..DescribeServicesRequest::default()
        },
    )
    .await
    .unwrap()
    .services
    .unwrap()
    .remove(0)
    .into_value()
    .unwrap()
}

/// Polls the service until `done` holds (10 s at most).
async fn wait_for(kecs: &Kecs, name: &str, what: &str, done: impl Fn(&Service) -> bool) -> Service {
    for _ in 0..200 {
        let s = service(kecs, name).await;
        if done(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for {what}: {:?}",
        service(kecs, name).await
    );
}

fn counts(s: &Service) -> Vec<(String, i32, i32)> {
    s.task_sets
        .iter()
        .flatten()
        .map(|t| {
            (
                t.task_definition.clone().unwrap_or_default(),
                t.computed_desired_count.unwrap_or(-1),
                t.running_count.unwrap_or(-1),
            )
        })
        .collect()
}

async fn create_task_set(kecs: &Kecs, td: &str, percent: f64) -> Result<TaskSet, EcsError> {
    let out = kecs
        .create_task_set(
            &ctx(),
            CreateTaskSetRequest {
                service: Some("ext".into()),
                task_definition: Some(td.into()),
                external_id: Some(format!("{td}-deploy")),
                scale: Some(Scale {
                    value: Some(percent),
                    unit: Some(ScaleUnit::Percent),
                }),
                ..CreateTaskSetRequest::default()
            },
        )
        .await?;
    Ok(out.task_set.unwrap())
}

async fn scale(kecs: &Kecs, task_set: &str, percent: f64) -> Result<TaskSet, EcsError> {
    let out = kecs
        .update_task_set(
            &ctx(),
            UpdateTaskSetRequest {
                service: Some("ext".into()),
                task_set: Some(task_set.into()),
                scale: Some(Scale {
                    value: Some(percent),
                    unit: Some(ScaleUnit::Percent),
                }),
                ..UpdateTaskSetRequest::default()
            },
        )
        .await?;
    Ok(out.task_set.unwrap())
}

#[tokio::test]
async fn an_external_controller_shifts_tasks_between_task_sets() {
    let kecs = setup().await;
    create_service(&kecs, "ext", DeploymentControllerType::External).await;
    let created = service(&kecs, "ext").await;
    assert_eq!(created.task_sets, Some(vec![]));
    assert_eq!(created.task_definition, None);

    let blue = create_task_set(&kecs, "web:1", 100.0).await.unwrap();
    assert_eq!(blue.status.as_deref(), Some("ACTIVE"));
    assert_eq!(blue.computed_desired_count, Some(4));
    assert!(blue.id.as_deref().unwrap().starts_with("ecs-svc/"));
    assert!(blue.task_set_arn.as_deref().unwrap().ends_with(&format!(
        ":task-set/default/ext/{}",
        blue.id.as_deref().unwrap()
    )));
    let blue_id = blue.id.clone().unwrap();
    let primary = kecs
        .update_service_primary_task_set(
            &ctx(),
            UpdateServicePrimaryTaskSetRequest {
                service: Some("ext".into()),
                primary_task_set: blue.task_set_arn.clone(),
                ..UpdateServicePrimaryTaskSetRequest::default()
            },
        )
        .await
        .unwrap()
        .task_set
        .unwrap();
    assert_eq!(primary.status.as_deref(), Some("PRIMARY"));
    let s = wait_for(&kecs, "ext", "blue to run", |s| {
        counts(s) == vec![(td(1), 4, 4)]
            && s.task_sets.as_ref().unwrap()[0].stability_status
                == Some(StabilityStatus::SteadyState)
    })
    .await;
    assert_eq!(s.task_definition, Some(td(1)));
    assert_eq!(s.running_count, Some(4));

    // Green at half scale: ceil(4 × 50%) = 2 more tasks, started by the task set.
    let green = create_task_set(&kecs, "web:2", 50.0).await.unwrap();
    let green_id = green.id.clone().unwrap();
    let s = wait_for(&kecs, "ext", "green to run", |s| {
        counts(s) == vec![(td(1), 4, 4), (td(2), 2, 2)]
    })
    .await;
    assert_eq!(s.running_count, Some(6));
    let tasks = kecs
        .list_tasks(
            &ctx(),
            ListTasksRequest {
                started_by: Some(green_id.clone()),
                ..ListTasksRequest::default()
            },
        )
        .await
        .unwrap()
        .task_arns
        .unwrap();
    assert_eq!(tasks.len(), 2);

    // Shift: green to 100 %, primary, blue to 0 % and deleted.
    scale(&kecs, &green_id, 100.0).await.unwrap();
    kecs.update_service_primary_task_set(
        &ctx(),
        UpdateServicePrimaryTaskSetRequest {
            service: Some("ext".into()),
            primary_task_set: Some(green_id.clone()),
            ..UpdateServicePrimaryTaskSetRequest::default()
        },
    )
    .await
    .unwrap();
    let err = kecs
        .delete_task_set(
            &ctx(),
            DeleteTaskSetRequest {
                service: Some("ext".into()),
                task_set: Some(blue_id.clone()),
                ..DeleteTaskSetRequest::default()
            },
        )
        .await;
    assert!(
        matches!(err, Err(EcsError::InvalidParameter(_))),
        "a scaled task set is deleted only with force: {err:?}"
    );
    scale(&kecs, &blue_id, 0.0).await.unwrap();
    let deleted = kecs
        .delete_task_set(
            &ctx(),
            DeleteTaskSetRequest {
                service: Some("ext".into()),
                task_set: Some(blue_id.clone()),
                ..DeleteTaskSetRequest::default()
            },
        )
        .await
        .unwrap()
        .task_set
        .unwrap();
    assert_eq!(deleted.status.as_deref(), Some("DRAINING"));
    let s = wait_for(&kecs, "ext", "blue to be gone", |s| {
        counts(s) == vec![(td(2), 4, 4)]
    })
    .await;
    assert_eq!(s.task_definition, Some(td(2)));
    assert_eq!(s.task_sets.unwrap()[0].status.as_deref(), Some("PRIMARY"));
    let described = kecs
        .describe_task_sets(
            &ctx(),
            DescribeTaskSetsRequest {
                service: Some("ext".into()),
                task_sets: Some(vec![green_id.clone(), blue_id.clone()]),
                include: Some(vec![TaskSetField::Tags]),
                ..DescribeTaskSetsRequest::default()
            },
        )
        .await
        .unwrap();
    let found = described.task_sets.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].external_id.as_deref(), Some("web:2-deploy"));
    assert_eq!(found[0].tags, Some(vec![]));
    let failures = described.failures.unwrap();
    assert_eq!(failures[0].reason.as_deref(), Some("MISSING"));
    assert!(failures[0].arn.as_deref().unwrap().ends_with(&blue_id));

    // Scaling the service scales the task sets.
    kecs.update_service(
        &ctx(),
        UpdateServiceRequest {
            service: Some("ext".into()),
            desired_count: Some(1),
            ..UpdateServiceRequest::default()
        },
    )
    .await
    .unwrap();
    wait_for(&kecs, "ext", "the scale-down", |s| {
        counts(s) == vec![(td(2), 1, 1)] && s.running_count == Some(1)
    })
    .await;
}

#[tokio::test]
async fn task_set_mistakes_get_the_errors_ecs_sends() {
    let kecs = setup().await;
    create_service(&kecs, "ext", DeploymentControllerType::External).await;
    create_service(&kecs, "ecs", DeploymentControllerType::Ecs).await;
    let err = kecs
        .create_task_set(
            &ctx(),
            CreateTaskSetRequest {
                service: Some("ecs".into()),
                task_definition: Some("web:1".into()),
                ..CreateTaskSetRequest::default()
            },
        )
        .await;
    assert!(matches!(err, Err(EcsError::InvalidParameter(_))), "{err:?}");
    assert!(matches!(
        create_task_set(&kecs, "web:1", 150.0).await,
        Err(EcsError::InvalidParameter(_))
    ));
    assert!(matches!(
        create_task_set(&kecs, "web:9", 10.0).await,
        Err(EcsError::InvalidParameter(_))
    ));
    assert_eq!(
        scale(&kecs, "ecs-svc/1234", 10.0).await.unwrap_err(),
        EcsError::TaskSetNotFound
    );
    let err = kecs
        .update_service(
            &ctx(),
            UpdateServiceRequest {
                service: Some("ext".into()),
                task_definition: Some("web:2".into()),
                ..UpdateServiceRequest::default()
            },
        )
        .await;
    assert!(matches!(err, Err(EcsError::InvalidParameter(_))), "{err:?}");
    let err = kecs
        .describe_task_sets(
            &ctx(),
            DescribeTaskSetsRequest {
                service: Some("missing".into()),
                ..DescribeTaskSetsRequest::default()
            },
        )
        .await;
    assert_eq!(err.unwrap_err(), EcsError::ServiceNotFound);
}

#[tokio::test]
async fn a_code_deploy_service_starts_from_a_primary_task_set() {
    let kecs = setup().await;
    create_service(&kecs, "cd", DeploymentControllerType::CodeDeploy).await;
    let s = wait_for(&kecs, "cd", "the primary task set to run", |s| {
        counts(s) == vec![(td(1), 4, 4)]
    })
    .await;
    let set = &s.task_sets.as_ref().unwrap()[0];
    assert_eq!(set.status.as_deref(), Some("PRIMARY"));
    assert_eq!(s.deployments, Some(vec![]));
    let newest = s.events.unwrap()[0].message.clone().unwrap();
    assert_eq!(newest, "(service cd) has reached a steady state.");
}
