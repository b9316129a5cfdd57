//! `kecs-bench revisions`: one task definition family holding 1 to 100k revisions, and the rate
//! of RegisterTaskDefinition into that family and of DescribeTaskDefinition by family name (the
//! latest ACTIVE revision) from 16 clients. Both should stay flat as the family grows.

use std::time::Duration;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::load::{call, client, run_op, Stats};
use crate::servers::Target;
use crate::workload::{Fixture, Op};
use crate::BenchResult;

const FAMILY: &str = "deep";

fn revision(_: &Fixture, _: usize, _: u64) -> Value {
    json!({"family": FAMILY, "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 64}]})
}

static REGISTER: Op = Op {
    name: "RegisterTaskDefinition",
    body: revision,
    varies: false,
};

static DESCRIBE: Op = Op {
    name: "DescribeTaskDefinition",
    body: |_, _, _| json!({"taskDefinition": FAMILY}),
    varies: false,
};

/// What `revisions` is asked to do.
pub struct RevisionArgs {
    pub kecs: String,
    pub sizes: Vec<usize>,
    pub clients: usize,
    pub seconds: u64,
}

impl RevisionArgs {
    pub fn parse(kecs: String, mut it: impl Iterator<Item = String>) -> BenchResult<Self> {
        let mut a = Self {
            kecs,
            sizes: vec![1, 1_000, 10_000, 100_000],
            clients: 16,
            seconds: 5,
        };
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--sizes" => a.sizes = crate::scale::sizes(it.next())?,
                "--clients" => a.clients = it.next().ok_or("--clients N")?.parse()?,
                "--seconds" => a.seconds = it.next().ok_or("--seconds S")?.parse()?,
                "--kecs" => a.kecs = it.next().ok_or("--kecs PATH")?,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(a)
    }
}

/// Registers `count` revisions of the family, 16 at a time.
async fn fill(target: &Target, count: usize) -> BenchResult<()> {
    let http = client();
    let body = revision(&Fixture::default(), 0, 0);
    let calls: Vec<usize> = (0..count).collect();
    for wave in calls.chunks(16) {
        for answer in join_all(
            wave.iter()
                .map(|_| call(&http, target, "RegisterTaskDefinition", &body)),
        )
        .await
        {
            answer?;
        }
    }
    Ok(())
}

/// Prints one row per size: the family's size, then each operation's rate and p99.
pub async fn revisions(args: RevisionArgs) -> BenchResult<()> {
    let duration = Duration::from_secs(args.seconds);
    println!(
        "one family, {} clients, {} s per operation, KECS {} (runtime none, durable data dir)",
        args.clients, args.seconds, args.kecs
    );
    println!("| revisions before | RegisterTaskDefinition req/s | p99 ms | DescribeTaskDefinition (family) req/s | p99 ms |");
    println!("|---|---|---|---|---|");
    for &size in &args.sizes {
        let target = Target::kecs(&args.kecs).await?;
        fill(&target, size).await?;
        let fixture = Fixture::default();
        let describe: Stats = run_op(&target, &DESCRIBE, &fixture, args.clients, duration).await?;
        let register: Stats = run_op(&target, &REGISTER, &fixture, args.clients, duration).await?;
        println!(
            "| {size} | {:.0} | {:.2} | {:.0} | {:.2} |",
            register.throughput, register.p99_ms, describe.throughput, describe.p99_ms
        );
        if register.errors + describe.errors > 0 {
            return Err(format!(
                "{} failed requests at {size} revisions",
                register.errors + describe.errors
            )
            .into());
        }
        target.stop_gracefully()?;
    }
    Ok(())
}
