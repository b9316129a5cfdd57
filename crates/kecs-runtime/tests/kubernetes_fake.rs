//! The Kubernetes runtime against the fake API server (crates/kecs-fake-kube): namespaces,
//! pods, services and the watch, through the real kube client.

use std::time::Duration;

use futures::StreamExt;
use kecs_domain::model::{ContainerDefinition, HealthCheck, PortMapping, Task, TaskDefinition};
use kecs_domain::ports::runtime::{
    ContainerRuntime, ContainerStatus, NetworkNames, RegistryAuth, RuntimeEvent, StartedContainer,
};
use kecs_fake_kube::FakeKube;
use kecs_runtime::kubernetes::{names, KubernetesRuntime};

const CLUSTER: &str = "arn:aws:ecs:us-east-1:000000000000:cluster/fake";

async fn fake() -> (FakeKube, KubernetesRuntime) {
    let fake = FakeKube::start("127.0.0.1:0", vec!["kecs-test/busybox:latest".into()])
        .await
        .unwrap();
    let config = kube::Config::new(format!("http://{}", fake.addr).parse().unwrap());
    let runtime = KubernetesRuntime::from_config(config, "test-instance").unwrap();
    (fake, runtime)
}

fn task(id: &str, group: Option<&str>) -> Task {
    Task {
        task_arn: Some(format!("arn:aws:ecs:us-east-1:000000000000:task/fake/{id}")),
        cluster_arn: Some(CLUSTER.into()),
        group: group.map(String::from),
        ..Task::default()
    }
}

fn container(name: &str, image: &str, command: &[&str]) -> ContainerDefinition {
    ContainerDefinition {
        name: Some(name.into()),
        image: Some(image.into()),
        command: Some(command.iter().map(|c| c.to_string()).collect()),
        stop_timeout: Some(1),
        ..ContainerDefinition::default()
    }
}

fn td(defs: Vec<ContainerDefinition>) -> TaskDefinition {
    TaskDefinition {
        container_definitions: Some(defs),
        ..TaskDefinition::default()
    }
}

/// Creates every container of `td` in order (the pod goes with the last) and starts them.
async fn launch(
    rt: &KubernetesRuntime,
    task: &Task,
    td: &TaskDefinition,
) -> Result<Vec<StartedContainer>, String> {
    launch_named(rt, task, td, &NetworkNames::default()).await
}

/// [`launch`], the task answering to `names` too.
async fn launch_named(
    rt: &KubernetesRuntime,
    task: &Task,
    td: &TaskDefinition,
    names: &NetworkNames,
) -> Result<Vec<StartedContainer>, String> {
    rt.prepare_task(task, td).await.map_err(|e| e.to_string())?;
    let mut created = vec![];
    for d in td.container_definitions.iter().flatten() {
        let c = rt
            .create_container(task, td, d.name.as_deref().unwrap(), &created, None, names)
            .await
            .map_err(|e| e.to_string())?;
        created.push(c);
    }
    let mut started = vec![];
    for c in &created {
        started.push(
            rt.start_container(task, c)
                .await
                .map_err(|e| e.to_string())?,
        );
    }
    Ok(started)
}

/// `task` with its containers' runtime IDs, as KECS records them.
fn with_ids(task: &Task, started: &[StartedContainer]) -> Task {
    let mut t = task.clone();
    t.containers = Some(
        started
            .iter()
            .map(|s| kecs_domain::model::Container {
                name: Some(s.name.clone()),
                runtime_id: s.runtime_id.clone(),
                ..Default::default()
            })
            .collect(),
    );
    t
}

#[tokio::test]
async fn a_task_runs_exits_and_reports_its_exit_through_the_watch() {
    let (fake, rt) = fake().await;
    let mut events = rt.events();
    let t = task("aaaa", None);
    let d = td(vec![container(
        "app",
        "kecs-test/busybox:latest",
        &["sh", "-c", "echo hello; sleep 1; exit 7"],
    )]);
    let started = launch(&rt, &t, &d).await.unwrap();
    let id = started[0].runtime_id.clone().unwrap();
    assert_eq!(id, format!("{}/aaaa/app", names::namespace(CLUSTER)));
    assert_eq!(
        rt.container_state(&id).await.unwrap().status,
        ContainerStatus::Running
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(RuntimeEvent::Exited(e))) = events.next().await {
                return e;
            }
        }
    })
    .await
    .expect("an exit through the watch");
    assert_eq!(exit.task_arn, t.task_arn.clone().unwrap());
    assert_eq!(exit.container, "app");
    assert_eq!(exit.exit_code, Some(7));
    assert_eq!(
        rt.container_state(&id).await.unwrap().status,
        ContainerStatus::Exited(Some(7))
    );
    let lines = rt
        .logs(&with_ids(&t, &started), "app", Some(10))
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].message, "hello");
    assert!(lines[0].timestamp_ms.is_some(), "{lines:?}");
    let seen = rt.inventory().await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].container, "app");
    assert_eq!(seen[0].state.status, ContainerStatus::Exited(Some(7)));
    // The resync reads the watch's cache, not the API server.
    fake.stop().await;
    assert_eq!(rt.inventory().await.unwrap(), seen);
}

#[tokio::test]
async fn stopping_keeps_the_pod_with_exit_codes_and_removing_deletes_it() {
    let (fake, rt) = fake().await;
    let _events = rt.events();
    let t = task("bbbb", None);
    let d = td(vec![container(
        "app",
        "kecs-test/busybox:latest",
        &["sleep", "300"],
    )]);
    let started = launch(&rt, &t, &d).await.unwrap();
    let id = started[0].runtime_id.clone().unwrap();
    rt.stop_task(&t).await.unwrap();
    // sleep as PID 1 ignores SIGTERM: killed after the 1 s grace period.
    assert_eq!(
        rt.container_state(&id).await.unwrap().status,
        ContainerStatus::Exited(Some(137))
    );
    rt.remove_task(t.task_arn.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        rt.container_state(&id).await.unwrap().status,
        ContainerStatus::Missing
    );
    assert!(rt.inventory().await.unwrap().is_empty());
    rt.remove_cluster(CLUSTER).await.unwrap();
    assert!(fake
        .world
        .namespaces()
        .get(&names::namespace(CLUSTER))
        .is_err());
    fake.stop().await;
}

#[tokio::test]
async fn a_missing_image_fails_to_start_as_ecs_says() {
    let (fake, rt) = fake().await;
    let _events = rt.events();
    let t = task("cccc", None);
    let d = td(vec![container("app", "kecs-test/absent:1", &["true"])]);
    let err = launch(&rt, &t, &d).await.unwrap_err();
    assert!(err.starts_with("CannotPullContainerError: "), "{err}");
    assert!(err.contains("kecs-test/absent:1"), "{err}");
    fake.stop().await;
}

#[tokio::test]
async fn health_checks_report_through_readiness() {
    let (fake, rt) = fake().await;
    let mut events = rt.events();
    let t = task("dddd", None);
    let mut good = container("good", "kecs-test/busybox:latest", &["sleep", "300"]);
    good.health_check = Some(HealthCheck {
        command: Some(vec!["CMD-SHELL".into(), "true".into()]),
        interval: Some(1),
        ..HealthCheck::default()
    });
    launch(&rt, &t, &td(vec![good])).await.unwrap();
    let verdict = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(RuntimeEvent::Health { status, .. })) = events.next().await {
                return status;
            }
        }
    })
    .await
    .expect("a health verdict");
    assert_eq!(verdict, kecs_domain::model::HealthStatus::Healthy);
    fake.stop().await;
}

#[tokio::test]
async fn a_service_with_ports_gets_a_kubernetes_service() {
    let (fake, rt) = fake().await;
    let t = task("eeee", Some("service:Web_Front"));
    let mut web = container("web", "kecs-test/busybox:latest", &["sleep", "300"]);
    web.port_mappings = Some(vec![PortMapping {
        container_port: Some(8080),
        ..PortMapping::default()
    }]);
    let mut aliases = NetworkNames::default();
    for alias in ["backend-api", "backend.local", "web-front"] {
        aliases.add("web", alias);
    }
    launch_named(&rt, &t, &td(vec![web]), &aliases)
        .await
        .unwrap();
    let ns = names::namespace(CLUSTER);
    // A name that is a DNS label is a Service too, on the same pods; a dotted one cannot be.
    let alias = fake.world.services().get(&ns, "backend-api").unwrap();
    assert_eq!(
        alias["spec"]["selector"][names::LABEL_SERVICE],
        names::dns_label("Web_Front", 63)
    );
    assert!(fake.world.services().get(&ns, "backend.local").is_err());
    let service = fake
        .world
        .services()
        .get(&ns, &names::dns_label("Web_Front", 63))
        .unwrap();
    assert_eq!(service["spec"]["ports"][0]["port"], 8080);
    assert_eq!(
        service["spec"]["selector"][names::LABEL_SERVICE],
        names::dns_label("Web_Front", 63)
    );
    let pod = fake.world.pod(&ns, "eeee").unwrap();
    assert_eq!(
        pod.metadata.labels.unwrap()[names::LABEL_SERVICE],
        names::dns_label("Web_Front", 63)
    );
    rt.remove_service("arn:aws:ecs:us-east-1:000000000000:service/fake/Web_Front")
        .await
        .unwrap();
    assert!(fake
        .world
        .services()
        .get(&ns, &names::dns_label("Web_Front", 63))
        .is_err());
    assert!(fake.world.services().get(&ns, "backend-api").is_err());
    fake.stop().await;
}

#[tokio::test]
async fn repository_credentials_become_the_pods_image_pull_secret() {
    let (fake, rt) = fake().await;
    let t = task("ffff", None);
    let private = container("app", "registry.example.com/team/app:1", &["sleep", "300"]);
    let public = container("side", "kecs-test/busybox:latest", &["sleep", "300"]);
    let d = td(vec![private, public]);
    rt.prepare_task(&t, &d).await.unwrap();
    let auth = RegistryAuth {
        username: "robot".into(),
        password: "t0ken".into(),
    };
    let first = rt
        .create_container(&t, &d, "app", &[], Some(&auth), &NetworkNames::default())
        .await
        .unwrap();
    rt.create_container(&t, &d, "side", &[first], None, &NetworkNames::default())
        .await
        .unwrap();
    let ns = names::namespace(CLUSTER);
    let secret = fake.world.secrets().get(&ns, "ffff-registry").unwrap();
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    let config: serde_json::Value =
        serde_json::from_str(secret["stringData"][".dockerconfigjson"].as_str().unwrap()).unwrap();
    assert_eq!(
        config["auths"]["registry.example.com"],
        serde_json::json!({"username": "robot", "password": "t0ken"})
    );
    let pod = fake.world.pod(&ns, "ffff").unwrap();
    let pull_secrets = pod.spec.unwrap().image_pull_secrets.unwrap();
    assert_eq!(pull_secrets[0].name, "ffff-registry");
    rt.remove_task(t.task_arn.as_deref().unwrap())
        .await
        .unwrap();
    assert!(fake.world.secrets().get(&ns, "ffff-registry").is_err());
    fake.stop().await;
}
