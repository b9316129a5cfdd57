//! KECS restarted (cleanly or by kill -9) adopts the containers it started, catches up with
//! what happened while it was down, and removes containers of tasks it does not know.

mod docker_support;

use aws_sdk_ecs::types::TaskStopCode;
use docker_support::{container, docker, inspect, shell, Case};

#[tokio::test]
async fn a_restarted_kecs_adopts_its_tasks_and_removes_orphans() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case::start_on(dir.path(), "docker-recover").await;
    let steady = shell("app", "sleep 300").build();
    let brief = shell("app", "sleep 4; exit 5").build();
    case.register("steady", vec![steady]).await;
    case.register("brief", vec![brief]).await;
    let steady_arn = case.run("steady").await;
    let brief_arn = case.run("brief").await;
    let steady_task = case.wait_running(&steady_arn).await;
    case.wait_running(&brief_arn).await;
    let steady_id = container(&steady_task, "app")
        .runtime_id()
        .unwrap()
        .to_string();

    // A container labelled as this KECS's, for a task it never had.
    let instance = std::fs::read_to_string(dir.path().join("instance-id")).unwrap();
    let orphan = docker(&[
        "run", "-d",
        "--label", &format!("kecs.instance={}", instance.trim()),
        "--label", "kecs.cluster=arn:aws:ecs:us-east-1:000000000000:cluster/docker-recover",
        "--label", "kecs.task-arn=arn:aws:ecs:us-east-1:000000000000:task/docker-recover/0123456789abcdef0123456789abcdef",
        "--label", "kecs.container=app",
        docker_support::IMAGE, "sleep", "300",
    ]);
    assert!(!orphan.is_empty());

    // Crash, and let the brief task's container exit while KECS is down.
    let Case { kecs, .. } = case;
    kecs.kill();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;

    let case = Case::start_on(dir.path(), "docker-recover").await;
    let steady_task = case.describe(&steady_arn).await;
    assert_eq!(steady_task.last_status(), Some("RUNNING"));
    assert_eq!(
        container(&steady_task, "app").runtime_id(),
        Some(steady_id.as_str())
    );
    assert_eq!(inspect(&steady_id, "{{.State.Status}}"), "running");

    let brief_task = case.wait_stopped(&brief_arn).await;
    assert_eq!(
        brief_task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(container(&brief_task, "app").exit_code(), Some(5));
    assert_eq!(
        docker(&["ps", "-aq", "--filter", &format!("id={orphan}")]),
        "",
        "the orphan is removed"
    );

    // The adopted task is still KECS's to stop.
    case.ecs
        .stop_task()
        .cluster(&case.cluster)
        .task(&steady_arn)
        .send()
        .await
        .unwrap();
    case.wait_stopped(&steady_arn).await;
    assert_eq!(inspect(&steady_id, "{{.State.Status}}"), "exited");
}

#[tokio::test]
async fn a_graceful_restart_keeps_tasks_running() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case::start_on(dir.path(), "docker-restart").await;
    case.register("steady", vec![shell("app", "sleep 300").build()])
        .await;
    let arn = case.run("steady").await;
    let id = container(&case.wait_running(&arn).await, "app")
        .runtime_id()
        .unwrap()
        .to_string();
    let Case { kecs, .. } = case;
    assert!(kecs.stop().success());
    assert_eq!(
        inspect(&id, "{{.State.Status}}"),
        "running",
        "tasks outlive KECS"
    );
    let case = Case::start_on(dir.path(), "docker-restart").await;
    assert_eq!(case.describe(&arn).await.last_status(), Some("RUNNING"));
    assert_eq!(inspect(&id, "{{.State.Status}}"), "running");
}
