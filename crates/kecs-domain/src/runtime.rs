//! The container runtime port: where a task's containers really run.
//!
//! Adapters: `none` ([`NoneRuntime`], here, so embedders need no Docker client) runs nothing and
//! reports every container RUNNING at once; Docker and Kubernetes adapters live in kecs-runtime.

use crate::model::{NetworkBinding, Task, TaskDefinition};

/// Why a runtime could not do what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuntimeError {
    /// This runtime cannot run tasks (yet).
    #[error("{0}")]
    Unsupported(String),
    /// The engine failed.
    #[error("{0}")]
    Engine(String),
}

/// One container as the runtime started it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StartedContainer {
    /// The container's name in the task definition.
    pub name: String,
    /// The engine's ID of the container, when there is one.
    pub runtime_id: Option<String>,
    /// The host ports its container ports were published on.
    pub network_bindings: Vec<NetworkBinding>,
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
}

/// Runs tasks' containers.
#[async_trait::async_trait]
pub trait ContainerRuntime: Send + Sync {
    /// The runtime's name (`none`, `docker`, `kubernetes`).
    fn name(&self) -> &'static str;

    /// `Err` when this runtime cannot run tasks at all, checked before any task is created.
    fn check_available(&self) -> Result<(), RuntimeError>;

    /// Starts every container of `task` from `definition`.
    async fn start_task(
        &self,
        task: &Task,
        definition: &TaskDefinition,
    ) -> Result<Vec<StartedContainer>, RuntimeError>;

    /// Stops every container of `task`.
    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError>;
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

    fn check_available(&self) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn start_task(
        &self,
        _task: &Task,
        definition: &TaskDefinition,
    ) -> Result<Vec<StartedContainer>, RuntimeError> {
        Ok(definition
            .container_definitions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|c| StartedContainer {
                name: c.name.clone().unwrap_or_default(),
                ..StartedContainer::default()
            })
            .collect())
    }

    async fn stop_task(&self, _task: &Task) -> Result<(), RuntimeError> {
        Ok(())
    }
}

/// A runtime selected by configuration whose adapter is not built yet: it refuses to run tasks
/// with a message that names it, rather than pretending.
#[derive(Debug, Clone, Copy)]
pub struct UnavailableRuntime(pub &'static str);

#[async_trait::async_trait]
impl ContainerRuntime for UnavailableRuntime {
    fn name(&self) -> &'static str {
        self.0
    }

    fn check_available(&self) -> Result<(), RuntimeError> {
        Err(RuntimeError::Unsupported(format!(
            "The {} runtime cannot run tasks in this KECS version yet; start KECS with --runtime none to emulate tasks without containers.",
            self.0
        )))
    }

    async fn start_task(
        &self,
        _: &Task,
        _: &TaskDefinition,
    ) -> Result<Vec<StartedContainer>, RuntimeError> {
        self.check_available().map(|()| vec![])
    }

    async fn stop_task(&self, _: &Task) -> Result<(), RuntimeError> {
        Ok(())
    }
}
