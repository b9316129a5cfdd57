//! Tasks as real containers on the local Docker engine (image built by scripts/test-image.sh).

mod common;

use std::process::Command;

use aws_sdk_ecs::types::{ContainerDefinition, PortMapping, TaskStopCode};
use kecs_e2e::Server;

const IMAGE: &str = "kecs-test/busybox:latest";

/// Removes every container KECS started for `cluster` when the test ends, pass or fail.
struct Cleanup(&'static str);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let out = Command::new("docker")
            .args([
                "ps",
                "-aq",
                "--filter",
                &format!(
                    "label=kecs.cluster=arn:aws:ecs:us-east-1:000000000000:cluster/{}",
                    self.0
                ),
            ])
            .output()
            .unwrap();
        for id in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("docker").args(["rm", "-f", id]).output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &format!("kecs-{}", self.0)])
            .output();
    }
}

fn docker_state(id: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Status}}", id])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn web_server_task_is_reachable_and_stops() {
    let _cleanup = Cleanup("docker-web");
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &["--runtime", "docker"]).await;
    let ecs = kecs.client().await;
    ecs.create_cluster()
        .cluster_name("docker-web")
        .send()
        .await
        .unwrap();
    let web = ContainerDefinition::builder()
        .name("web")
        .image(IMAGE)
        .command("httpd")
        .command("-f")
        .command("-p")
        .command("8080")
        .command("-h")
        .command("/www")
        .memory(64)
        // busybox httpd ignores SIGTERM as PID 1: SIGKILL follows after stopTimeout.
        .stop_timeout(2)
        .port_mappings(PortMapping::builder().container_port(8080).build())
        .build();
    ecs.register_task_definition()
        .family("web")
        .container_definitions(web)
        .send()
        .await
        .unwrap();
    let task = ecs
        .run_task()
        .cluster("docker-web")
        .task_definition("web")
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    assert_eq!(task.last_status(), Some("RUNNING"));
    let container = &task.containers()[0];
    let id = container.runtime_id().expect("runtimeId").to_string();
    assert_eq!(docker_state(&id), "running");
    let binding = container
        .network_bindings()
        .iter()
        .find(|b| b.container_port() == Some(8080))
        .expect("binding");
    let port = binding.host_port().unwrap();
    assert!(port > 0, "a dynamic host port was published");

    let mut body = String::new();
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/index.html")).await {
            body = r.text().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(body.trim(), "hello-from-kecs");

    let stopped = ecs
        .stop_task()
        .cluster("docker-web")
        .task(task.task_arn().unwrap())
        .send()
        .await
        .unwrap()
        .task
        .unwrap();
    assert_eq!(stopped.last_status(), Some("STOPPED"));
    assert_eq!(docker_state(&id), "exited");
}

#[tokio::test]
async fn missing_image_stops_the_task_with_cannot_pull() {
    let _cleanup = Cleanup("docker-missing");
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &["--runtime", "docker"]).await;
    let ecs = kecs.client().await;
    ecs.create_cluster()
        .cluster_name("docker-missing")
        .send()
        .await
        .unwrap();
    let ghost = ContainerDefinition::builder()
        .name("ghost")
        .image("kecs-test/does-not-exist:1")
        .memory(32)
        .build();
    ecs.register_task_definition()
        .family("ghost")
        .container_definitions(ghost)
        .send()
        .await
        .unwrap();
    let task = ecs
        .run_task()
        .cluster("docker-missing")
        .task_definition("ghost")
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    assert_eq!(task.last_status(), Some("STOPPED"));
    assert_eq!(task.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    assert!(
        task.stopped_reason()
            .unwrap()
            .starts_with("CannotPullContainerError"),
        "{:?}",
        task.stopped_reason()
    );
}

#[tokio::test]
async fn essential_container_exit_stops_the_task() {
    essential_exit("docker-exit", "sleep 1; exit 3").await;
}

/// A container that dies at once, possibly before the event subscription is up: the resync
/// still catches it.
#[tokio::test]
async fn immediate_essential_exit_stops_the_task() {
    essential_exit("docker-fast-exit", "exit 3").await;
}

async fn essential_exit(cluster: &'static str, script: &str) {
    use aws_sdk_ecs::client::Waiters;
    let _cleanup = Cleanup(cluster);
    let dir = tempfile::tempdir().unwrap();
    let kecs = Server::start_on(dir.path(), &["--runtime", "docker"]).await;
    let ecs = kecs.client().await;
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .unwrap();
    let app = ContainerDefinition::builder()
        .name("app")
        .image(IMAGE)
        .command("sh")
        .command("-c")
        .command(script)
        .memory(32)
        .build();
    let side = ContainerDefinition::builder()
        .name("side")
        .image(IMAGE)
        .command("sleep")
        .command("300")
        .essential(false)
        .stop_timeout(1)
        .memory(32)
        .build();
    ecs.register_task_definition()
        .family("exit")
        .container_definitions(app)
        .container_definitions(side)
        .send()
        .await
        .unwrap();
    let task = ecs
        .run_task()
        .cluster(cluster)
        .task_definition("exit")
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    let arn = task.task_arn().unwrap().to_string();
    let stopped = ecs
        .wait_until_tasks_stopped()
        .cluster(cluster)
        .tasks(&arn)
        .wait(std::time::Duration::from_secs(30))
        .await;
    let t = ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(&arn)
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .clone();
    assert!(stopped.is_ok(), "the task did not stop: {t:#?}");
    assert_eq!(t.stop_code(), Some(&TaskStopCode::EssentialContainerExited));
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
    let app = t
        .containers()
        .iter()
        .find(|c| c.name() == Some("app"))
        .unwrap();
    assert_eq!(app.exit_code(), Some(3));
    let side = t
        .containers()
        .iter()
        .find(|c| c.name() == Some("side"))
        .unwrap();
    assert_eq!(side.last_status(), Some("STOPPED"));
    assert_eq!(docker_state(side.runtime_id().unwrap()), "exited");
}
