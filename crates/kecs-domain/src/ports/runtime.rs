//! The container runtime port: where a task's containers really run.
//!
//! KECS drives a task's lifecycle itself (dependency order, health, exits); a runtime only does
//! what one engine call does: prepare a task's shared resources, create and start one container,
//! report its state, stop and remove a task's containers, read logs, and list what it runs.
//!
//! Adapters: `none` ([`NoneRuntime`], here, so embedders need no Docker client) runs nothing and
//! reports every container RUNNING at once; Docker and Kubernetes adapters live in kecs-runtime.

use crate::model::{HealthStatus, NetworkBinding, Task, TaskDefinition};
use crate::Cause;

/// Why a runtime could not do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// The engine refused or failed. `message` is what ECS would show for it (a task's stop
    /// reason starts with it: `CannotPullContainerError: ...`).
    #[error("{message}")]
    Engine {
        /// What went wrong, as a task's stop reason says it.
        message: String,
        /// The engine client's error, when there is one.
        #[source]
        cause: Option<Cause>,
    },
}

impl RuntimeError {
    /// The engine failed; `message` says how, as a stop reason would.
    pub fn engine(message: impl Into<String>) -> Self {
        Self::Engine {
            message: message.into(),
            cause: None,
        }
    }
    /// The engine client failed with `cause`; `message` says what that means for the task.
    pub fn engine_with(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Engine {
            message: message.into(),
            cause: Some(Cause::new(cause)),
        }
    }
}

/// The credentials of a private registry (a container's `repositoryCredentials`, resolved).
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for RegistryAuth {
    /// Never shows the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One container as the runtime created or started it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StartedContainer {
    /// The container's name in the task definition.
    pub name: String,
    /// The engine's ID of the container, when there is one.
    pub runtime_id: Option<String>,
    /// The host ports its container ports were published on.
    pub network_bindings: Vec<NetworkBinding>,
    /// The task's private address, when the runtime gives the task its own (awsvpc).
    pub private_ipv4: Option<String>,
    /// The digest of the container's image, when the runtime knows it (pulled from a registry).
    pub image_digest: Option<String>,
}

/// The names a task's containers answer to on its cluster's network, by container: a service's
/// Service Connect aliases and discovery names, its Cloud Map name and its own name
/// (`rules::network_names` decides them). Empty for a task that is not a service's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkNames {
    by_container: Vec<(String, Vec<String>)>,
}

impl NetworkNames {
    /// `container` answers to `name` too (a name given twice is kept once).
    pub fn add(&mut self, container: &str, name: &str) {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() {
            return;
        }
        let at = match self.by_container.iter().position(|(c, _)| c == container) {
            Some(at) => at,
            None => {
                self.by_container.push((container.to_string(), vec![]));
                self.by_container.len() - 1
            }
        };
        let names = &mut self.by_container[at].1;
        if !names.contains(&name) {
            names.push(name);
        }
    }

    /// The names of the container `container`.
    pub fn of(&self, container: &str) -> &[String] {
        self.by_container
            .iter()
            .find(|(c, _)| c == container)
            .map_or(&[], |(_, names)| names.as_slice())
    }

    /// Every name of the task, once each (for a runtime that gives the task one address).
    pub fn all(&self) -> Vec<String> {
        let mut all: Vec<String> = vec![];
        for name in self.by_container.iter().flat_map(|(_, names)| names) {
            if !all.contains(name) {
                all.push(name.clone());
            }
        }
        all
    }

    /// True when no container has a name.
    pub fn is_empty(&self) -> bool {
        self.by_container.is_empty()
    }
}

/// One line a container wrote (stdout or stderr).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogLine {
    /// When the engine received it, in epoch milliseconds, when the engine says.
    pub timestamp_ms: Option<i64>,
    /// The line, without its line break.
    pub message: String,
}

/// The resources of the machine tasks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostResources {
    /// CPU units: 1,024 per core.
    pub cpu: i32,
    /// Memory, in MiB.
    pub memory_mib: i32,
}

/// Where a container is in its life, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerStatus {
    /// Created, not started yet.
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// It ended, with this exit code when the engine knows it.
    Exited(Option<i32>),
    /// The engine no longer has it.
    Missing,
}

/// A container's state: status and, when it has a health check, its health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContainerState {
    /// Created, running, exited or gone.
    pub status: ContainerStatus,
    /// HEALTHY / UNHEALTHY once its health check has decided; UNKNOWN before or without one.
    pub health: Option<HealthStatus>,
}

/// A container the runtime runs for KECS, as found by listing (start-up recovery and resync).
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedContainer {
    /// The ARN of its task.
    pub task_arn: String,
    /// The container's name in the task definition.
    pub container: String,
    /// The engine's ID.
    pub runtime_id: String,
    /// Its state.
    pub state: ContainerState,
}

/// Something the runtime observed about one container of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum RuntimeEvent {
    /// A container exited on its own or was stopped.
    Exited(ContainerExit),
    /// A container's health check changed its verdict.
    Health {
        /// The task's ARN.
        task_arn: String,
        /// The container's name in the task definition.
        container: String,
        /// The new verdict.
        status: HealthStatus,
    },
}

/// A container of a task exited on its own or was stopped (reported by the runtime's events).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContainerExit {
    /// The task's ARN.
    pub task_arn: String,
    /// The container's name in the task definition.
    pub container: String,
    /// Its exit code, when the engine knows it.
    pub exit_code: Option<i32>,
    /// Why it exited, as ECS words it (`OutOfMemoryError: …`), when the engine says.
    pub reason: Option<String>,
}

/// A command started in a container (ExecuteCommand): its output as it comes, its stdin, and
/// its exit code once the output has ended.
pub struct ExecProcess {
    /// What the command writes (stdout and stderr in the order written).
    pub output: futures::stream::BoxStream<'static, Result<Vec<u8>, RuntimeError>>,
    /// The command's stdin: each message is written to it; dropping the sender closes it.
    pub input: futures::channel::mpsc::UnboundedSender<Vec<u8>>,
    /// The command's exit code (asked once `output` has ended; `None` if the engine has none).
    pub exit_code: futures::future::BoxFuture<'static, Result<Option<i64>, RuntimeError>>,
}

impl std::fmt::Debug for ExecProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecProcess").finish_non_exhaustive()
    }
}

/// Runs tasks' containers.
#[async_trait::async_trait]
pub trait ContainerRuntime: Send + Sync {
    /// The runtime's name (`none`, `docker`, `kubernetes`).
    fn name(&self) -> &'static str;

    /// True when tasks need no engine work at all (the `none` runtime): KECS then records a new
    /// task RUNNING, and a stopped one STOPPED, in the request itself.
    fn is_emulated(&self) -> bool {
        false
    }

    /// What the engine reports as it happens (exits, health verdicts), for the task
    /// controller. A stream that fails or ends is subscribed to again; a runtime without one
    /// reports nothing here (the periodic resync still reads its [`inventory`](Self::inventory)).
    fn events(&self) -> futures::stream::BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        Box::pin(futures::stream::empty())
    }

    /// Prepares what a task's containers share (its cluster's network). Nothing by default.
    async fn prepare_task(
        &self,
        task: &Task,
        definition: &TaskDefinition,
    ) -> Result<(), RuntimeError> {
        let _ = (task, definition);
        Ok(())
    }

    /// Creates (does not start) the container `name` of `task`. `created` lists the task's
    /// containers created before it, in order, for the runtimes that join them (a shared network
    /// namespace, volumesFrom, links). `auth`, when given, is what the image is pulled with
    /// (`repositoryCredentials`). An image that cannot be had fails with an error starting
    /// `CannotPullContainerError`. `names` are what the task's containers answer to on the
    /// cluster's network, for the runtimes that name them there.
    async fn create_container(
        &self,
        task: &Task,
        definition: &TaskDefinition,
        name: &str,
        created: &[StartedContainer],
        auth: Option<&RegistryAuth>,
        names: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError>;

    /// Starts a created container; returns it with its published ports.
    async fn start_container(
        &self,
        task: &Task,
        container: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError>;

    /// The state of a container by its runtime ID.
    async fn container_state(&self, runtime_id: &str) -> Result<ContainerState, RuntimeError>;

    /// Stops every container of `task` (SIGTERM, then SIGKILL after each one's stopTimeout).
    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError>;

    /// Removes every container of the task `task_arn`, running or not. Nothing by default.
    async fn remove_task(&self, task_arn: &str) -> Result<(), RuntimeError> {
        let _ = task_arn;
        Ok(())
    }

    /// The lines a container of `task` wrote (stdout and stderr), oldest first: the last `tail`
    /// of them, or all. None by default.
    async fn logs(
        &self,
        task: &Task,
        container: &str,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        let _ = (task, container, tail);
        Ok(vec![])
    }

    /// The engine's resource usage statistics of a container by its runtime ID, in the Docker
    /// Engine API's shape (what the task metadata endpoint's `/stats` answers); none by default.
    async fn container_stats(
        &self,
        runtime_id: &str,
    ) -> Result<Option<serde_json::Value>, RuntimeError> {
        let _ = runtime_id;
        Ok(None)
    }

    /// The machine the engine runs tasks on, when it is one machine: its CPU units (1,024 per
    /// core) and memory (MiB), which KECS registers as a container instance of each cluster
    /// that runs EC2 tasks. None by default.
    fn host_resources(&self) -> Option<HostResources> {
        None
    }

    /// The engine's name of the container `container` of `task` (Docker's container name), when
    /// the engine names containers.
    fn engine_name(&self, task: &Task, container: &str) -> Option<String> {
        let _ = (task, container);
        None
    }

    /// Every container this KECS runs, whatever its state. None by default.
    async fn inventory(&self) -> Result<Vec<ObservedContainer>, RuntimeError> {
        Ok(vec![])
    }

    /// Removes what the runtime keeps for a deleted cluster once its tasks are removed (the
    /// Docker network of its tasks). Nothing by default.
    async fn remove_cluster(&self, cluster_arn: &str) -> Result<(), RuntimeError> {
        let _ = cluster_arn;
        Ok(())
    }

    /// Removes what the runtime keeps for a service that is gone (INACTIVE): the Kubernetes
    /// Service of its tasks. Nothing by default.
    async fn remove_service(&self, service_arn: &str) -> Result<(), RuntimeError> {
        let _ = service_arn;
        Ok(())
    }

    /// Starts `command` in the container `container` of `task` (with a terminal when `tty`)
    /// and attaches to it (ExecuteCommand's session). Refused by default.
    async fn exec(
        &self,
        task: &Task,
        container: &str,
        command: &[String],
        tty: bool,
    ) -> Result<ExecProcess, RuntimeError> {
        let _ = (task, container, command, tty);
        Err(RuntimeError::engine(format!(
            "the {} runtime cannot run commands in containers",
            self.name()
        )))
    }
}

/// The `none` runtime: API-only emulation for users who test their deployment scripts. Tasks go
/// straight to RUNNING without containers, and stop at once.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoneRuntime;

#[async_trait::async_trait]
impl ContainerRuntime for NoneRuntime {
    fn name(&self) -> &'static str {
        "none"
    }

    fn is_emulated(&self) -> bool {
        true
    }

    async fn create_container(
        &self,
        _: &Task,
        _: &TaskDefinition,
        name: &str,
        _: &[StartedContainer],
        _: Option<&RegistryAuth>,
        _: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        Ok(StartedContainer {
            name: name.to_string(),
            ..StartedContainer::default()
        })
    }

    async fn start_container(
        &self,
        _: &Task,
        container: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        Ok(container.clone())
    }

    async fn container_state(&self, _: &str) -> Result<ContainerState, RuntimeError> {
        Ok(ContainerState {
            status: ContainerStatus::Running,
            health: None,
        })
    }

    async fn stop_task(&self, _: &Task) -> Result<(), RuntimeError> {
        Ok(())
    }
}
