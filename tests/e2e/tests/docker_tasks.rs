//! Tasks as real containers on the local Docker engine (image built by scripts/test-image.sh),
//! driven through aws-sdk-ecs: lifecycle, container definition mapping, dependsOn, health.

mod docker_support;

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerCondition, ContainerDependency, ContainerOverride, HealthCheck,
    HealthStatus, HostEntry, HostVolumeProperties, KernelCapabilities, KeyValuePair,
    LinuxParameters, MountPoint, NetworkConfiguration, NetworkMode, PortMapping, TaskOverride,
    TaskStopCode, Tmpfs, Ulimit, UlimitName, Volume,
};
use docker_support::{container, inspect, shell, Case, IMAGE};

fn httpd(name: &str, port: i32) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    aws_sdk_ecs::types::ContainerDefinition::builder()
        .name(name)
        .image(IMAGE)
        .command("httpd")
        .command("-f")
        .command("-p")
        .command(port.to_string())
        .command("-h")
        .command("/www")
        .memory(64)
        // busybox httpd ignores SIGTERM as PID 1: SIGKILL follows after stopTimeout.
        .stop_timeout(2)
}

async fn fetch(url: &str) -> String {
    for _ in 0..50 {
        if let Ok(r) = reqwest::get(url).await {
            return r.text().await.unwrap_or_default();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    String::new()
}

#[tokio::test]
async fn web_server_task_is_reachable_and_stop_honours_stop_timeout() {
    let case = Case::start("docker-web").await;
    let web = httpd("web", 8080)
        .port_mappings(PortMapping::builder().container_port(8080).build())
        .build();
    case.register("web", vec![web]).await;
    let arn = case.run("web").await;
    case.waiters_agree(&arn, true).await;
    let task = case.wait_running(&arn).await;
    assert!(task.started_at().is_some() && task.pull_started_at().is_some());
    let web = container(&task, "web");
    assert_eq!(web.last_status(), Some("RUNNING"));
    let id = web.runtime_id().expect("runtimeId").to_string();
    assert_eq!(inspect(&id, "{{.State.Status}}"), "running");
    let port = web
        .network_bindings()
        .iter()
        .find(|b| b.container_port() == Some(8080))
        .and_then(|b| b.host_port())
        .expect("a published host port");
    assert!(port > 0, "a dynamic host port was published");
    let body = fetch(&format!("http://127.0.0.1:{port}/index.html")).await;
    assert_eq!(body.trim(), "hello-from-kecs");

    let stopping = case
        .ecs
        .stop_task()
        .cluster(&case.cluster)
        .task(&arn)
        .reason("done testing")
        .send()
        .await
        .unwrap()
        .task
        .unwrap();
    assert_eq!(stopping.desired_status(), Some("STOPPED"));
    case.waiters_agree(&arn, false).await;
    let stopped = case.wait_stopped(&arn).await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(stopped.stopped_reason(), Some("done testing"));
    assert_eq!(inspect(&id, "{{.State.Status}}"), "exited");
    // SIGTERM was ignored, so SIGKILL came after the 2 s stopTimeout.
    assert_eq!(container(&stopped, "web").exit_code(), Some(137));
    let took =
        stopped.stopped_at().unwrap().as_secs_f64() - stopped.stopping_at().unwrap().as_secs_f64();
    assert!(took >= 1.9, "stopped after {took} s, before stopTimeout");
}

#[tokio::test]
async fn missing_image_stops_the_task_with_cannot_pull() {
    let case = Case::start("docker-missing").await;
    let ghost = aws_sdk_ecs::types::ContainerDefinition::builder()
        .name("ghost")
        .image("kecs-test/does-not-exist:1")
        .memory(32)
        .build();
    case.register("ghost", vec![ghost]).await;
    let arn = case.run("ghost").await;
    let task = case.wait_stopped(&arn).await;
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

async fn essential_exit(cluster: &str, script: &str) {
    let case = Case::start(cluster).await;
    let app = shell("app", script).build();
    let side = shell("side", "sleep 300").essential(false).build();
    case.register("exit", vec![app, side]).await;
    let arn = case.run("exit").await;
    let t = case.wait_stopped(&arn).await;
    assert_eq!(t.stop_code(), Some(&TaskStopCode::EssentialContainerExited));
    assert_eq!(
        t.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(container(&t, "app").exit_code(), Some(3));
    let side = container(&t, "side");
    assert_eq!(side.last_status(), Some("STOPPED"));
    // Stopped, or never started when the essential container died before its turn.
    let state = inspect(side.runtime_id().unwrap(), "{{.State.Status}}");
    assert!(state == "exited" || state == "created", "side is {state}");
}

fn depends(on: &str, condition: ContainerCondition) -> ContainerDependency {
    ContainerDependency::builder()
        .container_name(on)
        .condition(condition)
        .build()
        .unwrap()
}

fn health_check(command: &str) -> HealthCheck {
    HealthCheck::builder()
        .command("CMD-SHELL")
        .command(command)
        .interval(5)
        .timeout(2)
        .retries(1)
        .start_period(0)
        .build()
        .unwrap()
}

/// init must succeed and db be healthy before app starts; init's output reaches app through a
/// task-scoped volume.
#[tokio::test]
async fn depends_on_orders_the_start_and_volumes_are_shared() {
    let case = Case::start("docker-deps").await;
    let mount = MountPoint::builder()
        .source_volume("shared")
        .container_path("/shared")
        .build();
    let init = shell("init", "sleep 1; echo from-init > /shared/note")
        .essential(false)
        .mount_points(mount.clone())
        .build();
    let db = shell("db", "sleep 300")
        .health_check(health_check("test -e /proc/1"))
        .build();
    let app = shell("app", "cat /shared/note; sleep 300")
        .mount_points(mount)
        .depends_on(depends("init", ContainerCondition::Success))
        .depends_on(depends("db", ContainerCondition::Healthy))
        .build();
    let reader = shell("reader", "cat /shared/note; sleep 300")
        .volumes_from(
            aws_sdk_ecs::types::VolumeFrom::builder()
                .source_container("init")
                .read_only(true)
                .build(),
        )
        .depends_on(depends("init", ContainerCondition::Complete))
        .build();
    let mut req = case
        .ecs
        .register_task_definition()
        .family("deps")
        .volumes(Volume::builder().name("shared").build());
    for c in [app, init, db, reader] {
        req = req.container_definitions(c);
    }
    req.send().await.unwrap();
    let arn = case.run("deps").await;
    let task = case.wait_running(&arn).await;
    let id = |name: &str| container(&task, name).runtime_id().unwrap().to_string();
    let init_finished = inspect(&id("init"), "{{.State.FinishedAt}}");
    let app_started = inspect(&id("app"), "{{.State.StartedAt}}");
    assert!(
        app_started > init_finished,
        "app started at {app_started}, before init finished at {init_finished}"
    );
    assert_eq!(container(&task, "init").exit_code(), Some(0));
    assert_eq!(container(&task, "init").last_status(), Some("STOPPED"));
    assert_eq!(
        container(&task, "db").health_status(),
        Some(&HealthStatus::Healthy)
    );
    assert_eq!(task.health_status(), Some(&HealthStatus::Healthy));
    let lines = case.wait_for_log(&arn, "app", "from-init").await;
    assert_eq!(lines, ["from-init"]);
    let lines = case.wait_for_log(&arn, "reader", "from-init").await;
    assert_eq!(lines, ["from-init"], "volumesFrom init");
}

/// A dependency that fails its SUCCESS condition keeps its dependent from starting.
#[tokio::test]
async fn a_failed_dependency_stops_the_task() {
    let case = Case::start("docker-dep-fail").await;
    let init = shell("init", "exit 4").essential(false).build();
    let app = shell("app", "sleep 300")
        .depends_on(depends("init", ContainerCondition::Success))
        .build();
    case.register("depfail", vec![init, app]).await;
    let arn = case.run("depfail").await;
    let task = case.wait_stopped(&arn).await;
    assert_eq!(task.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    assert!(
        task.stopped_reason()
            .unwrap()
            .contains("exited with code 4"),
        "{:?}",
        task.stopped_reason()
    );
    assert_eq!(
        container(&task, "app")
            .runtime_id()
            .map(|id| inspect(id, "{{.State.Status}}")),
        Some("created".into())
    );
}

#[tokio::test]
async fn a_failing_health_check_is_reported_unhealthy() {
    let case = Case::start("docker-unhealthy").await;
    let app = shell("app", "sleep 300")
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("exit 1")
                .interval(5)
                .timeout(2)
                .retries(1)
                .build()
                .unwrap(),
        )
        .build();
    case.register("sick", vec![app]).await;
    let arn = case.run("sick").await;
    case.wait_running(&arn).await;
    let mut task = case.describe(&arn).await;
    for _ in 0..100 {
        if task.health_status() == Some(&HealthStatus::Unhealthy) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        task = case.describe(&arn).await;
    }
    assert_eq!(task.health_status(), Some(&HealthStatus::Unhealthy));
    assert_eq!(
        container(&task, "app").health_status(),
        Some(&HealthStatus::Unhealthy)
    );
    assert_eq!(
        task.last_status(),
        Some("RUNNING"),
        "standalone tasks keep running"
    );
}

#[tokio::test]
async fn overrides_replace_the_command_and_environment() {
    let case = Case::start("docker-overrides").await;
    let app = shell("app", "echo original; sleep 300")
        .environment(KeyValuePair::builder().name("GREETING").value("hi").build())
        .environment(KeyValuePair::builder().name("KEEP").value("kept").build())
        .build();
    case.register("over", vec![app]).await;
    let over = ContainerOverride::builder()
        .name("app")
        .command("sh")
        .command("-c")
        .command("echo $GREETING-$KEEP; sleep 300")
        .environment(
            KeyValuePair::builder()
                .name("GREETING")
                .value("overridden")
                .build(),
        )
        .build();
    let arn = case
        .ecs
        .run_task()
        .cluster(&case.cluster)
        .task_definition("over")
        .overrides(TaskOverride::builder().container_overrides(over).build())
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .task_arn()
        .unwrap()
        .to_string();
    case.wait_running(&arn).await;
    let lines = case.wait_for_log(&arn, "app", "overridden-kept").await;
    assert_eq!(lines, ["overridden-kept"]);
}

/// The container definition's settings reach the engine, and the container behaves by them.
#[tokio::test]
async fn container_settings_reach_the_engine() {
    let case = Case::start("docker-settings").await;
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("greeting"), "from-host\n").unwrap();
    let script = "cat /host/greeting; touch /rootfile 2>/dev/null || echo read-only-root; \
                  grep -q 'db.local' /etc/hosts && echo extra-host; ulimit -n; \
                  touch /scratch/x && echo tmpfs-ok; id -u; pwd; hostname; sleep 300";
    let app = shell("app", script)
        .readonly_root_filesystem(true)
        .privileged(true)
        .cpu(256)
        .memory(48)
        .memory_reservation(24)
        .user("1000")
        .working_directory("/tmp")
        .hostname("kecs-host")
        .docker_labels("team", "kecs")
        .extra_hosts(
            HostEntry::builder()
                .hostname("db.local")
                .ip_address("10.1.2.3")
                .build()
                .unwrap(),
        )
        .ulimits(
            Ulimit::builder()
                .name(UlimitName::Nofile)
                .soft_limit(1234)
                .hard_limit(2048)
                .build()
                .unwrap(),
        )
        .linux_parameters(
            LinuxParameters::builder()
                .init_process_enabled(true)
                .capabilities(KernelCapabilities::builder().drop("NET_RAW").build())
                .tmpfs(
                    Tmpfs::builder()
                        .container_path("/scratch")
                        .size(8)
                        .mount_options("mode=1777")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .mount_points(
            MountPoint::builder()
                .source_volume("hostdir")
                .container_path("/host")
                .read_only(true)
                .build(),
        )
        .build();
    case.ecs
        .register_task_definition()
        .family("settings")
        .container_definitions(app)
        .volumes(
            Volume::builder()
                .name("hostdir")
                .host(
                    HostVolumeProperties::builder()
                        .source_path(host_dir.path().to_string_lossy())
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = case.run("settings").await;
    let task = case.wait_running(&arn).await;
    let id = container(&task, "app").runtime_id().unwrap().to_string();
    assert_eq!(inspect(&id, "{{.Config.Labels.team}}"), "kecs");
    assert_eq!(inspect(&id, "{{.HostConfig.Init}}"), "true");
    assert_eq!(inspect(&id, "{{.HostConfig.CapDrop}}"), "[NET_RAW]");
    assert_eq!(inspect(&id, "{{.HostConfig.Privileged}}"), "true");
    assert_eq!(inspect(&id, "{{.HostConfig.CpuShares}}"), "256");
    assert_eq!(
        inspect(&id, "{{.HostConfig.Memory}}"),
        (48 * 1024 * 1024).to_string()
    );
    assert_eq!(
        inspect(&id, "{{.HostConfig.MemoryReservation}}"),
        (24 * 1024 * 1024).to_string()
    );
    let lines = case.wait_for_log(&arn, "app", "kecs-host").await;
    assert_eq!(
        lines,
        [
            "from-host",
            "read-only-root",
            "extra-host",
            "1234",
            "tmpfs-ok",
            "1000",
            "/tmp",
            "kecs-host"
        ]
    );
}

/// awsvpc: the task's containers share one network namespace (localhost), and the task has its
/// own address, reachable from the host; nothing is published on the host.
#[tokio::test]
async fn awsvpc_containers_share_localhost_and_the_task_has_an_address() {
    let case = Case::start("docker-awsvpc").await;
    let web = httpd("web", 8080)
        .port_mappings(PortMapping::builder().container_port(8080).build())
        .build();
    let client = shell(
        "client",
        "sleep 1; wget -qO- http://localhost:8080/index.html; sleep 300",
    )
    .build();
    case.ecs
        .register_task_definition()
        .family("vpc")
        .network_mode(NetworkMode::Awsvpc)
        .container_definitions(web)
        .container_definitions(client)
        .send()
        .await
        .unwrap();
    let arn = case
        .ecs
        .run_task()
        .cluster(&case.cluster)
        .task_definition("vpc")
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets("subnet-12345")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .tasks()[0]
        .task_arn()
        .unwrap()
        .to_string();
    let task = case.wait_running(&arn).await;
    let lines = case.wait_for_log(&arn, "client", "hello-from-kecs").await;
    assert_eq!(lines, ["hello-from-kecs"]);
    let eni = &task.attachments()[0];
    assert_eq!(eni.status(), Some("ATTACHED"));
    let ip = eni
        .details()
        .iter()
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .expect("a private address")
        .to_string();
    assert_eq!(
        container(&task, "client").network_interfaces()[0].private_ipv4_address(),
        Some(ip.as_str())
    );
    assert!(container(&task, "web").network_bindings().is_empty());
    let body = fetch(&format!("http://{ip}:8080/index.html")).await;
    assert_eq!(body.trim(), "hello-from-kecs");
}

/// bridge: a link makes one container reachable from another by its alias.
#[tokio::test]
async fn bridge_links_name_other_containers() {
    let case = Case::start("docker-links").await;
    let web = httpd("web", 8080).build();
    let client = shell(
        "client",
        "sleep 1; wget -qO- http://www:8080/index.html; sleep 300",
    )
    .links("web:www")
    .depends_on(depends("web", ContainerCondition::Start))
    .build();
    case.register("links", vec![web, client]).await;
    let arn = case.run("links").await;
    case.wait_running(&arn).await;
    let lines = case.wait_for_log(&arn, "client", "hello-from-kecs").await;
    assert_eq!(lines, ["hello-from-kecs"]);
}
