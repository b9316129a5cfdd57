//! `kecs-bench storm`: durable RunTask from many clients for a long while (60 s by default) on
//! the `none` runtime, next to the bare handler's rate measured by the same client in the same
//! run; then how far DuckDB was behind the journal when the storm ended
//! (`kecs_store_backlog_groups`) and how long it took to catch up.

use std::time::{Duration, Instant};

use crate::load::run_op;
use crate::servers::Target;
use crate::workload::{Fixture, OPS};
use crate::BenchResult;

/// What `storm` is asked to do.
pub struct StormArgs {
    pub kecs: String,
    pub seconds: u64,
    pub clients: usize,
}

impl StormArgs {
    pub fn parse(kecs: String, mut it: impl Iterator<Item = String>) -> BenchResult<Self> {
        let mut a = Self {
            kecs,
            seconds: 60,
            clients: 16,
        };
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--seconds" => a.seconds = it.next().ok_or("--seconds S")?.parse()?,
                "--clients" => a.clients = it.next().ok_or("--clients N")?.parse()?,
                "--kecs" => a.kecs = it.next().ok_or("--kecs PATH")?,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(a)
    }
}

/// The longest DuckDB may take to catch up before the storm counts as failed.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(600);

/// The store's thread that applies the journal's groups to DuckDB.
const DUCKDB_THREAD: &str = "kecs-store-duckdb";

pub async fn run(args: StormArgs) -> BenchResult<()> {
    let op = |name: &str| {
        OPS.iter()
            .find(|o| o.name == name)
            .ok_or_else(|| format!("no operation {name}"))
    };
    let kecs = Target::kecs(&args.kecs).await?;
    let fixture = crate::workload::set_up(&kecs).await?;
    let duration = Duration::from_secs(args.seconds);
    let cpu = || crate::cpu::seconds(kecs.pid(), DUCKDB_THREAD);
    let before = cpu()?;
    let storm = run_op(&kecs, op("RunTask")?, &fixture, args.clients, duration).await?;
    let during = cpu()?;
    let backlog = kecs.metric("kecs_store_backlog_groups")?;
    let ended = Instant::now();
    while kecs.metric("kecs_store_backlog_groups")? > 0.0 {
        if ended.elapsed() > CATCH_UP_LIMIT {
            return Err("DuckDB did not catch up with the journal within 600 s".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let catch_up = ended.elapsed().as_secs_f64();
    let after = cpu()?;
    drop(kecs);
    let ceiling = Target::ceiling().await?;
    let bare = run_op(
        &ceiling,
        op("DescribeClusters")?,
        &Fixture::default(),
        args.clients,
        Duration::from_secs(5),
    )
    .await?;
    println!(
        "RunTask (durable: journal + DuckDB, runtime none) from {} clients for {} s; the bare \
         actix-web handler for 5 s after it",
        args.clients, args.seconds
    );
    println!("| RunTask req/s | p50 / p99 / p99.9 ms | errors | bare handler req/s | RunTask / bare | DuckDB behind at the end (groups) | caught up in s |");
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {:.0} | {:.2} / {:.2} / {:.2} | {} | {:.0} | {:.0} % | {backlog:.0} | {catch_up:.2} |",
        storm.throughput,
        storm.p50_ms,
        storm.p99_ms,
        storm.p999_ms,
        storm.errors,
        bare.throughput,
        100.0 * storm.throughput / bare.throughput.max(0.001)
    );
    let wall = duration.as_secs_f64();
    println!(
        "KECS's CPU during the storm: {:.1} s in {wall:.0} s ({:.2} cores), {:.1} s of it DuckDB's \
         thread; catching up after it: {:.1} s, {:.1} s DuckDB's",
        during.0 - before.0,
        (during.0 - before.0) / wall,
        during.1 - before.1,
        after.0 - during.0,
        after.1 - during.1,
    );
    Ok(())
}
