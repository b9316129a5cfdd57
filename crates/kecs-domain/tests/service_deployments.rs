//! Service deployments and revisions through the public API, with the real scheduler on an
//! in-memory store: the history of a rolling update, a StopServiceDeployment rollback while the
//! new revision's tasks are still starting, and what DeleteService forgets.

use std::collections::HashSet;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::runtime::{
    ContainerRuntime, ContainerState, ContainerStatus, NetworkNames, RegistryAuth, RuntimeError,
    StartedContainer,
};
use kecs_domain::{EcsError, Kecs};
use support::{ctx, kecs_with, td};
use tokio::sync::Semaphore;

/// A runtime whose containers run once started, except that starting an image named `gated`
/// waits until the test opens the gate.
struct Gated {
    gate: Semaphore,
    stopped: Mutex<HashSet<String>>,
}

#[async_trait::async_trait]
impl ContainerRuntime for Gated {
    fn name(&self) -> &'static str {
        "gated"
    }
    async fn create_container(
        &self,
        task: &Task,
        _: &TaskDefinition,
        name: &str,
        _: &[StartedContainer],
        _: Option<&RegistryAuth>,
        _: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        Ok(StartedContainer {
            name: name.into(),
            runtime_id: task.task_arn.clone(),
            ..StartedContainer::default()
        })
    }
    async fn start_container(
        &self,
        task: &Task,
        c: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        let gated = task
            .containers
            .iter()
            .flatten()
            .any(|c| c.image.as_deref() == Some("gated"));
        if gated {
            if let Ok(permit) = self.gate.acquire().await {
                permit.forget();
            }
        }
        Ok(c.clone())
    }
    async fn container_state(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        let stopped = self.stopped.lock().unwrap().contains(id);
        Ok(ContainerState {
            status: if stopped {
                ContainerStatus::Exited(Some(0))
            } else {
                ContainerStatus::Running
            },
            health: None,
        })
    }
    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError> {
        let arn = task.task_arn.clone().unwrap_or_default();
        self.stopped.lock().unwrap().insert(arn);
        Ok(())
    }
}

async fn setup() -> (Arc<Kecs>, Arc<Gated>) {
    let runtime = Arc::new(Gated {
        gate: Semaphore::new(0),
        stopped: Mutex::default(),
    });
    (
        kecs_with(runtime.clone(), &["ready", "gated"]).await,
        runtime,
    )
}

async fn history(kecs: &Kecs) -> Vec<ServiceDeploymentBrief> {
    kecs.list_service_deployments(
        &ctx(),
        ListServiceDeploymentsRequest {
            service: Some("svc".into()),
            ..ListServiceDeploymentsRequest::default()
        },
    )
    .await
    .unwrap()
    .service_deployments
    .unwrap()
}

async fn describe(kecs: &Kecs, arn: &str) -> ServiceDeployment {
    kecs.describe_service_deployments(
        &ctx(),
        DescribeServiceDeploymentsRequest {
            service_deployment_arns: Some(vec![arn.into()]),
        },
    )
    .await
    .unwrap()
    .service_deployments
    .unwrap()
    .remove(0)
}

/// Polls the newest service deployment until `done` holds (10 s at most).
async fn wait_newest(
    kecs: &Kecs,
    what: &str,
    done: impl Fn(&ServiceDeployment) -> bool,
) -> ServiceDeployment {
    for _ in 0..200 {
        if let Some(newest) = history(kecs).await.first() {
            let d = describe(kecs, newest.service_deployment_arn.as_deref().unwrap()).await;
            if done(&d) {
                return d;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: {:?}", history(kecs).await);
}

#[tokio::test]
async fn a_rolling_update_is_recorded_and_a_stop_rolls_it_back() {
    let (kecs, runtime) = setup().await;
    kecs.create_service(
        &ctx(),
        CreateServiceRequest {
            service_name: Some("svc".into()),
            task_definition: Some("web:1".into()),
            desired_count: Some(2),
            ..CreateServiceRequest::default()
        },
    )
    .await
    .unwrap();
    let first = wait_newest(&kecs, "the first deployment to succeed", |d| {
        d.status == Some(ServiceDeploymentStatus::Successful)
    })
    .await;
    assert_eq!(first.source_service_revisions, Some(vec![]));
    let target = first.target_service_revision.clone().unwrap();
    assert_eq!(
        (target.requested_task_count, target.running_task_count),
        (Some(2), Some(2))
    );
    let first_revision = target.arn.unwrap();
    assert!(first.finished_at.is_some());

    // A completed deployment cannot be stopped.
    let arn = first.service_deployment_arn.clone().unwrap();
    let stop = |arn: String| StopServiceDeploymentRequest {
        service_deployment_arn: Some(arn),
        stop_type: Some(StopServiceDeploymentStopType::Rollback),
    };
    let err = kecs.stop_service_deployment(&ctx(), stop(arn)).await;
    assert!(matches!(err, Err(EcsError::Conflict(_))), "{err:?}");

    // The update's tasks cannot start until the gate opens: the deployment stays in progress.
    kecs.update_service(
        &ctx(),
        UpdateServiceRequest {
            service: Some("svc".into()),
            task_definition: Some("web:2".into()),
            ..UpdateServiceRequest::default()
        },
    )
    .await
    .unwrap();
    let second = wait_newest(&kecs, "the update's tasks to be pending", |d| {
        d.target_service_revision
            .as_ref()
            .and_then(|t| t.pending_task_count)
            == Some(2)
    })
    .await;
    assert_eq!(second.status, Some(ServiceDeploymentStatus::InProgress));
    let sources = second.source_service_revisions.clone().unwrap();
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0].arn.as_deref(), Some(first_revision.as_str()));
    assert_eq!(sources[0].running_task_count, Some(2));
    let second_revision = second.target_service_revision.clone().unwrap().arn.unwrap();
    let revisions = kecs
        .describe_service_revisions(
            &ctx(),
            DescribeServiceRevisionsRequest {
                service_revision_arns: Some(vec![
                    first_revision.clone(),
                    second_revision.clone(),
                    format!("{second_revision}0"),
                ]),
            },
        )
        .await
        .unwrap();
    let tds: Vec<String> = revisions
        .service_revisions
        .unwrap()
        .into_iter()
        .filter_map(|r| r.task_definition)
        .collect();
    assert_eq!(tds, vec![td(1), td(2)]);
    assert_eq!(
        revisions.failures.unwrap()[0].reason.as_deref(),
        Some("MISSING")
    );

    // Stopping it rolls back to the first revision; once the gated tasks are gone it is done.
    let arn = second.service_deployment_arn.clone().unwrap();
    kecs.stop_service_deployment(&ctx(), stop(arn.clone()))
        .await
        .unwrap();
    let rolling = describe(&kecs, &arn).await;
    assert_eq!(
        rolling.status,
        Some(ServiceDeploymentStatus::RollbackInProgress)
    );
    let rollback = rolling.rollback.unwrap();
    assert_eq!(rollback.service_revision_arn, Some(first_revision));
    runtime.gate.add_permits(100);
    let done = wait_newest(&kecs, "the rollback to succeed", |d| {
        d.status == Some(ServiceDeploymentStatus::RollbackSuccessful)
    })
    .await;
    assert_eq!(done.service_deployment_arn.as_deref(), Some(arn.as_str()));
    let service = kecs
        .describe_services(
            &ctx(),
            DescribeServicesRequest {
                services: Some(vec!["svc".into()]),
                ..DescribeServicesRequest::default()
            },
        )
        .await
        .unwrap()
        .services
        .unwrap()
        .remove(0)
        .into_value()
        .unwrap();
    assert_eq!(service.task_definition, Some(td(1)));
    assert_eq!(service.running_count, Some(2));

    // Filters: only the successful one.
    let successful = kecs
        .list_service_deployments(
            &ctx(),
            ListServiceDeploymentsRequest {
                service: Some("svc".into()),
                status: Some(vec![ServiceDeploymentStatus::Successful]),
                ..ListServiceDeploymentsRequest::default()
            },
        )
        .await
        .unwrap()
        .service_deployments
        .unwrap();
    assert_eq!(successful.len(), 1);
    assert_eq!(
        successful[0].service_deployment_arn,
        first.service_deployment_arn
    );
}

#[tokio::test]
async fn bad_requests_name_the_problem_and_deletion_forgets_the_history() {
    let (kecs, _) = setup().await;
    kecs.create_service(
        &ctx(),
        CreateServiceRequest {
            service_name: Some("svc".into()),
            task_definition: Some("web:1".into()),
            desired_count: Some(1),
            ..CreateServiceRequest::default()
        },
    )
    .await
    .unwrap();
    let newest = wait_newest(&kecs, "success", |d| {
        d.status == Some(ServiceDeploymentStatus::Successful)
    })
    .await;
    let arn = newest.service_deployment_arn.unwrap();
    let unknown = format!("{arn}9");
    let err = kecs
        .stop_service_deployment(
            &ctx(),
            StopServiceDeploymentRequest {
                service_deployment_arn: Some(unknown),
                stop_type: None,
            },
        )
        .await;
    assert!(
        matches!(err, Err(EcsError::ServiceDeploymentNotFound(_))),
        "{err:?}"
    );
    let err = kecs
        .list_service_deployments(
            &ctx(),
            ListServiceDeploymentsRequest {
                service: Some("nope".into()),
                ..ListServiceDeploymentsRequest::default()
            },
        )
        .await;
    assert_eq!(err.unwrap_err(), EcsError::ServiceNotFound);

    kecs.delete_service(
        &ctx(),
        DeleteServiceRequest {
            service: Some("svc".into()),
            force: Some(true),
            ..DeleteServiceRequest::default()
        },
    )
    .await
    .unwrap();
    for _ in 0..200 {
        let described = kecs
            .describe_service_deployments(
                &ctx(),
                DescribeServiceDeploymentsRequest {
                    service_deployment_arns: Some(vec![arn.clone()]),
                },
            )
            .await
            .unwrap();
        if described.failures.unwrap_or_default().len() == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the deleted service's deployments are still described");
}
