//! Services with real containers: a task killed by hand is replaced, and a deployment whose
//! image cannot start trips the circuit breaker and rolls back.

mod docker_support;

use std::time::Duration;

use aws_sdk_ecs::types::{
    DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentRolloutState, DesiredStatus,
};
use docker_support::{docker, shell, Case};

async fn service_tasks(case: &Case) -> Vec<String> {
    case.service_tasks("svc", DesiredStatus::Running).await
}

async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..600 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn describe(case: &Case) -> aws_sdk_ecs::types::Service {
    case.describe_service("svc").await
}

#[tokio::test]
async fn a_killed_container_is_replaced_and_a_failing_deployment_rolls_back() {
    let case = Case::start("docker-svc").await;
    case.register("good", vec![shell("app", "sleep 300").build()])
        .await;
    let ghost = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("app")
        .image("kecs-test/never-built:1")
        .memory(32)
        .build();
    case.register("bad", vec![ghost]).await;
    case.ecs
        .create_service()
        .cluster(&case.cluster)
        .service_name("svc")
        .task_definition("good")
        .desired_count(2)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    until("2 tasks run", || async {
        describe(&case).await.running_count() == 2
    })
    .await;

    // Kill one task's container behind KECS's back: the service replaces the task.
    let victim = service_tasks(&case).await[0].clone();
    let task = case.describe(&victim).await;
    let id = task.containers()[0].runtime_id().unwrap().to_string();
    docker(&["kill", &id]);
    until("the killed task is replaced", || async {
        let tasks = service_tasks(&case).await;
        let s = describe(&case).await;
        tasks.len() == 2
            && !tasks.contains(&victim)
            && case.describe(&victim).await.last_status() == Some("STOPPED")
            && (s.running_count(), s.pending_count()) == (2, 0)
    })
    .await;
    let stopped = case.describe(&victim).await;
    assert_eq!(stopped.last_status(), Some("STOPPED"));

    // A deployment whose image is missing: its tasks fail, the breaker trips, and the service
    // rolls back to the good task definition, never dropping below its healthy tasks.
    case.ecs
        .update_service()
        .cluster(&case.cluster)
        .service("svc")
        .task_definition("bad")
        .send()
        .await
        .unwrap();
    until("the deployment fails and rolls back", || async {
        let s = describe(&case).await;
        assert!(
            s.running_count() >= 2,
            "below minimumHealthyPercent: {s:#?}"
        );
        s.events()
            .iter()
            .any(|e| e.message().unwrap_or_default().contains("rolling back"))
    })
    .await;
    until("the rollback completes", || async {
        let s = describe(&case).await;
        s.deployments().len() == 1
            && s.deployments()[0].rollout_state() == Some(&DeploymentRolloutState::Completed)
            && s.running_count() == 2
    })
    .await;
    let s = describe(&case).await;
    assert!(s.task_definition().unwrap().ends_with("good:1"), "{s:#?}");
    let messages: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("deployment failed: tasks failed to start")),
        "{messages:#?}"
    );

    // Delete with force: everything stops.
    case.ecs
        .delete_service()
        .cluster(&case.cluster)
        .service("svc")
        .force(true)
        .send()
        .await
        .unwrap();
    until("the service is inactive", || async {
        describe(&case).await.status() == Some("INACTIVE")
    })
    .await;
    assert!(service_tasks(&case).await.is_empty());
}

/// A rolling deployment to a new task definition, with health checks: healthy tasks never drop
/// below minimumHealthyPercent and tasks never exceed maximumPercent of the desired count.
#[tokio::test]
async fn a_rolling_deployment_keeps_the_healthy_floor() {
    let case = Case::start("docker-roll").await;
    let check = aws_sdk_ecs::types::HealthCheck::builder()
        .command("CMD-SHELL")
        .command("true")
        .interval(5)
        .timeout(2)
        .retries(1)
        .build()
        .unwrap();
    for family in ["v1", "v2"] {
        case.register(
            family,
            vec![shell("app", "sleep 300")
                .health_check(check.clone())
                .build()],
        )
        .await;
    }
    case.ecs
        .create_service()
        .cluster(&case.cluster)
        .service_name("svc")
        .task_definition("v1")
        .desired_count(2)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(100)
                .maximum_percent(150)
                .build(),
        )
        .send()
        .await
        .unwrap();
    until("v1 is steady", || async {
        let s = describe(&case).await;
        s.deployments().len() == 1
            && s.deployments()[0].rollout_state() == Some(&DeploymentRolloutState::Completed)
    })
    .await;
    case.ecs
        .update_service()
        .cluster(&case.cluster)
        .service("svc")
        .task_definition("v2")
        .send()
        .await
        .unwrap();
    let healthy_and_total = || async {
        let arns = service_tasks(&case).await;
        if arns.is_empty() {
            return (0, 0);
        }
        let tasks = case
            .ecs
            .describe_tasks()
            .cluster(&case.cluster)
            .set_tasks(Some(arns))
            .send()
            .await
            .unwrap()
            .tasks()
            .to_vec();
        let healthy = tasks
            .iter()
            .filter(|t| {
                t.last_status() == Some("RUNNING")
                    && t.health_status() == Some(&aws_sdk_ecs::types::HealthStatus::Healthy)
            })
            .count();
        (healthy, tasks.len())
    };
    let mut steps = 0;
    loop {
        let (healthy, total) = healthy_and_total().await;
        assert!(healthy >= 2, "healthy tasks fell to {healthy}");
        assert!(total <= 3, "{total} tasks, above maximumPercent");
        let s = describe(&case).await;
        if s.deployments().len() == 1
            && s.deployments()[0].rollout_state() == Some(&DeploymentRolloutState::Completed)
        {
            assert!(s.task_definition().unwrap().ends_with("v2:1"));
            break;
        }
        steps += 1;
        assert!(steps < 600, "the deployment did not complete: {s:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The containers of the case's cluster that Docker reports running.
fn running_containers(case: &Case) -> usize {
    let label = format!(
        "label=kecs.cluster=arn:aws:ecs:us-east-1:000000000000:cluster/{}",
        case.cluster
    );
    docker(&["ps", "-q", "--filter", &label])
        .lines()
        .filter(|l| !l.is_empty())
        .count()
}

/// Scaling 0 -> 3 -> 1 starts and stops real containers, and the counts say so.
#[tokio::test]
async fn scaling_zero_to_three_to_one_runs_that_many_containers() {
    let case = Case::start("docker-scale").await;
    case.register("web", vec![shell("app", "sleep 300").build()])
        .await;
    case.ecs
        .create_service()
        .cluster(&case.cluster)
        .service_name("svc")
        .task_definition("web")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    until("the empty service is steady", || async {
        let s = describe(&case).await;
        s.deployments()[0].rollout_state() == Some(&DeploymentRolloutState::Completed)
    })
    .await;
    assert_eq!(running_containers(&case), 0);
    for desired in [3, 1] {
        case.ecs
            .update_service()
            .cluster(&case.cluster)
            .service("svc")
            .desired_count(desired)
            .send()
            .await
            .unwrap();
        until(&format!("{desired} tasks run"), || async {
            let s = describe(&case).await;
            (s.desired_count(), s.running_count(), s.pending_count()) == (desired, desired, 0)
                && service_tasks(&case).await.len() == desired as usize
                && running_containers(&case) == desired as usize
        })
        .await;
    }
    let s = describe(&case).await;
    let messages: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(messages[0], "(service svc) has reached a steady state.");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("(service svc) has stopped 2 running tasks")),
        "{messages:#?}"
    );
}
