//! Benchmark: the service scheduler at scale on the `none` runtime. Creates S services of T
//! tasks each (default 200 × 5) on a durable data directory and reports the time until every
//! service is steady and the CPU the KECS process spent getting there (API and controller
//! together: the benchmark drives it through the API), then its idle CPU with everything steady
//! (the periodic resync). Along the way, at growing numbers of services, it stops one task of a
//! random service and times how long the scheduler takes to have a replacement RUNNING.
//!
//! `cargo run -p kecs-e2e --bin bench-services -- [services] [tasks]` (needs a built `kecs`,
//! `$KECS_BIN` or target/debug/kecs).

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{ContainerDefinition, DesiredStatus};
use aws_sdk_ecs::Client;
use futures::stream::{self, StreamExt, TryStreamExt};
use kecs_e2e::Server;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CLUSTER: &str = "bench";
/// Reaction time is measured this many times at each size.
const REACTIONS: usize = 15;

/// CPU seconds (user + system, all threads) the process has used, from /proc.
fn cpu_seconds(pid: u32) -> BenchResult<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit(')').next().ok_or("bad /proc stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // USER_HZ is 100 on every Linux this runs on.
    Ok(ticks / 100.0)
}

fn rss_mib(pid: u32) -> BenchResult<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or("no VmRSS")?
        .trim()
        .trim_end_matches(" kB")
        .parse()?;
    Ok(kib / 1024.0)
}

async fn create_services(ecs: &Client, from: usize, to: usize, tasks: i32) -> BenchResult<()> {
    stream::iter(from..to)
        .map(|i| async move {
            ecs.create_service()
                .cluster(CLUSTER)
                .service_name(format!("svc-{i:04}"))
                .task_definition("bench")
                .desired_count(tasks)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("CreateService: {e:?}"))
        })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// Waits until services `0..count` all run `tasks` tasks with nothing pending and their
/// deployment COMPLETED.
async fn wait_steady(ecs: &Client, count: usize, tasks: i32) -> BenchResult<()> {
    let names: Vec<String> = (0..count).map(|i| format!("svc-{i:04}")).collect();
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let mut steady = 0;
        for chunk in names.chunks(10) {
            let out = ecs
                .describe_services()
                .cluster(CLUSTER)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await?;
            steady += out
                .services()
                .iter()
                .filter(|s| {
                    s.running_count() == tasks
                        && s.pending_count() == 0
                        && s.deployments().len() == 1
                        && s.deployments()[0].rollout_state().map(|r| r.as_str())
                            == Some("COMPLETED")
                })
                .count();
        }
        if steady == count {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("only {steady} of {count} services steady after 600 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn running(ecs: &Client, service: &str) -> BenchResult<Vec<String>> {
    Ok(ecs
        .list_tasks()
        .cluster(CLUSTER)
        .service_name(service)
        .desired_status(DesiredStatus::Running)
        .send()
        .await?
        .task_arns()
        .to_vec())
}

/// Stops one task of a service and times until a replacement is RUNNING.
async fn reaction(ecs: &Client, service: &str, tasks: usize) -> BenchResult<Duration> {
    let before = running(ecs, service).await?;
    let victim = before.first().ok_or("service has no task")?.clone();
    let begun = Instant::now();
    ecs.stop_task()
        .cluster(CLUSTER)
        .task(&victim)
        .send()
        .await?;
    loop {
        let now = running(ecs, service).await?;
        if now.len() == tasks && !now.contains(&victim) {
            return Ok(begun.elapsed());
        }
        if begun.elapsed() > Duration::from_secs(30) {
            return Err(format!("{service} not replaced after 30 s").into());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let mut args = std::env::args().skip(1);
    let services: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(200);
    let tasks: i32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let dir = tempfile::tempdir()?;
    let kecs = Server::start_on(dir.path(), &["--runtime", "none"]).await;
    let pid = kecs.pid().ok_or("no server process")?;
    let ecs = kecs.client().await;
    ecs.create_cluster().cluster_name(CLUSTER).send().await?;
    ecs.register_task_definition()
        .family("bench")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("busybox")
                .memory(32)
                .build(),
        )
        .send()
        .await?;

    println!("{services} services x {tasks} tasks, runtime none, durable data dir");
    let mut sizes: Vec<usize> = [10, 50, services]
        .into_iter()
        .filter(|&n| n <= services)
        .collect();
    sizes.dedup();
    let (cpu0, begun) = (cpu_seconds(pid)?, Instant::now());
    let mut created = 0;
    let mut reactions = vec![];
    for &size in &sizes {
        create_services(&ecs, created, size, tasks).await?;
        created = size;
        wait_steady(&ecs, size, tasks).await?;
        if size == services {
            let (elapsed, cpu) = (begun.elapsed(), cpu_seconds(pid)? - cpu0);
            println!(
                "steady state: {services} services, {} tasks in {:.2} s; KECS CPU {cpu:.2} s; RSS {:.1} MiB",
                services * tasks as usize,
                elapsed.as_secs_f64(),
                rss_mib(pid)?
            );
        }
        let mut samples = vec![];
        for k in 0..REACTIONS {
            let service = format!("svc-{:04}", (k * 7919) % size);
            samples.push(reaction(&ecs, &service, tasks as usize).await?);
        }
        samples.sort();
        let p50 = ms(samples[samples.len() / 2]);
        let max = ms(*samples.last().ok_or("no samples")?);
        println!("{size:>5} services: replacement RUNNING after a task stops: p50 {p50:.1} ms, max {max:.1} ms");
        reactions.push((size, p50));
    }
    let idle_cpu0 = cpu_seconds(pid)?;
    let idle = Duration::from_secs(31);
    tokio::time::sleep(idle).await;
    println!(
        "idle with everything steady: {:.3} s CPU over {} s (one periodic resync)",
        cpu_seconds(pid)? - idle_cpu0,
        idle.as_secs()
    );
    if let (Some(first), Some(last)) = (reactions.first(), reactions.last()) {
        println!(
            "reaction p50 at {} services / at {} services: {:.2}",
            last.0,
            first.0,
            last.1 / first.1
        );
    }
    Ok(())
}
