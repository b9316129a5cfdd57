//! `kecs-bench reads`: KECS's reads next to this machine's HTTP ceiling, both driven by the same
//! `wrk` client in the same run. The ceiling is nginx answering, for each operation, the very body
//! KECS answered it with (so both send the same bytes); KECS's share of nginx's rate is the figure.
//!
//! Needs `wrk` and `nginx` on the PATH (Debian: `apt-get install wrk nginx-light`).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

use crate::load::client;
use crate::servers::{free_port, wait_listening, Target};
use crate::BenchResult;

/// What `reads` is asked to do.
pub struct ReadArgs {
    pub kecs: String,
    pub seconds: u64,
    pub connections: usize,
}

impl ReadArgs {
    pub fn parse(kecs: String, mut it: impl Iterator<Item = String>) -> BenchResult<Self> {
        let mut a = Self {
            kecs,
            seconds: 5,
            connections: 16,
        };
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "--seconds" => a.seconds = it.next().ok_or("--seconds S")?.parse()?,
                "--connections" => a.connections = it.next().ok_or("--connections N")?.parse()?,
                "--kecs" => a.kecs = it.next().ok_or("--kecs PATH")?,
                other => return Err(format!("unknown argument {other}").into()),
            }
        }
        Ok(a)
    }
}

/// What wrk measured.
pub struct WrkStats {
    pub throughput: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// `123.45us` / `1.20ms` / `2.00s` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = text.split_at(split);
    let value: f64 = value.parse().ok()?;
    Some(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        _ => return None,
    })
}

/// The figures of wrk's `--latency` report.
fn parse_wrk(report: &str) -> Option<WrkStats> {
    let field = |prefix: &str| {
        report
            .lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix).map(str::trim))
    };
    Some(WrkStats {
        throughput: field("Requests/sec:")?.parse().ok()?,
        p50_ms: duration_ms(field("50%")?)?,
        p99_ms: duration_ms(field("99%")?)?,
    })
}

/// Runs wrk against `url` with `op`'s `body` for `args.seconds`.
pub fn wrk(args: &ReadArgs, dir: &Path, url: &str, op: &str, body: &str) -> BenchResult<WrkStats> {
    let script = dir.join(format!("{op}.lua"));
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.body = [==[{body}]==]\n\
             wrk.headers[\"Content-Type\"] = \"application/x-amz-json-1.1\"\n\
             wrk.headers[\"X-Amz-Target\"] = \"AmazonEC2ContainerServiceV20141113.{op}\"\n"
        ),
    )?;
    let out = Command::new("wrk")
        .args(["-t2", &format!("-c{}", args.connections)])
        .arg(format!("-d{}s", args.seconds))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(url)
        .output()
        .map_err(|e| format!("running wrk (apt-get install wrk): {e}"))?;
    let report = String::from_utf8_lossy(&out.stdout);
    if report.contains("Non-2xx") {
        return Err(format!("{op} at {url}: some answers were not 2xx:\n{report}").into());
    }
    parse_wrk(&report).ok_or_else(|| format!("unreadable wrk report:\n{report}").into())
}

/// nginx answering `body` to every request, on a free port.
struct Nginx {
    child: Child,
    url: String,
}

impl Nginx {
    fn serve(dir: &Path, name: &str, body: &str) -> BenchResult<Self> {
        let port = free_port()?;
        let prefix = dir.join(name);
        std::fs::create_dir_all(prefix.join("logs"))?;
        // nginx's `return` (its fastest answer) takes a body of at most 4 KB; a longer one
        // (ListTasks, DescribeTasks) is served from a file: a POST to a static file is a 405,
        // which `error_page` turns into the file with a 200 (as a GET).
        std::fs::create_dir_all(prefix.join("html"))?;
        std::fs::write(prefix.join("html/answer.json"), body)?;
        let answer = if body.len() < 4000 {
            format!(
                "return 200 '{}';",
                body.replace('\\', "\\\\").replace('\'', "\\'")
            )
        } else {
            "error_page 405 =200 $uri;\n      try_files /answer.json =404;".to_string()
        };
        let conf = format!(
            "worker_processes auto;\ndaemon off;\npid {pid};\nerror_log {log} warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {tmp};\n\
             open_file_cache max=16;\n\
             server {{\n    listen 127.0.0.1:{port};\n    root {html};\n    location / {{\n\
             default_type application/x-amz-json-1.1;\n      {answer}\n    }}\n  }}\n}}\n",
            pid = prefix.join("nginx.pid").display(),
            log = prefix.join("logs/error.log").display(),
            tmp = prefix.join("body").display(),
            html = prefix.join("html").display(),
        );
        let path = prefix.join("nginx.conf");
        std::fs::write(&path, conf)?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&path)
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting nginx (apt-get install nginx-light): {e}"))?;
        wait_listening(port, "nginx")?;
        Ok(Self {
            child,
            url: format!("http://127.0.0.1:{port}/"),
        })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The read operations measured, with their bodies (the fixture's cluster and tasks).
fn reads(tasks: &[String]) -> Vec<(&'static str, Value)> {
    vec![
        ("DescribeClusters", json!({"clusters": ["bench"]})),
        ("ListTasks", json!({"cluster": "bench"})),
        ("DescribeTasks", json!({"cluster": "bench", "tasks": tasks})),
    ]
}

pub async fn run(args: ReadArgs) -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let kecs = Target::kecs(&args.kecs).await?;
    let fixture = crate::workload::set_up(&kecs).await?;
    let http = client();
    println!(
        "wrk -t2 -c{} -d{}s on the same 2 cores; nginx answers each operation with KECS's own answer",
        args.connections, args.seconds
    );
    println!(
        "| operation | KECS req/s | p50 / p99 ms | nginx req/s | p50 / p99 ms | KECS / nginx |"
    );
    println!("|---|---|---|---|---|---|");
    for (op, body) in reads(&fixture.tasks) {
        let answer = crate::load::call(&http, &kecs, op, &body).await?;
        let body = body.to_string();
        let k = wrk(&args, dir.path(), &kecs.url, op, &body)?;
        let nginx = Nginx::serve(dir.path(), op, &answer.to_string())?;
        let n = wrk(&args, dir.path(), &nginx.url, op, &body)?;
        drop(nginx);
        println!(
            "| {op} | {:.0} | {:.2} / {:.2} | {:.0} | {:.2} / {:.2} | {:.0} % |",
            k.throughput,
            k.p50_ms,
            k.p99_ms,
            n.throughput,
            n.p50_ms,
            n.p99_ms,
            100.0 * k.throughput / n.throughput.max(0.001)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrk_reports_are_read() {
        let report = "Running 5s test @ http://127.0.0.1:1/\n  2 threads and 16 connections\n\
            Latency Distribution\n     50%  210.00us\n     75%  300.00us\n     90%    1.10ms\n     99%    2.50ms\n\
            100000 requests in 5.00s, 20.00MB read\nRequests/sec:  20000.50\nTransfer/sec:      4.00MB\n";
        let s = parse_wrk(report).unwrap();
        assert_eq!(s.throughput, 20000.5);
        assert!((s.p50_ms - 0.21).abs() < 1e-9);
        assert_eq!(s.p99_ms, 2.5);
        assert_eq!(duration_ms("1.5s"), Some(1500.0));
        assert!(parse_wrk("garbage").is_none());
    }
}
