//! Test harness: starts the real `kecs` binary on free ports with its own data directory and
//! hands out AWS SDK clients pointed at it.

pub mod otlp;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `kecs` binary: `$KECS_BIN`, else the one built next to this test executable.
pub fn kecs_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("KECS_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>/kecs
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("kecs");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --workspace` first",
        bin.display()
    );
    bin
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `kecs server`.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:<api port>`.
    pub endpoint: String,
    /// `http://127.0.0.1:<admin port>`.
    pub admin: String,
    /// Its data directory.
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Server {
    /// Starts KECS on a fresh temporary data directory.
    pub async fn start() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let mut s = Self::start_on(temp.path(), &["--allow-reset"]).await;
        s._temp = Some(temp);
        s
    }

    /// Starts KECS on `data_dir` with extra flags. Ports are picked free just before; should
    /// another process take one first (KECS then exits at once), it starts again on new ones.
    pub async fn start_on(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_with_env(data_dir, extra, &[]).await
    }

    /// [`Server::start_on`], with `env` set for KECS too.
    pub async fn start_with_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        for _ in 0..5 {
            let mut server = Self::spawn(data_dir, extra, env);
            if server.wait_ready().await {
                return server;
            }
            let _ = server.child.take().map(|mut c| c.wait());
        }
        panic!("kecs exited at start five times (ports taken?)");
    }

    fn spawn(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let (api, admin) = (free_port(), free_port());
        let mut cmd = Command::new(kecs_bin());
        cmd.arg("server")
            .args(["--api-addr", &format!("127.0.0.1:{api}")])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .args(["--data-dir", &data_dir.to_string_lossy()])
            .args(if extra.contains(&"--runtime") {
                &[][..]
            } else {
                &["--runtime", "none"][..]
            })
            .args(extra)
            .env(
                "RUST_LOG",
                std::env::var("KECS_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().copied())
            .stdout(Stdio::null());
        if let Some(dir) = std::env::var_os("KECS_CONFORMANCE_DIR") {
            let file = PathBuf::from(dir).join(format!("rust-{}-{api}.jsonl", std::process::id()));
            cmd.env("KECS_CONFORMANCE_LOG", file);
        }
        let child = cmd.spawn().expect("spawn kecs");
        Server {
            child: Some(child),
            endpoint: format!("http://127.0.0.1:{api}"),
            admin: format!("http://127.0.0.1:{admin}"),
            data_dir: data_dir.to_path_buf(),
            _temp: None,
        }
    }

    /// Ready within 30 s: true; exited first: false.
    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{}/ready", self.admin)).send().await {
                if r.status().is_success() {
                    return true;
                }
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "kecs did not become ready in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// An ECS client for `region`.
    pub async fn client_in(&self, region: &'static str) -> aws_sdk_ecs::Client {
        self.client_as(region, "test", "test").await
    }

    /// An ECS client for `region` signing with these credentials.
    pub async fn client_as(&self, region: &str, key: &str, secret: &str) -> aws_sdk_ecs::Client {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(region.to_string()))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                key,
                secret,
                None,
                None,
                "kecs-tests",
            ))
            .load()
            .await;
        aws_sdk_ecs::Client::new(&conf)
    }

    /// An unsigned ECS API request for `op` with `body`, by hand (headers can still be added).
    pub fn raw(&self, op: &str, body: impl Into<String>) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .post(format!("{}/", self.endpoint))
            .header(
                "X-Amz-Target",
                format!("AmazonEC2ContainerServiceV20141113.{op}"),
            )
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(body.into())
    }

    /// An ECS client for us-east-1.
    pub async fn client(&self) -> aws_sdk_ecs::Client {
        self.client_in("us-east-1").await
    }

    /// The server's process ID.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().unwrap()
    }

    /// Kills the process with SIGKILL (a crash).
    pub fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
