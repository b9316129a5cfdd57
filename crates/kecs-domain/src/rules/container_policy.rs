//! What a task definition may ask of the machine KECS runs on. KECS runs containers on the
//! user's own engine, so on a shared machine (a CI runner, a team's box) a task could take it
//! over: `restricted` refuses what reaches beyond the container, `permissive` (the default)
//! allows everything ECS allows.

use crate::model::{IpcMode, NetworkMode, PidMode, TaskDefinition};
use crate::EcsError;

/// The Docker socket, which gives whoever mounts it the whole engine.
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// What task definitions may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerPolicy {
    /// Everything ECS allows.
    #[default]
    Permissive,
    /// No privileged containers, host network, PID or IPC namespaces, added capabilities,
    /// devices or host-path volumes; the Docker socket only when `docker_socket` is set.
    Restricted {
        /// Whether a host volume of the Docker socket is allowed all the same.
        docker_socket: bool,
    },
}

fn refuse(what: String) -> EcsError {
    EcsError::client(format!(
        "{what} is not allowed: this KECS runs with --container-policy restricted."
    ))
}

impl ContainerPolicy {
    /// Checks `td` against the policy; the error names the first field it refuses.
    pub fn check(&self, td: &TaskDefinition) -> Result<(), EcsError> {
        let ContainerPolicy::Restricted { docker_socket } = *self else {
            return Ok(());
        };
        if td.network_mode == Some(NetworkMode::Host) {
            return Err(refuse("networkMode host".into()));
        }
        if td.pid_mode == Some(PidMode::Host) {
            return Err(refuse("pidMode host".into()));
        }
        if td.ipc_mode == Some(IpcMode::Host) {
            return Err(refuse("ipcMode host".into()));
        }
        for (i, v) in td.volumes.iter().flatten().enumerate() {
            let Some(path) = v.host.as_ref().and_then(|h| h.source_path.as_deref()) else {
                continue;
            };
            if !(docker_socket && path.trim_end_matches('/') == DOCKER_SOCKET) {
                return Err(refuse(format!("volumes[{i}].host.sourcePath ({path})")));
            }
        }
        for (i, c) in td.container_definitions.iter().flatten().enumerate() {
            let field = |name: &str| format!("containerDefinitions[{i}].{name}");
            if c.privileged == Some(true) {
                return Err(refuse(field("privileged")));
            }
            let linux = c.linux_parameters.as_ref();
            let added = linux
                .and_then(|l| l.capabilities.as_ref())
                .and_then(|k| k.add.as_ref())
                .is_some_and(|add| !add.is_empty());
            if added {
                return Err(refuse(field("linuxParameters.capabilities.add")));
            }
            if linux
                .and_then(|l| l.devices.as_ref())
                .is_some_and(|d| !d.is_empty())
            {
                return Err(refuse(field("linuxParameters.devices")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ContainerDefinition, HostVolumeProperties, KernelCapabilities, LinuxParameters, Volume,
    };

    fn td(container: ContainerDefinition) -> TaskDefinition {
        TaskDefinition {
            container_definitions: Some(vec![container]),
            ..TaskDefinition::default()
        }
    }

    fn host_volume(path: &str) -> TaskDefinition {
        TaskDefinition {
            volumes: Some(vec![Volume {
                name: Some("v".into()),
                host: Some(HostVolumeProperties {
                    source_path: Some(path.into()),
                }),
                ..Volume::default()
            }]),
            ..td(ContainerDefinition::default())
        }
    }

    #[test]
    fn restricted_refuses_what_reaches_beyond_the_container_and_names_it() {
        let strict = ContainerPolicy::Restricted {
            docker_socket: false,
        };
        let refused = |td: TaskDefinition| match strict.check(&td) {
            Err(EcsError::Client(m)) => m,
            other => panic!("expected a ClientException, got {other:?}"),
        };
        let privileged = td(ContainerDefinition {
            privileged: Some(true),
            ..ContainerDefinition::default()
        });
        assert!(refused(privileged.clone()).starts_with("containerDefinitions[0].privileged"));
        assert!(ContainerPolicy::Permissive.check(&privileged).is_ok());
        let caps = td(ContainerDefinition {
            linux_parameters: Some(LinuxParameters {
                capabilities: Some(KernelCapabilities {
                    add: Some(vec!["SYS_ADMIN".into()]),
                    drop: None,
                }),
                ..LinuxParameters::default()
            }),
            ..ContainerDefinition::default()
        });
        assert!(refused(caps).contains("capabilities.add"));
        let host_net = TaskDefinition {
            network_mode: Some(NetworkMode::Host),
            ..td(ContainerDefinition::default())
        };
        assert!(refused(host_net).starts_with("networkMode host"));
        assert!(refused(host_volume("/")).contains("volumes[0].host.sourcePath (/)"));
        assert!(refused(host_volume(DOCKER_SOCKET)).contains("docker.sock"));
        let with_socket = ContainerPolicy::Restricted {
            docker_socket: true,
        };
        assert!(with_socket.check(&host_volume(DOCKER_SOCKET)).is_ok());
        assert!(with_socket.check(&host_volume("/etc")).is_err());
        assert!(strict.check(&td(ContainerDefinition::default())).is_ok());
    }
}
