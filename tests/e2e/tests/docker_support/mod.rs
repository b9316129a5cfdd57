//! Shared set-up of the Docker end-to-end tests: a KECS on the docker runtime with its own
//! cluster, helpers to run and watch tasks, and clean-up of everything it started.

#![allow(dead_code)]

use std::process::Command;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{ContainerDefinition, Task};
use kecs_e2e::Server;

/// The image scripts/test-image.sh builds from Debian's busybox-static.
pub const IMAGE: &str = "kecs-test/busybox:latest";

/// Removes every container, volume and network KECS started for a cluster when dropped.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let label = format!(
            "label=kecs.cluster=arn:aws:ecs:us-east-1:000000000000:cluster/{}",
            self.0
        );
        for id in docker(&["ps", "-aq", "--filter", &label]).split_whitespace() {
            docker(&["rm", "-f", "-v", id]);
        }
        let name = format!("name=^kecs-{}$", self.0);
        for id in docker(&["network", "ls", "-q", "--filter", &name]).split_whitespace() {
            docker(&["network", "rm", id]);
        }
    }
}

/// Runs `docker args`, returning its stdout.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `docker inspect -f <format> <id>`.
pub fn inspect(id: &str, format: &str) -> String {
    docker(&["inspect", "-f", format, id])
}

/// A busybox container running `script` with `sh -c`.
pub fn shell(name: &str, script: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name(name)
        .image(IMAGE)
        .command("sh")
        .command("-c")
        .command(script)
        .memory(32)
        .stop_timeout(1)
}

/// A KECS on the docker runtime with one cluster.
pub struct Case {
    pub kecs: Server,
    pub ecs: aws_sdk_ecs::Client,
    pub cluster: String,
    _cleanup: Cleanup,
    _dir: Option<tempfile::TempDir>,
}

impl Case {
    /// Starts KECS (docker runtime) on a fresh data directory and creates `cluster`.
    pub async fn start(cluster: &str) -> Self {
        Self::start_with(cluster, &[]).await
    }

    /// [`Case::start`], with `extra` flags for KECS.
    pub async fn start_with(cluster: &str, extra: &[&str]) -> Self {
        Self::start_with_env(cluster, extra, &[]).await
    }

    /// [`Case::start_with`], with `env` set for KECS too.
    pub async fn start_with_env(cluster: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut case = Self::open(dir.path(), cluster, extra, env).await;
        case._dir = Some(dir);
        case
    }

    /// Starts KECS on `dir` and creates `cluster` (idempotent, so a restart can call it too).
    pub async fn start_on(dir: &std::path::Path, cluster: &str) -> Self {
        Self::open(dir, cluster, &[], &[]).await
    }

    async fn open(
        dir: &std::path::Path,
        cluster: &str,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let cleanup = Cleanup(cluster.to_string());
        let mut args = vec!["--runtime", "docker"];
        args.extend_from_slice(extra);
        let kecs = Server::start_with_env(dir, &args, env).await;
        let ecs = kecs.client().await;
        ecs.create_cluster()
            .cluster_name(cluster)
            .send()
            .await
            .unwrap();
        Self {
            kecs,
            ecs,
            cluster: cluster.to_string(),
            _cleanup: cleanup,
            _dir: None,
        }
    }

    /// Registers `family` with `containers` (and `build` applied to the request).
    pub async fn register(&self, family: &str, containers: Vec<ContainerDefinition>) {
        let mut req = self.ecs.register_task_definition().family(family);
        for c in containers {
            req = req.container_definitions(c);
        }
        req.send().await.unwrap();
    }

    /// Runs one task of `family`; returns its ARN.
    pub async fn run(&self, family: &str) -> String {
        let out = self
            .ecs
            .run_task()
            .cluster(&self.cluster)
            .task_definition(family)
            .send()
            .await
            .unwrap();
        out.tasks()[0].task_arn().unwrap().to_string()
    }

    /// The ARNs of the tasks of `service` whose desired status is `desired`.
    pub async fn service_tasks(
        &self,
        service: &str,
        desired: aws_sdk_ecs::types::DesiredStatus,
    ) -> Vec<String> {
        self.ecs
            .list_tasks()
            .cluster(&self.cluster)
            .service_name(service)
            .desired_status(desired)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec()
    }

    /// The service as DescribeServices shows it.
    pub async fn describe_service(&self, service: &str) -> aws_sdk_ecs::types::Service {
        self.ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(service)
            .send()
            .await
            .unwrap()
            .services()[0]
            .clone()
    }

    /// The task as DescribeTasks shows it.
    pub async fn describe(&self, arn: &str) -> Task {
        self.ecs
            .describe_tasks()
            .cluster(&self.cluster)
            .tasks(arn)
            .send()
            .await
            .unwrap()
            .tasks()[0]
            .clone()
    }

    /// Polls until the task is RUNNING and returns it; panics with it when it stopped instead.
    pub async fn wait_running(&self, arn: &str) -> Task {
        self.wait_for(arn, "RUNNING").await
    }

    /// Polls until the task is STOPPED and returns it.
    pub async fn wait_stopped(&self, arn: &str) -> Task {
        self.wait_for(arn, "STOPPED").await
    }

    async fn wait_for(&self, arn: &str, status: &str) -> Task {
        let mut task = self.describe(arn).await;
        for _ in 0..600 {
            if task.last_status() == Some(status) {
                return task;
            }
            if task.last_status() == Some("STOPPED") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            task = self.describe(arn).await;
        }
        panic!("the task did not reach {status}: {task:#?}")
    }

    /// ECS's waiters (as the SDK implements them) agree.
    pub async fn waiters_agree(&self, arn: &str, running: bool) {
        let wait = Duration::from_secs(30);
        let result = if running {
            self.ecs
                .wait_until_tasks_running()
                .cluster(&self.cluster)
                .tasks(arn)
                .wait(wait)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        } else {
            self.ecs
                .wait_until_tasks_stopped()
                .cluster(&self.cluster)
                .tasks(arn)
                .wait(wait)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        assert!(result.is_ok(), "waiter: {result:?}");
    }

    /// The last lines a container of the task wrote, from the admin endpoint.
    pub async fn logs(&self, arn: &str, container: &str) -> Vec<String> {
        let id = arn.rsplit('/').next().unwrap();
        let url = format!(
            "{}/_kecs/tasks/{id}/containers/{container}/logs?tail=50",
            self.kecs.admin
        );
        let body: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        body["lines"]
            .as_array()
            .unwrap_or(&vec![])
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect()
    }

    /// Polls the container's logs until a line equals `line` (or 20 s pass).
    pub async fn wait_for_log(&self, arn: &str, container: &str, line: &str) -> Vec<String> {
        let mut lines = vec![];
        for _ in 0..100 {
            lines = self.logs(arn, container).await;
            if lines.iter().any(|l| l.trim() == line) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        lines
    }
}

/// The container `name` of `task`.
pub fn container<'t>(task: &'t Task, name: &str) -> &'t aws_sdk_ecs::types::Container {
    task.containers()
        .iter()
        .find(|c| c.name() == Some(name))
        .unwrap_or_else(|| panic!("no container {name} in {task:#?}"))
}
