//! Benchmark: RunTask-to-RUNNING latency of KECS on the docker runtime, next to a plain bollard
//! create+start and a `docker run -d` of the same container in the same run, and their ratios.
//! The engine is also timed creating and starting the container as KECS asks for it: on a
//! user-defined bridge network (KECS's cluster network; the engine's embedded DNS costs it ~45 ms
//! a container on this machine) with the task's memory limit.
//!
//! `cargo run -p kecs-e2e --bin bench-runtask -- [iterations]` (default 20; needs the test image
//! from scripts/test-image.sh and a built `kecs`, `$KECS_BIN` or target/debug/kecs).

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::ContainerDefinition;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use kecs_e2e::Server;

const IMAGE: &str = "kecs-test/busybox:latest";

fn summary(name: &str, mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |q: f64| ms(samples[((samples.len() - 1) as f64 * q).round() as usize]);
    let mean = samples.iter().map(|d| ms(*d)).sum::<f64>() / samples.len() as f64;
    println!(
        "{name:<28} n={:<4} mean={mean:>7.1} ms  p50={:>7.1} ms  p90={:>7.1} ms  max={:>7.1} ms",
        samples.len(),
        pick(0.5),
        pick(0.9),
        pick(1.0)
    );
    pick(0.5)
}

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

async fn kecs_samples(iterations: usize) -> BenchResult<Vec<Duration>> {
    let dir = tempfile::tempdir()?;
    let kecs = Server::start_on(dir.path(), &["--runtime", "docker"]).await;
    let ecs = kecs.client().await;
    ecs.create_cluster().cluster_name("bench").send().await?;
    ecs.register_task_definition()
        .family("bench")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(IMAGE)
                .command("sleep")
                .command("300")
                .memory(32)
                .stop_timeout(1)
                .build(),
        )
        .send()
        .await?;
    let mut samples = vec![];
    for _ in 0..iterations {
        let begun = Instant::now();
        let arn = ecs
            .run_task()
            .cluster("bench")
            .task_definition("bench")
            .send()
            .await?
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .ok_or("RunTask returned no task")?
            .to_string();
        loop {
            let t = ecs
                .describe_tasks()
                .cluster("bench")
                .tasks(&arn)
                .send()
                .await?;
            let task = t.tasks().first().ok_or("DescribeTasks returned no task")?;
            match task.last_status() {
                Some("RUNNING") => break,
                Some("STOPPED") => {
                    return Err(format!("task stopped: {:?}", task.stopped_reason()).into())
                }
                _ => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
        samples.push(begun.elapsed());
        ecs.stop_task().cluster("bench").task(&arn).send().await?;
    }
    // Let the stops finish, then clean up through the engine.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let docker = bollard::Docker::connect_with_socket_defaults()?;
    remove_labelled(
        &docker,
        "kecs.cluster=arn:aws:ecs:us-east-1:000000000000:cluster/bench",
    )
    .await;
    let _ = docker.remove_network("kecs-bench").await;
    Ok(samples)
}

async fn remove_labelled(docker: &bollard::Docker, label: &str) {
    let filters = std::collections::HashMap::from([("label".to_string(), vec![label.to_string()])]);
    let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&filters)
        .build();
    for c in docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default()
    {
        let rm = RemoveContainerOptionsBuilder::new().force(true).build();
        let _ = docker
            .remove_container(&c.id.unwrap_or_default(), Some(rm))
            .await;
    }
}

/// A user-defined bridge network for the baseline, as KECS makes one per cluster.
const BASELINE_NETWORK: &str = "kecs-bench-baseline";

/// bollard's create+start of the test container; `as_kecs`: on a user-defined network with the
/// task's memory limit (32 MiB), as KECS asks the engine for it.
async fn bollard_samples(iterations: usize, as_kecs: bool) -> BenchResult<Vec<Duration>> {
    let docker = bollard::Docker::connect_with_socket_defaults()?;
    if as_kecs {
        // One left by an interrupted run goes first.
        let _ = docker.remove_network(BASELINE_NETWORK).await;
        let network = NetworkCreateRequest {
            name: BASELINE_NETWORK.into(),
            driver: Some("bridge".into()),
            ..Default::default()
        };
        docker.create_network(network).await?;
    }
    let mut samples = vec![];
    for i in 0..iterations {
        let begun = Instant::now();
        let host_config = as_kecs.then(|| HostConfig {
            network_mode: Some(BASELINE_NETWORK.into()),
            memory: Some(32 * 1024 * 1024),
            ..Default::default()
        });
        let body = ContainerCreateBody {
            image: Some(IMAGE.into()),
            cmd: Some(vec!["sleep".into(), "300".into()]),
            labels: Some([("kecs.bench".to_string(), "baseline".to_string())].into()),
            host_config,
            ..Default::default()
        };
        let name = format!("kecs-bench-baseline-{}-{as_kecs}-{i}", std::process::id());
        let options = CreateContainerOptionsBuilder::new().name(&name).build();
        let created = docker.create_container(Some(options), body).await?;
        docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await?;
        samples.push(begun.elapsed());
    }
    remove_labelled(&docker, "kecs.bench=baseline").await;
    if as_kecs {
        docker.remove_network(BASELINE_NETWORK).await?;
    }
    Ok(samples)
}

/// `docker run -d` of the same container, as a user would start it by hand.
async fn docker_run_samples(iterations: usize) -> BenchResult<Vec<Duration>> {
    let mut samples = vec![];
    for _ in 0..iterations {
        let begun = Instant::now();
        let status = tokio::process::Command::new("docker")
            .args(["run", "-d", "--label", "kecs.bench=docker-run", IMAGE])
            .args(["sleep", "300"])
            .stdout(std::process::Stdio::null())
            .status()
            .await?;
        if !status.success() {
            return Err(format!("docker run -d: {status}").into());
        }
        samples.push(begun.elapsed());
    }
    let docker = bollard::Docker::connect_with_socket_defaults()?;
    remove_labelled(&docker, "kecs.bench=docker-run").await;
    Ok(samples)
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let iterations: usize = match std::env::args().nth(1) {
        Some(n) => n
            .parse()
            .map_err(|_| format!("iterations: a number, not {n}"))?,
        None => 20,
    };
    if iterations == 0 {
        return Err("iterations: at least 1".into());
    }
    if std::env::var_os("KECS_BIN").is_none() {
        // This binary sits next to `kecs` in target/<profile>/.
        let exe = std::env::current_exe()?;
        std::env::set_var("KECS_BIN", exe.with_file_name("kecs"));
    }
    let baseline = bollard_samples(iterations, false).await?;
    let as_kecs = bollard_samples(iterations, true).await?;
    let by_hand = docker_run_samples(iterations).await?;
    let kecs = kecs_samples(iterations).await?;
    let b = summary("bollard create+start", baseline);
    let n = summary("bollard, as KECS asks", as_kecs);
    let d = summary("docker run -d", by_hand);
    let k = summary("KECS RunTask -> RUNNING", kecs);
    println!(
        "ratio (p50): KECS / bollard = {:.2}, KECS / bollard as KECS asks (network, memory) = {:.2}, KECS / docker run -d = {:.2}",
        k / b,
        k / n,
        k / d
    );
    Ok(())
}
