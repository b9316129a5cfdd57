//! The servers under test: KECS and moto as child processes, and the ceiling (a bare actix-web
//! handler answering one fixed body) as this binary run again with `ceiling PORT`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchResult;

/// A server the load is sent to.
pub struct Target {
    /// `kecs`, `moto` or `ceiling`.
    pub name: String,
    /// `http://127.0.0.1:<port>/`.
    pub url: String,
    /// Whether it answers a fixed body whatever is asked (the ceiling).
    pub fixed: bool,
    /// KECS's admin port.
    admin: Option<u16>,
    child: Child,
    data: Option<tempfile::TempDir>,
}

pub fn free_port() -> BenchResult<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until something accepts connections on `port`.
pub fn wait_listening(port: u16, what: &str) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not listen on {port} within 30 s").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Waits until `GET /ready` on the admin port `port` answers 200.
pub fn wait_ready(port: u16) -> BenchResult<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !is_ready(port) {
        if Instant::now() > deadline {
            return Err(format!("kecs was not ready on {port} within 30 s").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn is_ready(port: u16) -> bool {
    get(port, "/ready")
        .is_ok_and(|answer| answer.starts_with("HTTP/1.") && answer.get(9..12) == Some("200"))
}

/// The whole answer (status line, headers, body) to `GET path` on `port`.
fn get(port: u16, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    conn.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    Ok(answer)
}

/// The value of the unlabelled sample `name` in a Prometheus text exposition.
pub fn sample(exposition: &str, name: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let (metric, value) = line.split_once(' ')?;
        (metric == name).then(|| value.trim().parse().ok())?
    })
}

impl Target {
    fn new(name: &str, port: u16, child: Child, data: Option<tempfile::TempDir>) -> Self {
        Target {
            name: name.into(),
            url: format!("http://127.0.0.1:{port}/"),
            fixed: name == "ceiling",
            admin: None,
            child,
            data,
        }
    }

    /// `kecs server --runtime none` on a fresh durable data directory.
    pub async fn kecs(binary: &str) -> BenchResult<Self> {
        Self::kecs_in(binary, tempfile::tempdir()?).await
    }

    /// `kecs server --runtime none` on `data`; returns once it answers (its state loaded) and
    /// says it is ready.
    pub async fn kecs_in(binary: &str, data: tempfile::TempDir) -> BenchResult<Self> {
        let dir = data.path().as_os_str().to_owned();
        Self::kecs_on(binary, &dir, Some(data)).await
    }

    /// `kecs server --runtime none --data-dir :memory:` (nothing kept, no restart possible).
    pub async fn kecs_in_memory(binary: &str) -> BenchResult<Self> {
        Self::kecs_on(binary, std::ffi::OsStr::new(":memory:"), None).await
    }

    async fn kecs_on(
        binary: &str,
        data_dir: &std::ffi::OsStr,
        data: Option<tempfile::TempDir>,
    ) -> BenchResult<Self> {
        let (api, admin) = (free_port()?, free_port()?);
        let child = Command::new(binary)
            .arg("server")
            .args(["--api-addr", &format!("127.0.0.1:{api}")])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .args(["--runtime", "none"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {binary}: {e}"))?;
        wait_listening(api, "kecs")?;
        wait_ready(admin)?;
        let mut target = Self::new("kecs", api, child, data);
        target.admin = Some(admin);
        Ok(target)
    }

    /// The unlabelled sample `name` of KECS's `GET /metrics`.
    pub fn metric(&self, name: &str) -> BenchResult<f64> {
        let port = self.admin.ok_or("only KECS has metrics")?;
        let answer = get(port, "/metrics")?;
        sample(&answer, name).ok_or_else(|| format!("no {name} in /metrics").into())
    }

    /// moto's server (`python3 -m moto.server`).
    pub async fn moto() -> BenchResult<Self> {
        let port = free_port()?;
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting moto: {e}"))?;
        let mut target = Self::new("moto", port, child, None);
        if let Err(e) = wait_listening(port, "moto") {
            target.stop_ref();
            return Err(e);
        }
        Ok(target)
    }

    /// This binary as `ceiling PORT`.
    pub async fn ceiling() -> BenchResult<Self> {
        let port = free_port()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["ceiling", &port.to_string()])
            .stdout(Stdio::null())
            .spawn()?;
        wait_listening(port, "ceiling")?;
        Ok(Self::new("ceiling", port, child, None))
    }

    /// Stops with SIGTERM (a graceful shutdown) and hands back the data directory.
    pub fn stop_gracefully(mut self) -> BenchResult<tempfile::TempDir> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        self.child.wait()?;
        self.data.take().ok_or_else(|| "no data directory".into())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory in MiB (Linux `/proc`).
    pub fn rss_mib(&self) -> BenchResult<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .ok_or("no VmRSS")?
            .parse()?;
        Ok(kib / 1024.0)
    }

    fn stop_ref(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        self.stop_ref();
    }
}

/// What the ceiling answers: a DescribeClusters answer of one cluster.
const FIXED: &str = r#"{"clusters":[{"clusterArn":"arn:aws:ecs:us-east-1:000000000000:cluster/bench","clusterName":"bench","status":"ACTIVE","registeredContainerInstancesCount":0,"runningTasksCount":0,"pendingTasksCount":0,"activeServicesCount":0}],"failures":[]}"#;

/// Serves the fixed answer on `port` with actix-web's defaults (one worker per core, as KECS).
pub fn serve_ceiling(port: u16) -> BenchResult<()> {
    actix_web::rt::System::new().block_on(async move {
        actix_web::HttpServer::new(|| {
            actix_web::App::new().route(
                "/",
                // The body is read, as a real handler does (an unread body costs the connection).
                actix_web::web::post().to(|_body: actix_web::web::Bytes| async {
                    actix_web::HttpResponse::Ok()
                        .content_type("application/x-amz-json-1.1")
                        .body(FIXED)
                }),
            )
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unlabelled_sample_is_read() {
        let text = "# HELP kecs_store_backlog_groups x\nkecs_store_backlog_groups_total 9\n\
            kecs_store_backlog_groups 42\nkecs_tasks{cluster=\"a\"} 3\n";
        assert_eq!(sample(text, "kecs_store_backlog_groups"), Some(42.0));
        assert_eq!(sample(text, "kecs_tasks"), None);
    }
}
