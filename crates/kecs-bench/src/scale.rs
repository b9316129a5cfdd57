//! `kecs-bench scale`: KECS holding 1k, 10k, 100k tasks (and a tenth as many services) in one
//! cluster on a durable data directory: ListTasks (first page) and DescribeTasks (100 tasks)
//! latency under a fixed request rate, start-up time to serving on the same data, and resident
//! memory. The load is open-loop: each request is due at its own instant and its latency counts
//! from then, so a server that falls behind is charged for the wait.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::join_all;
use serde_json::json;

use crate::load::{call, client, percentile_ms, send};
use crate::servers::Target;
use crate::BenchResult;

/// What `scale` is asked to do.
pub struct ScaleArgs {
    pub kecs: String,
    pub sizes: Vec<usize>,
    pub rate: f64,
    pub seconds: u64,
    /// `--in-memory`: KECS on `--data-dir :memory:` (no restart measured).
    pub in_memory: bool,
}

impl ScaleArgs {
    pub fn parse(kecs: String, mut it: impl Iterator<Item = String>) -> BenchResult<Self> {
        let mut a = Self {
            kecs,
            sizes: vec![1_000, 10_000, 100_000],
            rate: 1000.0,
            seconds: 5,
            in_memory: false,
        };
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--sizes" => a.sizes = sizes(it.next())?,
                "--rate" => a.rate = it.next().ok_or("--rate R")?.parse()?,
                "--seconds" => a.seconds = it.next().ok_or("--seconds S")?.parse()?,
                "--kecs" => a.kecs = it.next().ok_or("--kecs PATH")?,
                "--in-memory" => a.in_memory = true,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(a)
    }
}

/// `--sizes`' value: comma-separated counts.
pub fn sizes(value: Option<String>) -> BenchResult<Vec<usize>> {
    Ok(value
        .ok_or("--sizes N,N,...")?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?)
}

/// Fires `bodies` (round robin) at `rate` per second for `duration`; latencies from each
/// request's due time.
async fn fixed_rate(
    target: &Target,
    op: &'static str,
    bodies: &[Bytes],
    rate: f64,
    duration: Duration,
) -> BenchResult<(f64, f64, usize)> {
    let http = client();
    let total = (rate * duration.as_secs_f64()) as usize;
    let start = tokio::time::Instant::now();
    let mut handles = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due).await;
        let (http, url, body) = (
            http.clone(),
            target.url.clone(),
            bodies[i % bodies.len()].clone(),
        );
        handles.push(tokio::spawn(async move {
            let ok = send(&http, &url, op, body).await;
            (due.elapsed(), ok)
        }));
    }
    let (mut micros, mut errors) = (Vec::with_capacity(total), 0);
    for h in handles {
        let (took, ok) = h.await?;
        micros.push(took.as_micros().min(u32::MAX as u128) as u32);
        errors += usize::from(!ok);
    }
    micros.sort_unstable();
    Ok((
        percentile_ms(&micros, 0.5),
        percentile_ms(&micros, 0.99),
        errors,
    ))
}

/// Fills a fresh KECS with `tasks` tasks and `tasks / 10` services (desiredCount 0) in the
/// cluster `scale`, 16 requests at a time; returns the task ARNs.
async fn populate(target: &Target, tasks: usize) -> BenchResult<Vec<String>> {
    let http = client();
    call(
        &http,
        target,
        "CreateCluster",
        &json!({"clusterName": "scale"}),
    )
    .await?;
    let td = json!({"family": "scale", "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]});
    call(&http, target, "RegisterTaskDefinition", &td).await?;
    let run = json!({"cluster": "scale", "taskDefinition": "scale", "count": 10});
    let mut arns = Vec::with_capacity(tasks);
    let calls: Vec<usize> = (0..tasks.div_ceil(10)).collect();
    for wave in calls.chunks(16) {
        let answers = join_all(wave.iter().map(|_| call(&http, target, "RunTask", &run))).await;
        for answer in answers {
            let answer = answer?;
            arns.extend(
                answer["tasks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["taskArn"].as_str().map(str::to_string)),
            );
        }
    }
    let services: Vec<usize> = (0..tasks / 10).collect();
    for wave in services.chunks(16) {
        let answers = join_all(wave.iter().map(|i| {
            let body = json!({"cluster": "scale", "serviceName": format!("s{i}"),
                "taskDefinition": "scale", "desiredCount": 0});
            let http = http.clone();
            async move { call(&http, target, "CreateService", &body).await }
        }))
        .await;
        for a in answers {
            a?;
        }
    }
    Ok(arns)
}

pub async fn scale(args: ScaleArgs) -> BenchResult<()> {
    let store = if args.in_memory {
        "--data-dir :memory:, no restart"
    } else {
        "durable data dir"
    };
    println!(
        "KECS {} (runtime none, {store}), one cluster; fixed rate {} req/s for {} s per operation",
        args.kecs, args.rate, args.seconds
    );
    println!("| tasks | services | fill s | ListTasks p50 / p99 ms | DescribeTasks(100) p50 / p99 ms | errors | restart to /ready s | RSS after restart MiB | RSS after load MiB |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let duration = Duration::from_secs(args.seconds);
    for &n in &args.sizes {
        let target = if args.in_memory {
            Target::kecs_in_memory(&args.kecs).await?
        } else {
            Target::kecs(&args.kecs).await?
        };
        let filled = Instant::now();
        let arns = populate(&target, n).await?;
        let fill = filled.elapsed().as_secs_f64();
        // In memory: the restart columns show nothing, the first RSS is the one after filling.
        let (target, restart) = if args.in_memory {
            (target, "—".to_string())
        } else {
            let data = target.stop_gracefully()?;
            let started = Instant::now();
            let target = Target::kecs_in(&args.kecs, data).await?;
            (target, format!("{:.2}", started.elapsed().as_secs_f64()))
        };
        let rss_restart = target.rss_mib()?;
        let list = vec![Bytes::from(serde_json::to_vec(
            &json!({"cluster": "scale"}),
        )?)];
        let describe: Vec<Bytes> = arns
            .chunks(100)
            .map(|c| serde_json::to_vec(&json!({"cluster": "scale", "tasks": c})).map(Bytes::from))
            .collect::<Result<_, _>>()?;
        let (l50, l99, le) = fixed_rate(&target, "ListTasks", &list, args.rate, duration).await?;
        let (d50, d99, de) =
            fixed_rate(&target, "DescribeTasks", &describe, args.rate, duration).await?;
        let rss_load = target.rss_mib()?;
        println!(
            "| {n} | {} | {fill:.1} | {l50:.2} / {l99:.2} | {d50:.2} / {d99:.2} | {} | {restart} | {rss_restart:.0} | {rss_load:.0} |",
            n / 10,
            le + de
        );
    }
    Ok(())
}
