//! kecs-bench: drives the ECS API over HTTP on loopback with N concurrent clients and reports
//! throughput and p50/p99/p99.9 latency per operation, for KECS and, in the same run with the
//! same client and workload, moto's server and a bare actix-web handler answering a fixed body
//! (the ceiling of this machine's HTTP stack).
//!
//! `cargo run --release -p kecs-bench -- [--clients 16] [--seconds 5] [--kecs PATH] [--no-moto]`
//!
//! `kecs-bench scale [--sizes 1000,10000,100000] [--rate 1000] [--seconds 5] [--in-memory]`
//! measures KECS with that many tasks stored (see [`scale`]); `kecs-bench revisions [--sizes 1,1000,10000,100000]`
//! the rate of registering into, and describing, one family that large (see [`revisions`]);
//! `kecs-bench reads [--seconds 5] [--connections 16]` KECS's reads next to nginx answering the
//! same bodies, both driven by wrk (see [`reads`]); `kecs-bench storm [--seconds 60]` durable
//! RunTask for a minute and how far DuckDB fell behind the journal (see [`storm`]);
//! `kecs-bench report` all of them in one run under the machine, build and date (see
//! [`report`]).
//!
//! KECS runs on the `none` runtime over a durable data directory. moto runs when
//! `python3 -m moto.server` is installed (`pip install "moto[server]"`).

mod cpu;
mod load;
mod reads;
mod report;
mod revisions;
mod scale;
mod servers;
mod storm;
mod workload;

use std::time::Duration;

use load::{run_op, Stats};
use servers::Target;
use workload::{Op, OPS};

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What the API benchmark (no subcommand) is asked to do.
pub(crate) struct Args {
    pub clients: usize,
    pub seconds: u64,
    pub kecs: String,
    pub moto: bool,
}

fn args() -> BenchResult<Args> {
    let mut a = Args {
        clients: 16,
        seconds: 5,
        kecs: std::env::var("KECS_BIN").unwrap_or_else(|_| default_kecs()),
        moto: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--clients" => a.clients = it.next().ok_or("--clients N")?.parse()?,
            "--seconds" => a.seconds = it.next().ok_or("--seconds S")?.parse()?,
            "--kecs" => a.kecs = it.next().ok_or("--kecs PATH")?,
            "--no-moto" => a.moto = false,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(a)
}

fn default_kecs() -> String {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let release = format!("{target}/release/kecs");
    if std::path::Path::new(&release).exists() {
        release
    } else {
        format!("{target}/debug/kecs")
    }
}

fn row(target: &str, op: &Op, s: &Stats) {
    println!(
        "| {target} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
        op.name, s.throughput, s.p50_ms, s.p99_ms, s.p999_ms, s.errors
    );
}

fn main() -> BenchResult<()> {
    let mut raw = std::env::args().skip(1);
    let first = raw.next();
    if first.as_deref() == Some("ceiling") {
        let port: u16 = raw.next().ok_or("ceiling PORT")?.parse()?;
        return servers::serve_ceiling(port);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let kecs = std::env::var("KECS_BIN").unwrap_or_else(|_| default_kecs());
    match first.as_deref() {
        Some("scale") => runtime.block_on(scale::scale(scale::ScaleArgs::parse(kecs, raw)?)),
        Some("reads") => runtime.block_on(reads::run(reads::ReadArgs::parse(kecs, raw)?)),
        Some("storm") => runtime.block_on(storm::run(storm::StormArgs::parse(kecs, raw)?)),
        Some("report") => runtime.block_on(report::run(report::ReportArgs::parse(kecs, raw)?)),
        Some("revisions") => runtime.block_on(revisions::revisions(
            revisions::RevisionArgs::parse(kecs, raw)?,
        )),
        _ => runtime.block_on(bench(args()?)),
    }
}

pub(crate) async fn bench(args: Args) -> BenchResult<()> {
    let duration = Duration::from_secs(args.seconds);
    let mut targets = vec![Target::kecs(&args.kecs).await?];
    if args.moto {
        match Target::moto().await {
            Ok(t) => targets.push(t),
            Err(e) => eprintln!("moto skipped: {e}"),
        }
    }
    targets.push(Target::ceiling().await?);
    println!(
        "{} clients, {} s per operation, KECS {} (runtime none, durable data dir)",
        args.clients, args.seconds, args.kecs
    );
    println!("| target | operation | req/s | p50 ms | p99 ms | p99.9 ms | errors |");
    println!("|---|---|---|---|---|---|---|");
    let mut results: Vec<(String, &'static str, f64)> = vec![];
    for target in &targets {
        let ops: Vec<&Op> = if target.fixed {
            OPS.iter()
                .filter(|o| o.name == "DescribeClusters")
                .collect()
        } else {
            OPS.iter().collect()
        };
        let fixture = if target.fixed {
            workload::Fixture::default()
        } else {
            workload::set_up(target).await?
        };
        for op in ops {
            let stats = run_op(target, op, &fixture, args.clients, duration).await?;
            row(&target.name, op, &stats);
            results.push((target.name.clone(), op.name, stats.throughput));
        }
    }
    let throughput = |target: &str, op: &str| {
        results
            .iter()
            .find(|(t, o, _)| t == target && *o == op)
            .map(|r| r.2)
    };
    println!();
    for op in OPS {
        if let (Some(k), Some(m)) = (throughput("kecs", op.name), throughput("moto", op.name)) {
            println!(
                "{:<24} KECS / moto throughput: {:.1}x",
                op.name,
                k / m.max(0.001)
            );
        }
    }
    if let (Some(k), Some(c)) = (
        throughput("kecs", "DescribeClusters"),
        throughput("ceiling", "DescribeClusters"),
    ) {
        println!(
            "DescribeClusters         KECS / bare actix-web ceiling: {:.0}%",
            100.0 * k / c
        );
    }
    drop(targets);
    Ok(())
}
