//! Tasks as containers on the local Docker engine.
//!
//! Each ECS cluster gets its own bridge network (`kecs-<cluster>`); every container carries
//! labels (cluster, task ARN, container name) so KECS can find its own containers again.

use std::collections::HashMap;

use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures::{Stream, StreamExt};
use kecs_domain::model::{
    ContainerDefinition, ContainerOverride, NetworkBinding, Task, TaskDefinition, TransportProtocol,
};
use kecs_domain::runtime::{ContainerExit, ContainerRuntime, RuntimeError, StartedContainer};

/// Label naming the cluster ARN of a container KECS started.
pub const LABEL_CLUSTER: &str = "kecs.cluster";
/// Label naming the task ARN.
pub const LABEL_TASK: &str = "kecs.task-arn";
/// Label naming the container's name in its task definition.
pub const LABEL_CONTAINER: &str = "kecs.container";

/// The Docker runtime.
pub struct DockerRuntime {
    docker: Docker,
}

impl std::fmt::Debug for DockerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerRuntime").finish_non_exhaustive()
    }
}

fn engine(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Engine(e.to_string())
}

fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or_default()
}

/// The exit code in a container list's status text, e.g. `Exited (3) 5 seconds ago`.
fn exit_code_of_status(status: &str) -> Option<i32> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.parse().ok()
}

/// The socket bollard tries: `$DOCKER_HOST`, else the default Unix socket.
fn socket() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

impl DockerRuntime {
    /// Connects to the engine and checks that it answers; the error names the socket tried.
    pub async fn connect() -> Result<Self, String> {
        let unreachable = |e: &dyn std::fmt::Display| {
            format!("no Docker engine answers at {}: {e} (use --runtime none to run without containers)", socket())
        };
        let docker = Docker::connect_with_socket_defaults().map_err(|e| unreachable(&e))?;
        docker.ping().await.map_err(|e| unreachable(&e))?;
        Ok(Self { docker })
    }

    /// The exits of KECS's containers, from Docker's event stream (`die` events). The stream
    /// ends when the engine connection drops; the caller subscribes again.
    pub fn exits(
        &self,
    ) -> impl Stream<Item = Result<ContainerExit, RuntimeError>> + Send + 'static {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            ("event".to_string(), vec!["die".to_string()]),
            ("label".to_string(), vec![LABEL_TASK.to_string()]),
        ]);
        let options = bollard::query_parameters::EventsOptionsBuilder::new()
            .filters(&filters)
            .build();
        self.docker
            .events(Some(options))
            .filter_map(|event| async move {
                match event {
                    Err(e) => Some(Err(engine(e))),
                    Ok(message) => {
                        let attrs = message.actor.and_then(|a| a.attributes).unwrap_or_default();
                        Some(Ok(ContainerExit {
                            task_arn: attrs.get(LABEL_TASK)?.clone(),
                            container: attrs.get(LABEL_CONTAINER)?.clone(),
                            exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
                        }))
                    }
                }
            })
    }

    /// Every exited container KECS started, as exits: the resync that catches what the event
    /// stream missed (events before the subscription was up, or while it was broken).
    pub async fn exited(&self) -> Result<Vec<ContainerExit>, RuntimeError> {
        let filters = HashMap::from([
            ("label".to_string(), vec![LABEL_TASK.to_string()]),
            ("status".to_string(), vec!["exited".to_string()]),
        ]);
        Ok(self
            .list(filters)
            .await?
            .into_iter()
            .filter_map(|c| {
                let labels = c.labels.unwrap_or_default();
                Some(ContainerExit {
                    task_arn: labels.get(LABEL_TASK)?.clone(),
                    container: labels.get(LABEL_CONTAINER)?.clone(),
                    exit_code: c.status.as_deref().and_then(exit_code_of_status),
                })
            })
            .collect())
    }

    async fn ensure_network(&self, cluster_arn: &str) -> Result<String, RuntimeError> {
        let name = format!("kecs-{}", last_segment(cluster_arn));
        let request = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            labels: Some(HashMap::from([(
                LABEL_CLUSTER.to_string(),
                cluster_arn.to_string(),
            )])),
            ..Default::default()
        };
        match self.docker.create_network(request).await {
            Ok(_) => Ok(name),
            // 409: it exists already.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409, ..
            }) => Ok(name),
            Err(e) => Err(engine(format!("creating network {name}: {e}"))),
        }
    }

    /// The containers KECS started for `task_arn`.
    async fn containers_of(&self, task_arn: &str) -> Result<Vec<String>, RuntimeError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_TASK}={task_arn}")],
        )]);
        Ok(self
            .list(filters)
            .await?
            .into_iter()
            .filter_map(|c| c.id)
            .collect())
    }

    /// Containers, running or not, matching Docker `filters`.
    async fn list(
        &self,
        filters: HashMap<String, Vec<String>>,
    ) -> Result<Vec<bollard::models::ContainerSummary>, RuntimeError> {
        let options = ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(engine)
    }

    async fn remove(&self, ids: &[String]) {
        for id in ids {
            let options = RemoveContainerOptionsBuilder::new().force(true).build();
            if let Err(e) = self.docker.remove_container(id, Some(options)).await {
                tracing::warn!(container = %id, error = %e, "could not remove container");
            }
        }
    }

    async fn start_container(
        &self,
        task: &Task,
        network: &str,
        def: &ContainerDefinition,
        o: Option<&ContainerOverride>,
    ) -> Result<StartedContainer, RuntimeError> {
        let task_arn = task.task_arn.clone().unwrap_or_default();
        let name = def.name.clone().unwrap_or_default();
        let image = def.image.clone().unwrap_or_default();
        let mut env: Vec<(String, String)> = vec![];
        for kv in def
            .environment
            .iter()
            .flatten()
            .chain(o.and_then(|o| o.environment.as_ref()).into_iter().flatten())
        {
            let key = kv.name.clone().unwrap_or_default();
            env.retain(|(k, _)| *k != key);
            env.push((key, kv.value.clone().unwrap_or_default()));
        }
        let mut exposed = vec![];
        let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
        for p in def.port_mappings.iter().flatten() {
            let Some(port) = p.container_port else {
                continue;
            };
            let proto = p.protocol.unwrap_or(TransportProtocol::Tcp);
            let key = format!("{port}/{proto}");
            exposed.push(key.clone());
            let host = p
                .host_port
                .filter(|h| *h > 0)
                .map(|h| h.to_string())
                .unwrap_or_default();
            bindings.insert(
                key,
                Some(vec![PortBinding {
                    host_ip: Some("0.0.0.0".into()),
                    host_port: Some(host),
                }]),
            );
        }
        let mib = |m: i32| i64::from(m) * 1024 * 1024;
        let memory = o.and_then(|o| o.memory).or(def.memory);
        let reservation = o
            .and_then(|o| o.memory_reservation)
            .or(def.memory_reservation);
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: o
                .and_then(|o| o.command.clone())
                .or_else(|| def.command.clone()),
            entrypoint: def.entry_point.clone(),
            env: Some(env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: def.working_directory.clone(),
            user: def.user.clone(),
            hostname: def.hostname.clone(),
            exposed_ports: Some(exposed),
            // ECS waits 30 s after SIGTERM before SIGKILL unless the container says otherwise.
            stop_timeout: Some(def.stop_timeout.map_or(30, i64::from)),
            labels: Some(HashMap::from([
                (
                    LABEL_CLUSTER.to_string(),
                    task.cluster_arn.clone().unwrap_or_default(),
                ),
                (LABEL_TASK.to_string(), task_arn.clone()),
                (LABEL_CONTAINER.to_string(), name.clone()),
            ])),
            host_config: Some(HostConfig {
                network_mode: Some(network.to_string()),
                port_bindings: Some(bindings),
                memory: memory.map(mib),
                memory_reservation: reservation.map(mib),
                cpu_shares: def.cpu.filter(|c| *c >= 2).map(i64::from),
                ..Default::default()
            }),
            ..Default::default()
        };
        let container_name = format!(
            "kecs-{}-{}-{name}",
            last_segment(task.cluster_arn.as_deref().unwrap_or_default()),
            last_segment(&task_arn)
        );
        let options = CreateContainerOptionsBuilder::new()
            .name(&container_name)
            .build();
        let created = match self.docker.create_container(Some(options), body).await {
            Ok(c) => c,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, message }) => {
                return Err(RuntimeError::Engine(format!(
                    "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: {message}"
                )))
            }
            Err(e) => return Err(engine(format!("creating container {name}: {e}"))),
        };
        self.docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|e| engine(format!("starting container {name}: {e}")))?;
        let inspected = self
            .docker
            .inspect_container(
                &created.id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(engine)?;
        let ports = inspected
            .network_settings
            .and_then(|n| n.ports)
            .unwrap_or_default();
        let mut network_bindings = vec![];
        for (key, bound) in ports {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            for b in bound.into_iter().flatten() {
                network_bindings.push(NetworkBinding {
                    bind_ip: b.host_ip.clone(),
                    container_port: port.parse().ok(),
                    host_port: b.host_port.as_deref().and_then(|h| h.parse().ok()),
                    protocol: TransportProtocol::parse(proto),
                    ..NetworkBinding::default()
                });
            }
        }
        network_bindings.sort_by_key(|b| (b.container_port, b.bind_ip.clone()));
        Ok(StartedContainer {
            name,
            runtime_id: Some(created.id),
            network_bindings,
        })
    }
}

#[async_trait::async_trait]
impl ContainerRuntime for DockerRuntime {
    fn name(&self) -> &'static str {
        "docker"
    }

    fn check_available(&self) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn start_task(
        &self,
        task: &Task,
        definition: &TaskDefinition,
    ) -> Result<Vec<StartedContainer>, RuntimeError> {
        let network = self
            .ensure_network(task.cluster_arn.as_deref().unwrap_or_default())
            .await?;
        let overrides = task
            .overrides
            .as_ref()
            .and_then(|o| o.container_overrides.clone())
            .unwrap_or_default();
        let mut started = vec![];
        for def in definition.container_definitions.iter().flatten() {
            let o = overrides.iter().find(|o| o.name == def.name);
            match self.start_container(task, &network, def, o).await {
                Ok(s) => started.push(s),
                Err(e) => {
                    // Leave nothing half-started behind.
                    let ids: Vec<String> = started
                        .iter()
                        .filter_map(|s| s.runtime_id.clone())
                        .collect();
                    self.remove(&ids).await;
                    if let Ok(rest) = self
                        .containers_of(task.task_arn.as_deref().unwrap_or_default())
                        .await
                    {
                        self.remove(&rest).await;
                    }
                    return Err(e);
                }
            }
        }
        Ok(started)
    }

    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError> {
        for id in self
            .containers_of(task.task_arn.as_deref().unwrap_or_default())
            .await?
        {
            // The engine applies each container's stopTimeout (SIGTERM, then SIGKILL).
            let options = StopContainerOptionsBuilder::new().build();
            match self.docker.stop_container(&id, Some(options)).await {
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 304, ..
                }) => {}
                Err(e) => return Err(engine(format!("stopping container {id}: {e}"))),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_exit_codes_from_status_text() {
        assert_eq!(exit_code_of_status("Exited (3) 5 seconds ago"), Some(3));
        assert_eq!(
            exit_code_of_status("Exited (137) About a minute ago"),
            Some(137)
        );
        assert_eq!(exit_code_of_status("Up 2 seconds"), None);
    }
}
