//! `--container-policy restricted`: what reaches beyond the container is refused with a
//! ClientException naming the field, at RegisterTaskDefinition and, for a task definition
//! registered before, at RunTask.

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{ContainerDefinition, NetworkMode};
use kecs_e2e::Server;

fn container(privileged: bool) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("app")
        .image("kecs-test/busybox:latest")
        .memory(32)
        .privileged(privileged)
        .build()
}

fn client_error<T, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> String {
    let Err(e) = r else {
        panic!("expected a ClientException")
    };
    assert_eq!(e.code(), Some("ClientException"), "{e:?}");
    e.message().unwrap_or_default().to_string()
}

#[tokio::test]
async fn restricted_refuses_privileged_and_host_access_and_permissive_allows_it() {
    let dir = tempfile::tempdir().unwrap();
    // Registered while KECS is permissive (the default).
    let kecs = Server::start_on(dir.path(), &[]).await;
    let ecs = kecs.client().await;
    ecs.create_cluster().send().await.unwrap();
    ecs.register_task_definition()
        .family("root")
        .container_definitions(container(true))
        .send()
        .await
        .unwrap();
    drop(ecs);
    kecs.stop();

    let kecs = Server::start_on(dir.path(), &["--container-policy", "restricted"]).await;
    let ecs = kecs.client().await;
    let message = client_error(
        ecs.register_task_definition()
            .family("root")
            .container_definitions(container(true))
            .send()
            .await,
    );
    assert!(
        message.starts_with("containerDefinitions[0].privileged is not allowed"),
        "{message}"
    );
    let message = client_error(
        ecs.register_task_definition()
            .family("host")
            .network_mode(NetworkMode::Host)
            .container_definitions(container(false))
            .send()
            .await,
    );
    assert!(message.starts_with("networkMode host"), "{message}");
    // The revision registered before the restart cannot run now.
    let message = client_error(ecs.run_task().task_definition("root:1").send().await);
    assert!(message.contains("privileged"), "{message}");
    // What stays inside its container is registered and runs.
    ecs.register_task_definition()
        .family("plain")
        .container_definitions(container(false))
        .send()
        .await
        .unwrap();
    let run = ecs
        .run_task()
        .task_definition("plain")
        .send()
        .await
        .unwrap();
    assert_eq!(run.tasks().len(), 1);
}
