//! `kecs-bench report`: every figure of the benchmark page in one run, printed as the README's
//! tables under the machine, the build and the date: the API under load next to moto and the
//! bare handler, the durable RunTask storm, the reads next to nginx, KECS holding 100k tasks,
//! and RunTask-to-RUNNING on Docker next to the engine itself (`bench-runtask`, when it was
//! built beside this binary). A part that cannot run here (no wrk, no Docker) says why and the
//! report goes on.

use std::future::Future;
use std::process::Command;

use crate::BenchResult;

/// What `report` is asked to do.
pub struct ReportArgs {
    pub kecs: String,
    pub seconds: u64,
    pub storm_seconds: u64,
    pub scale_sizes: Vec<usize>,
    pub runtask_iterations: usize,
    pub moto: bool,
}

impl ReportArgs {
    pub fn parse(kecs: String, mut it: impl Iterator<Item = String>) -> BenchResult<Self> {
        let mut a = Self {
            kecs,
            seconds: 5,
            storm_seconds: 60,
            scale_sizes: vec![100_000],
            runtask_iterations: 30,
            moto: true,
        };
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--kecs" => a.kecs = it.next().ok_or("--kecs PATH")?,
                "--seconds" => a.seconds = it.next().ok_or("--seconds S")?.parse()?,
                "--storm-seconds" => {
                    a.storm_seconds = it.next().ok_or("--storm-seconds S")?.parse()?
                }
                "--scale-sizes" => a.scale_sizes = crate::scale::sizes(it.next())?,
                "--runtask" => a.runtask_iterations = it.next().ok_or("--runtask N")?.parse()?,
                "--no-moto" => a.moto = false,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(a)
    }
}

/// The first line of `command`'s output, or what kept it from running.
fn first_line(command: &mut Command) -> String {
    match command.output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_string(),
        Err(e) => format!("unknown ({e})"),
    }
}

/// The value of `key` in a `/proc` file of `key: value` lines.
fn proc_field(file: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// The header every table of the report stands under.
fn header(kecs: &str) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = proc_field("/proc/meminfo", "MemTotal")
        .and_then(|kib| kib.split_whitespace().next()?.parse::<f64>().ok())
        .map_or("unknown".into(), |kib| {
            format!("{:.0} GiB", kib / 1048576.0)
        });
    let cpu = proc_field("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    let profile = |path: &str| {
        if path.contains("/release/") {
            "release"
        } else if path.contains("/debug/") {
            "debug"
        } else {
            "unknown profile"
        }
    };
    let bench = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    format!(
        "date: {}\nmachine: {cores} cores ({cpu}), {memory}; {}\nbuild: {} ({}, {kecs}); kecs-bench {bench}",
        first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])),
        first_line(Command::new("docker").args(["version", "--format", "Docker {{.Server.Version}}"])),
        first_line(Command::new(kecs).arg("version")),
        profile(kecs),
    )
}

/// Runs one part of the report under its title; a part that fails says so.
async fn part(title: &str, run: impl Future<Output = BenchResult<()>>) {
    println!("\n## {title}\n");
    if let Err(e) = run.await {
        println!("(not measured: {e})");
    }
}

/// `bench-runtask` built beside this binary, with KECS at `kecs`, `iterations` times.
fn runtask(kecs: &str, iterations: usize) -> BenchResult<()> {
    let exe = std::env::current_exe()?;
    let beside = exe.with_file_name("bench-runtask");
    if !beside.exists() {
        return Err(format!(
            "{} is not built (cargo build --release -p kecs-e2e --bin bench-runtask)",
            beside.display()
        )
        .into());
    }
    let status = Command::new(&beside)
        .arg(iterations.to_string())
        .env("KECS_BIN", kecs)
        .status()?;
    if !status.success() {
        return Err(format!("bench-runtask failed: {status}").into());
    }
    Ok(())
}

pub async fn run(args: ReportArgs) -> BenchResult<()> {
    println!("# KECS benchmark report\n\n{}", header(&args.kecs));
    let kecs = args.kecs.clone();
    part(
        "The ECS API under load: KECS, moto, the bare handler",
        crate::bench(crate::Args {
            clients: 16,
            seconds: args.seconds,
            kecs: kecs.clone(),
            moto: args.moto,
        }),
    )
    .await;
    part(
        "Durable RunTask storm",
        crate::storm::run(crate::storm::StormArgs {
            kecs: kecs.clone(),
            seconds: args.storm_seconds,
            clients: 16,
        }),
    )
    .await;
    part(
        "Reads next to nginx (wrk)",
        crate::reads::run(crate::reads::ReadArgs {
            kecs: kecs.clone(),
            seconds: args.seconds,
            connections: 16,
        }),
    )
    .await;
    part(
        "KECS holding many tasks",
        crate::scale::scale(crate::scale::ScaleArgs {
            kecs: kecs.clone(),
            sizes: args.scale_sizes.clone(),
            rate: 1000.0,
            seconds: args.seconds,
            in_memory: false,
        }),
    )
    .await;
    part("RunTask to RUNNING on Docker", async {
        runtask(&kecs, args.runtask_iterations)
    })
    .await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_names_the_machine_and_the_build() {
        let h = header("/nowhere/release/kecs");
        assert!(h.contains("cores"), "{h}");
        assert!(h.contains("GiB"), "{h}");
        assert!(h.contains("build: unknown ("), "{h}");
        assert!(h.contains("release"), "{h}");
        assert!(h.starts_with("date: 2"), "{h}");
    }
}
