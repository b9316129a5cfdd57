//! Creating and starting a task's containers: the engine calls a task launch waits on, kept to
//! what the answer needs (no inspection of a started container that publishes no port, no
//! look at a network already seen).

use bollard::query_parameters::CreateContainerOptionsBuilder;
use kecs_domain::model::{NetworkBinding, NetworkMode, Task, TaskDefinition, TransportProtocol};
use kecs_domain::ports::runtime::{NetworkNames, RegistryAuth, RuntimeError, StartedContainer};

use super::spec::{self, container_name, SpecInput};
use super::{engine, failed, is_status, is_unreachable, DockerRuntime};

/// Whether the engine said that a container's network does not exist.
fn network_missing(e: &bollard::errors::Error) -> bool {
    is_status(e, 404) && e.to_string().contains("network")
}

impl DockerRuntime {
    pub(super) async fn create(
        &self,
        task: &Task,
        td: &TaskDefinition,
        name: &str,
        created: &[StartedContainer],
        auth: Option<&RegistryAuth>,
        names: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        let def = td
            .container(name)
            .ok_or_else(|| engine(format!("no container {name} in the task definition")))?;
        let over = task
            .overrides
            .as_ref()
            .and_then(|o| o.container_overrides.as_ref())
            .and_then(|o| o.iter().find(|o| o.name.as_deref() == Some(name)));
        let image = def.image.clone().unwrap_or_default();
        let image_digest = self.puller.ensure(&self.docker, &image, auth).await?;
        let cluster = task.cluster_arn.as_deref().unwrap_or_default();
        // An awsvpc task's address is chosen before its first container exists (and after the
        // pull, however long that takes): its hostname is named after it.
        let address = match td.network_mode {
            Some(NetworkMode::Awsvpc) if created.is_empty() => {
                self.reserve_address(cluster).await?
            }
            _ => None,
        };
        let body = spec::container_spec(&SpecInput {
            task,
            td,
            def,
            over,
            created,
            instance: &self.instance,
            address,
            names,
        });
        // Published ports (their host ports may be the engine's choice) and an awsvpc address
        // the engine picked are read back from the started container.
        let publishes = body
            .host_config
            .as_ref()
            .and_then(|h| h.port_bindings.as_ref())
            .is_some_and(|b| !b.is_empty());
        let address_unknown =
            td.network_mode == Some(NetworkMode::Awsvpc) && created.is_empty() && address.is_none();
        let options = CreateContainerOptionsBuilder::new()
            .name(&container_name(task, name))
            .build();
        let mut answer = self
            .docker
            .create_container(Some(options.clone()), body.clone())
            .await;
        if answer.as_ref().is_err_and(network_missing) {
            // Removed behind KECS's back since it was last seen: made again, once.
            self.forget_network(cluster);
            self.ensure_network(cluster).await?;
            answer = self.docker.create_container(Some(options), body).await;
        }
        let created = match answer {
            Ok(c) => c,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                message,
            }) => {
                return Err(RuntimeError::engine(format!(
                    "CannotPullContainerError: Error response from daemon: {message}"
                )))
            }
            Err(e) if is_unreachable(&e) => {
                return Err(failed(format_args!("creating container {name}"), e))
            }
            Err(e) => {
                return Err(engine(format!(
                    "CannotCreateContainerError: Error response from daemon: {e}"
                )))
            }
        };
        if !publishes && !address_unknown {
            self.uninspected.insert(&created.id);
        }
        Ok(StartedContainer {
            name: name.to_string(),
            runtime_id: Some(created.id),
            image_digest,
            private_ipv4: address.map(|a| a.to_string()),
            ..StartedContainer::default()
        })
    }

    pub(super) async fn start(
        &self,
        container: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        let id = container.runtime_id.clone().unwrap_or_default();
        let started = self
            .docker
            .start_container(
                &id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await;
        let uninspected = self.uninspected.remove(&id);
        started.map_err(|e| {
            if is_unreachable(&e) {
                failed(format_args!("starting container {id}"), e)
            } else {
                engine(format!(
                    "CannotStartContainerError: Error response from daemon: {e}"
                ))
            }
        })?;
        if uninspected {
            return Ok(container.clone());
        }
        let inspected = self
            .docker
            .inspect_container(
                &id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|e| failed(format_args!("inspecting container {id}"), e))?;
        Ok(StartedContainer {
            network_bindings: bindings_of(&inspected),
            private_ipv4: address_of(&inspected).or_else(|| container.private_ipv4.clone()),
            ..container.clone()
        })
    }
}

fn bindings_of(inspected: &bollard::models::ContainerInspectResponse) -> Vec<NetworkBinding> {
    let ports = inspected
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.clone())
        .unwrap_or_default();
    let mut bindings = vec![];
    for (key, bound) in ports {
        let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        for b in bound.into_iter().flatten() {
            bindings.push(NetworkBinding {
                bind_ip: b.host_ip.clone(),
                container_port: port.parse().ok(),
                host_port: b.host_port.as_deref().and_then(|h| h.parse().ok()),
                protocol: TransportProtocol::parse(proto),
                ..NetworkBinding::default()
            });
        }
    }
    bindings.sort_by_key(|b| (b.container_port, b.bind_ip.clone()));
    bindings
}

fn address_of(inspected: &bollard::models::ContainerInspectResponse) -> Option<String> {
    inspected
        .network_settings
        .as_ref()?
        .networks
        .as_ref()?
        .values()
        .find_map(|n| n.ip_address.clone().filter(|ip| !ip.is_empty()))
}
