//! A service behind KECS's local load balancer on the Docker runtime: services-stable waits
//! for its targets; a rolling deployment
//! while a client sends requests without pause fails none of them (old tasks drain through
//! DEACTIVATING for the deregistration delay); a task that turns UNHEALTHY leaves the
//! listener, and a deleted service's listener closes; a load balancer naming an unknown container or port, or a taken listener port, is
//! refused at CreateService.

mod common;
mod docker_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    ContainerDefinition, DeploymentConfiguration, DesiredStatus, HealthCheck, LoadBalancer,
    PortMapping,
};
use docker_support::{docker, shell, Case};

fn group(name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/0123456789abcdef"
    )
}

fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}

/// busybox httpd on 8080 answering `<version> <hostname>`; with a health check that passes
/// while /www/ok exists.
fn web(version: &str, checked: bool) -> ContainerDefinition {
    let script = format!(
        "mkdir -p /www && echo {version} $(hostname) > /www/index.html && touch /www/ok \
         && exec httpd -f -p 8080 -h /www"
    );
    let mut def =
        shell("web", &script).port_mappings(PortMapping::builder().container_port(8080).build());
    if checked {
        def = def.health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("test -f /www/ok")
                .interval(5)
                .timeout(2)
                .retries(1)
                .build()
                .unwrap(),
        );
    }
    def.build()
}

fn balanced(group: &str) -> LoadBalancer {
    LoadBalancer::builder()
        .target_group_arn(group)
        .container_name("web")
        .container_port(8080)
        .build()
}

async fn create(case: &Case, service: &str, family: &str, lb: LoadBalancer) {
    case.ecs
        .create_service()
        .cluster(&case.cluster)
        .service_name(service)
        .task_definition(family)
        .desired_count(2)
        .load_balancers(lb)
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(100)
                .maximum_percent(200)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The body of `GET url`, or why there is none.
async fn get(http: &reqwest::Client, url: &str) -> Result<String, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    match status.is_success() {
        true => Ok(body.trim().to_string()),
        false => Err(format!("{status}: {body}")),
    }
}

/// Polls `url` until its answers (its tasks' hostnames) include `count` distinct ones
/// starting with `version`; returns them.
async fn until_served(
    http: &reqwest::Client,
    url: &str,
    version: &str,
    count: usize,
) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..600 {
        if let Ok(body) = get(http, url).await {
            if body.starts_with(version) {
                seen.insert(body);
            }
        }
        if seen.len() >= count {
            return seen.into_iter().collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not serve {count} tasks of {version}: {seen:?}");
}

#[tokio::test]
async fn a_rolling_deployment_behind_the_load_balancer_fails_no_request() {
    let port = free_port();
    let mapping = format!("web-tg={port}");
    let case = Case::start_with(
        "docker-lb",
        &[
            "--load-balancer-port",
            &mapping,
            "--deregistration-delay",
            "2",
        ],
    )
    .await;
    case.register("web", vec![web("v1", false)]).await;
    create(&case, "web", "web", balanced(&group("web-tg"))).await;
    let url = format!("http://127.0.0.1:{port}/");
    let http = reqwest::Client::new();
    // services-stable waits for the targets: the listener serves as soon as it returns.
    case.ecs
        .wait_until_services_stable()
        .cluster(&case.cluster)
        .services("web")
        .wait(Duration::from_secs(60))
        .await
        .unwrap();
    let first = get(&http, &url).await;
    assert!(
        first.as_deref().is_ok_and(|b| b.starts_with("v1")),
        "{first:?}"
    );
    until_served(&http, &url, "v1", 2).await;
    let old = case.service_tasks("web", DesiredStatus::Running).await;

    // A client sends requests without pause while the service is deployed again.
    let stop = Arc::new(AtomicBool::new(false));
    let hammer = tokio::spawn({
        let (stop, http, url) = (stop.clone(), http.clone(), url.clone());
        async move {
            let (mut answers, mut failures) = (BTreeMap::<String, usize>::new(), vec![]);
            while !stop.load(Ordering::Relaxed) {
                match get(&http, &url).await {
                    Ok(body) => *answers.entry(body).or_default() += 1,
                    Err(e) => failures.push(e),
                }
            }
            (answers, failures)
        }
    });
    case.register("web", vec![web("v2", false)]).await;
    case.ecs
        .update_service()
        .cluster(&case.cluster)
        .service("web")
        .task_definition("web")
        .send()
        .await
        .unwrap();
    // Each old task: when it was first seen DEACTIVATING, and when STOPPED.
    let mut deactivating: BTreeMap<String, Instant> = BTreeMap::new();
    let mut stopped: BTreeMap<String, Instant> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while stopped.len() < old.len() && Instant::now() < deadline {
        let described = case
            .ecs
            .describe_tasks()
            .cluster(&case.cluster)
            .set_tasks(Some(old.clone()))
            .send()
            .await
            .unwrap();
        for task in described.tasks() {
            let arn = task.task_arn().unwrap().to_string();
            match task.last_status() {
                Some("DEACTIVATING") => {
                    deactivating.entry(arn).or_insert_with(Instant::now);
                }
                Some("STOPPED") => {
                    stopped.entry(arn).or_insert_with(Instant::now);
                }
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until_served(&http, &url, "v2", 2).await;
    stop.store(true, Ordering::Relaxed);
    let (answers, failures) = hammer.await.unwrap();
    let total: usize = answers.values().sum();
    assert!(
        failures.is_empty(),
        "{} of {total} requests failed: {failures:?}",
        failures.len()
    );
    assert!(total > 50, "too few requests to tell: {answers:?}");
    assert!(answers.keys().any(|a| a.starts_with("v2")), "{answers:?}");
    assert_eq!(stopped.len(), old.len(), "the old tasks did not stop");
    for arn in &old {
        let began = deactivating
            .get(arn)
            .unwrap_or_else(|| panic!("{arn} was never seen DEACTIVATING"));
        let drained = stopped[arn].duration_since(*began);
        assert!(
            drained >= Duration::from_millis(1500),
            "{arn} stopped {drained:?} after DEACTIVATING"
        );
    }
    let service = case.describe_service("web").await;
    let events: Vec<&str> = service
        .events()
        .iter()
        .filter_map(|e| e.message())
        .collect();
    let said = |text: &str| events.iter().any(|e| e.contains(text));
    let tg = group("web-tg");
    let registered = format!("targets in (target-group {tg})");
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("(service web) registered ") && e.ends_with(&registered)),
        "{events:#?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("(service web) deregistered ") && e.ends_with(&registered)),
        "{events:#?}"
    );
    assert!(
        said("(service web) has begun draining connections on 1 tasks."),
        "{events:#?}"
    );
}

#[tokio::test]
async fn an_unhealthy_task_leaves_the_listener_and_bad_load_balancers_are_refused() {
    let (port, busy) = (
        free_port(),
        std::net::TcpListener::bind("127.0.0.1:0").unwrap(),
    );
    let busy_port = busy.local_addr().unwrap().port();
    let mappings = format!("health-tg={port},busy-tg={busy_port}");
    let case = Case::start_with(
        "docker-lb-health",
        &[
            "--load-balancer-port",
            &mappings,
            "--deregistration-delay",
            "1",
        ],
    )
    .await;
    case.register("web", vec![web("v1", true)]).await;

    // Refused: an unknown container, a port the container does not map, a taken listener port.
    let refused = |lb: LoadBalancer| {
        let ecs = case.ecs.clone();
        let cluster = case.cluster.clone();
        async move {
            common::code(
                ecs.create_service()
                    .cluster(cluster)
                    .service_name("refused")
                    .task_definition("web")
                    .desired_count(1)
                    .load_balancers(lb)
                    .send()
                    .await,
            )
        }
    };
    let mut unknown = balanced(&group("health-tg"));
    unknown.container_name = Some("nope".into());
    assert_eq!(refused(unknown).await, "InvalidParameterException");
    let mut unmapped = balanced(&group("health-tg"));
    unmapped.container_port = Some(9999);
    assert_eq!(refused(unmapped).await, "InvalidParameterException");
    assert_eq!(
        refused(balanced(&group("busy-tg"))).await,
        "ClientException"
    );
    drop(busy);

    create(&case, "web", "web", balanced(&group("health-tg"))).await;
    let url = format!("http://127.0.0.1:{port}/");
    let http = reqwest::Client::new();
    let served = until_served(&http, &url, "v1", 2).await;
    // One task's health check starts failing.
    let sick_host = served[0].rsplit(' ').next().unwrap().to_string();
    let sick = docker(&["ps", "-q", "--filter", &format!("id={sick_host}")]);
    assert!(!sick.is_empty(), "no container {sick_host}");
    docker(&["exec", &sick, "sh", "-c", "rm /www/ok"]);
    let mut unhealthy_at = None;
    let mut seen = vec![];
    for _ in 0..300 {
        let health = docker(&["inspect", "-f", "{{.State.Health.Status}}", &sick]);
        seen.push(health.clone());
        if health == "unhealthy" {
            unhealthy_at = Some(Instant::now());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        unhealthy_at.is_some(),
        "the health check never failed: {sick} {seen:?}"
    );
    // Within a moment of KECS hearing of it, it gets no more requests.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for _ in 0..30 {
        match get(&http, &url).await {
            Ok(body) => assert!(
                !body.ends_with(&sick_host),
                "the unhealthy task still served: {body}"
            ),
            Err(e) => panic!("a request failed while one task was healthy: {e}"),
        }
    }
    // Deleted, the service's listener closes.
    case.ecs
        .delete_service()
        .cluster(&case.cluster)
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    let listener = format!("127.0.0.1:{port}");
    let mut closed = false;
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(&listener).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let service = case.describe_service("web").await;
    let status = service.status();
    assert!(
        closed,
        "the listener of a deleted service ({status:?}) still accepts connections"
    );
}
