//! Services that find each other by name on the Docker runtime: `frontend` reaches `backend`
//! by its Service Connect client alias and discovery name, its Cloud Map name and its service
//! name; once backend's task stops, none of the names answers.

mod docker_support;

use aws_sdk_ecs::types::{
    ClusterServiceConnectDefaultsRequest, DesiredStatus, PortMapping, ServiceConnectClientAlias,
    ServiceConnectConfiguration, ServiceConnectService, ServiceRegistry,
};
use docker_support::{shell, Case};

/// Every name backend answers to, in the order frontend tries them.
const NAMES: [&str; 6] = [
    "backend.internal",
    "backend-api",
    "backend-api.local",
    "backend",
    "backend.local",
    "BACKEND.Internal",
];

/// A shell loop that fetches backend's page by each name (printing `ok <name>` or
/// `fail <name>`), then `done`. The name is resolved with nslookup (the engine's DNS) and the
/// page asked with nc: busybox-static's wget crashes in glibc's static resolver.
fn fetch_each(names: &[&str]) -> String {
    let names = names.join(" ");
    format!(
        "for n in {names}; do ip=$(nslookup $n 2>/dev/null | awk '/^Name:/{{getline; print $2}}'); \
         if [ -n \"$ip\" ] && printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $ip 8080 | grep -q hello-backend; \
         then echo ok $n; else echo fail $n; fi; done; echo done"
    )
}

async fn service_task(case: &Case, service: &str) -> String {
    for _ in 0..300 {
        let tasks = case.service_tasks(service, DesiredStatus::Running).await;
        if let Some(arn) = tasks.first() {
            return arn.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{service} started no task");
}

#[tokio::test]
async fn frontend_reaches_backend_by_every_name_until_backend_stops() {
    let case = Case::start("docker-names").await;
    case.ecs
        .update_cluster()
        .cluster(&case.cluster)
        .service_connect_defaults(
            ClusterServiceConnectDefaultsRequest::builder()
                .namespace("local")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let web = shell(
        "web",
        "mkdir -p /www && echo hello-backend > /www/index.html && exec httpd -f -p 8080 -h /www",
    )
    .port_mappings(
        PortMapping::builder()
            .name("http")
            .container_port(8080)
            .build(),
    )
    .build();
    case.register("backend", vec![web]).await;
    let connect = ServiceConnectConfiguration::builder()
        .enabled(true)
        .services(
            ServiceConnectService::builder()
                .port_name("http")
                .discovery_name("backend-api")
                .client_aliases(
                    ServiceConnectClientAlias::builder()
                        .port(8080)
                        .dns_name("backend.internal")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .build();
    case.ecs
        .create_service()
        .cluster(&case.cluster)
        .service_name("backend")
        .task_definition("backend")
        .desired_count(1)
        .service_connect_configuration(connect)
        .service_registries(
            ServiceRegistry::builder()
                .registry_arn("arn:aws:servicediscovery:us-east-1:000000000000:service/srv-backend")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let backend = service_task(&case, "backend").await;
    case.wait_running(&backend).await;

    // frontend, a service of its own, calls backend by each of its names.
    let script = format!("{}; exec sleep 300", fetch_each(&NAMES));
    case.register("frontend", vec![shell("app", &script).build()])
        .await;
    case.ecs
        .create_service()
        .cluster(&case.cluster)
        .service_name("frontend")
        .task_definition("frontend")
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let frontend = service_task(&case, "frontend").await;
    let lines = case.wait_for_log(&frontend, "app", "done").await;
    for name in NAMES {
        let ok = format!("ok {name}");
        assert!(
            lines.iter().any(|l| l.trim() == ok),
            "frontend did not reach backend as {name}: {lines:?}"
        );
    }

    // Backend's task stopped: its names leave with it at once.
    case.ecs
        .update_service()
        .cluster(&case.cluster)
        .service("backend")
        .desired_count(0)
        .send()
        .await
        .unwrap();
    case.wait_stopped(&backend).await;
    case.register(
        "probe",
        vec![shell("probe", &fetch_each(&NAMES[..3])).build()],
    )
    .await;
    let probe = case.run("probe").await;
    let lines = case.wait_for_log(&probe, "probe", "done").await;
    for name in &NAMES[..3] {
        let fail = format!("fail {name}");
        assert!(
            lines.iter().any(|l| l.trim() == fail),
            "a stopped backend still answered as {name}: {lines:?}"
        );
    }
}
