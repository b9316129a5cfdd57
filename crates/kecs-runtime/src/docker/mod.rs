//! Tasks as containers on the local Docker engine.
//!
//! Each ECS cluster gets its own bridge network (`kecs-<cluster>`); every container carries
//! labels (this KECS's instance, cluster, task ARN, container name) so KECS finds its own
//! containers again after a restart, and never touches another KECS's.

mod cleanup;
mod create;
mod endpoints;
mod exec;
mod name_set;
mod network;
mod observe;
mod pull;
pub mod spec;

pub use endpoints::ENDPOINT_NETWORK;

use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListContainersOptionsBuilder, StopContainerOptionsBuilder};
use bollard::Docker;
use futures::stream::BoxStream;
use futures::StreamExt;
use kecs_domain::model::{NetworkMode, Task, TaskDefinition};
use kecs_domain::ports::runtime::{
    ContainerRuntime, ContainerState, ContainerStatus, ExecProcess, HostResources, LogLine,
    NetworkNames, ObservedContainer, RegistryAuth, RuntimeError, RuntimeEvent, StartedContainer,
};

use spec::{container_name, network_name, volume_source};

/// Label naming the KECS instance (its data directory) that started a container.
pub const LABEL_INSTANCE: &str = "kecs.instance";
/// Label naming the cluster ARN of a container KECS started.
pub const LABEL_CLUSTER: &str = "kecs.cluster";
/// Label naming the task ARN.
pub const LABEL_TASK: &str = "kecs.task-arn";
/// Label naming the container's name in its task definition.
pub const LABEL_CONTAINER: &str = "kecs.container";

/// The Docker runtime.
pub struct DockerRuntime {
    docker: Docker,
    instance: String,
    /// Docker accepts two networks of one name: creating them one at a time avoids that.
    network_lock: tokio::sync::Mutex<()>,
    /// The cluster networks known to exist.
    networks: name_set::NameSet,
    /// Containers created that publish no port, by ID: what their start would inspect is known
    /// at creation. One missing here (KECS restarted between the two) is inspected.
    uninspected: name_set::NameSet,
    /// Addresses given to awsvpc tasks that may not be running yet.
    reserved: network::Reserved,
    /// Pulls images as the pull behaviour says.
    puller: pull::Puller,
    /// The engine's machine, as a container instance registers it.
    host: Option<HostResources>,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime")
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

fn engine(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::engine(e.to_string())
}

/// True when the engine did not answer at all (stopped, restarting, socket gone), as opposed to
/// answering with an error.
fn is_unreachable(e: &bollard::errors::Error) -> bool {
    use bollard::errors::Error as E;
    matches!(
        e,
        E::IOError { .. }
            | E::HyperLegacyError { .. }
            | E::HyperResponseError { .. }
            | E::RequestTimeoutError
            | E::SocketNotFoundError(_)
    )
}

/// An engine call that failed while KECS was doing `what`; an engine that does not answer is
/// named as such, so a task that could not start says why.
fn failed(what: impl std::fmt::Display, e: bollard::errors::Error) -> RuntimeError {
    if is_unreachable(&e) {
        let message = format!(
            "the Docker engine at {} does not answer ({what}: {e})",
            socket()
        );
        RuntimeError::engine_with(message, e)
    } else {
        RuntimeError::engine_with(format!("{what}: {e}"), e)
    }
}

fn is_status(e: &bollard::errors::Error, code: u16) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code, .. } if *status_code == code)
}

/// The engine KECS talks to: `$DOCKER_HOST` (`unix://…` or `tcp://…`), else the default Unix
/// socket.
fn socket() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

fn label_filter(label: &str, value: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{label}={value}")])])
}

impl DockerRuntime {
    /// Connects to the engine and checks that it answers; the error names the socket tried.
    /// `instance` labels every container, so that this KECS adopts and cleans up only its own.
    pub async fn connect(instance: &str) -> Result<Self, RuntimeError> {
        let unreachable = |e: bollard::errors::Error| {
            let message = format!("no Docker engine answers at {}: {e} (use --runtime none to run without containers)", socket());
            RuntimeError::engine_with(message, e)
        };
        let docker = Docker::connect_with_defaults().map_err(unreachable)?;
        docker.ping().await.map_err(unreachable)?;
        Ok(Self {
            instance: instance.to_string(),
            network_lock: tokio::sync::Mutex::new(()),
            networks: name_set::NameSet::default(),
            uninspected: name_set::NameSet::default(),
            reserved: network::Reserved::default(),
            puller: pull::Puller::new(crate::PullBehavior::default()),
            host: endpoints::host_resources(&docker).await,
            docker,
        })
    }

    /// Pulls images as `behavior` says (the ECS agent's `ECS_IMAGE_PULL_BEHAVIOR`).
    pub fn with_image_pull(mut self, behavior: crate::PullBehavior) -> Self {
        self.puller = pull::Puller::new(behavior);
        self
    }

    /// Containers, running or not, matching Docker `filters` (always within this instance).
    async fn list(
        &self,
        mut filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<bollard::models::ContainerSummary>, RuntimeError> {
        filters
            .entry("label".into())
            .or_default()
            .push(format!("{LABEL_INSTANCE}={}", self.instance));
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| failed("listing containers", e))
    }

    /// The containers of `task_arn`: (container name, ID).
    async fn containers_of(&self, task_arn: &str) -> Result<Vec<(String, String)>, RuntimeError> {
        Ok(self
            .list(label_filter(LABEL_TASK, task_arn))
            .await?
            .into_iter()
            .filter_map(|c| {
                let name = c.labels?.get(LABEL_CONTAINER)?.clone();
                Some((name, c.id?))
            })
            .collect())
    }

    async fn create_volumes(&self, task: &Task, td: &TaskDefinition) -> Result<(), RuntimeError> {
        for v in td.volumes.iter().flatten() {
            let Some(name) = volume_source(task, v) else {
                continue;
            };
            let config = v.docker_volume_configuration.clone().unwrap_or_default();
            let shared = config.scope == Some(kecs_domain::model::Scope::Shared);
            let mut labels: HashMap<String, String> =
                config.labels.unwrap_or_default().into_iter().collect();
            if !shared {
                labels.insert(LABEL_INSTANCE.into(), self.instance.clone());
                labels.insert(LABEL_TASK.into(), task.task_arn.clone().unwrap_or_default());
            }
            let request = VolumeCreateRequest {
                name: Some(name.clone()),
                driver: config.driver,
                driver_opts: config.driver_opts.map(|o| o.into_iter().collect()),
                labels: Some(labels),
                ..Default::default()
            };
            self.docker
                .create_volume(request)
                .await
                .map_err(|e| failed(format_args!("creating volume {name}"), e))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ContainerRuntime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    /// What Docker reports about this KECS's containers (`die` and `health_status` events).
    /// The stream ends when the engine connection drops; the caller subscribes again.
    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "event".to_string(),
                vec!["die".to_string(), "health_status".to_string()],
            ),
            (
                "label".to_string(),
                vec![format!("{LABEL_INSTANCE}={}", self.instance)],
            ),
        ]);
        let options = bollard::query_parameters::EventsOptionsBuilder::new()
            .filters(&filters)
            .build();
        Box::pin(
            self.docker
                .events(Some(options))
                .filter_map(|event| async move {
                    match event {
                        Err(e) => Some(Err(failed("following events", e))),
                        Ok(message) => observe::event(message).map(Ok),
                    }
                }),
        )
    }

    async fn prepare_task(&self, task: &Task, td: &TaskDefinition) -> Result<(), RuntimeError> {
        if !matches!(td.network_mode, Some(NetworkMode::Host | NetworkMode::None)) {
            self.ensure_network(task.cluster_arn.as_deref().unwrap_or_default())
                .await?;
        }
        self.create_volumes(task, td).await
    }

    async fn create_container(
        &self,
        task: &Task,
        td: &TaskDefinition,
        name: &str,
        created: &[StartedContainer],
        auth: Option<&RegistryAuth>,
        names: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        self.create(task, td, name, created, auth, names).await
    }

    async fn start_container(
        &self,
        _task: &Task,
        container: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        self.start(container).await
    }

    async fn container_state(&self, runtime_id: &str) -> Result<ContainerState, RuntimeError> {
        match self
            .docker
            .inspect_container(
                runtime_id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(inspected) => Ok(observe::inspected_state(&inspected)),
            Err(e) if is_status(&e, 404) => Ok(ContainerState {
                status: ContainerStatus::Missing,
                health: None,
            }),
            Err(e) => Err(failed(format_args!("inspecting container {runtime_id}"), e)),
        }
    }

    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError> {
        let containers = self
            .containers_of(task.task_arn.as_deref().unwrap_or_default())
            .await?;
        // All at once: each waits up to its own stopTimeout (SIGTERM, then SIGKILL).
        let stops = containers.iter().map(|(_, id)| async move {
            let options = StopContainerOptionsBuilder::new().build();
            match self.docker.stop_container(id, Some(options)).await {
                Ok(()) => Ok(()),
                Err(e) if is_status(&e, 304) || is_status(&e, 404) => Ok(()),
                Err(e) => Err(failed(format_args!("stopping container {id}"), e)),
            }
        });
        futures::future::join_all(stops)
            .await
            .into_iter()
            .collect::<Result<Vec<()>, _>>()
            .map(|_| ())
    }

    async fn remove_cluster(&self, cluster_arn: &str) -> Result<(), RuntimeError> {
        let name = network_name(cluster_arn);
        let _one_at_a_time = self.network_lock.lock().await;
        self.networks.remove(&name);
        match self.docker.remove_network(&name).await {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            // Containers that are not KECS's still use it: it stays.
            Err(e) => Err(failed(format_args!("removing network {name}"), e)),
        }
    }

    async fn remove_task(&self, task_arn: &str) -> Result<(), RuntimeError> {
        self.remove_task_containers(task_arn).await
    }

    async fn exec(
        &self,
        task: &Task,
        container: &str,
        command: &[String],
        tty: bool,
    ) -> Result<ExecProcess, RuntimeError> {
        exec::exec(&self.docker, task, container, command, tty).await
    }

    async fn logs(
        &self,
        task: &Task,
        container: &str,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        self.tail_logs(task, container, tail).await
    }

    async fn container_stats(
        &self,
        runtime_id: &str,
    ) -> Result<Option<serde_json::Value>, RuntimeError> {
        self.stats(runtime_id).await
    }

    fn engine_name(&self, task: &Task, container: &str) -> Option<String> {
        Some(container_name(task, container))
    }

    fn host_resources(&self) -> Option<HostResources> {
        self.host
    }

    async fn inventory(&self) -> Result<Vec<ObservedContainer>, RuntimeError> {
        Ok(self
            .list(HashMap::new())
            .await?
            .into_iter()
            .filter_map(observe::summary)
            .collect())
    }
}
