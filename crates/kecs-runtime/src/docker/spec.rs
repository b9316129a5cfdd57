//! The Docker container an ECS container definition becomes (pure: no engine calls), applied as
//! the ECS agent applies it: `command` replaces the image's CMD and `entryPoint` its ENTRYPOINT,
//! limits in MiB and CPU units, health checks in seconds, volumes by name.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, DeviceMapping, EndpointIpamConfig, EndpointSettings, HealthConfig,
    HostConfig, NetworkingConfig, PortBinding, ResourcesUlimits,
};
use kecs_domain::arn;
use kecs_domain::model::{
    ContainerDefinition, ContainerOverride, NetworkMode, Scope, Task, TaskDefinition,
    TransportProtocol, Volume,
};
use kecs_domain::ports::runtime::{NetworkNames, StartedContainer};

use super::{LABEL_CLUSTER, LABEL_CONTAINER, LABEL_INSTANCE, LABEL_TASK};

/// A dockerLabel that asks for an awsvpc task's ports to be published on the host (awsvpc tasks
/// are otherwise reached at their own address, as on AWS).
pub const LABEL_PUBLISH: &str = "kecs.publish-ports";

const SECOND_NS: i64 = 1_000_000_000;

/// The last segment of an ARN (a task's ID, a cluster's name).
pub fn last_segment(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or_default()
}

/// The Docker name of a task's container: `kecs-<cluster>-<task id>-<container>`.
pub fn container_name(task: &Task, name: &str) -> String {
    format!(
        "kecs-{}-{}-{name}",
        last_segment(task.cluster_arn.as_deref().unwrap_or_default()),
        last_segment(task.task_arn.as_deref().unwrap_or_default())
    )
}

/// The Docker network of a cluster.
pub fn network_name(cluster_arn: &str) -> String {
    format!("kecs-{}", last_segment(cluster_arn))
}

/// The Docker volume an ECS volume of `task` is: shared ones by their own name, task-scoped
/// ones (and ones with no configuration, as on Fargate) per task. `None` for host paths.
pub fn volume_source(task: &Task, volume: &Volume) -> Option<String> {
    let name = volume.name.clone().unwrap_or_default();
    if volume
        .host
        .as_ref()
        .and_then(|h| h.source_path.as_ref())
        .is_some()
    {
        return None;
    }
    let shared = volume
        .docker_volume_configuration
        .as_ref()
        .and_then(|c| c.scope)
        == Some(Scope::Shared);
    Some(if shared {
        name
    } else {
        format!(
            "kecs-{}-{name}",
            last_segment(task.task_arn.as_deref().unwrap_or_default())
        )
    })
}

/// What a container definition needs besides itself.
pub struct SpecInput<'a> {
    /// The task.
    pub task: &'a Task,
    /// Its definition.
    pub td: &'a TaskDefinition,
    /// The container's definition.
    pub def: &'a ContainerDefinition,
    /// RunTask's override for it.
    pub over: Option<&'a ContainerOverride>,
    /// The task's containers created before this one (awsvpc, volumesFrom, links).
    pub created: &'a [StartedContainer],
    /// This KECS's instance label.
    pub instance: &'a str,
    /// The address chosen for an awsvpc task (given to the container owning its namespace).
    pub address: Option<std::net::Ipv4Addr>,
    /// What the task's containers answer to on the cluster's network.
    pub names: &'a NetworkNames,
}

fn environment(def: &ContainerDefinition, over: Option<&ContainerOverride>) -> Vec<String> {
    crate::env::environment(def, over)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect()
}

type Ports = (
    Vec<String>,
    HashMap<String, Option<Vec<bollard::models::PortBinding>>>,
);

/// Exposed ports and host bindings for `defs`' port mappings (hostPort 0 or none: dynamic).
fn ports<'d>(defs: impl Iterator<Item = &'d ContainerDefinition>, publish: bool) -> Ports {
    let mut exposed = vec![];
    let mut bindings = HashMap::new();
    for p in defs.flat_map(|d| d.port_mappings.iter().flatten()) {
        let Some(port) = p.container_port else {
            continue;
        };
        let proto = p.protocol.unwrap_or(TransportProtocol::Tcp);
        let key = format!("{port}/{proto}");
        exposed.push(key.clone());
        if publish {
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
    }
    (exposed, bindings)
}

fn health(def: &ContainerDefinition) -> Option<HealthConfig> {
    let h = def.health_check.as_ref()?;
    let secs = |v: Option<i32>, default: i64| v.map_or(default, i64::from) * SECOND_NS;
    Some(HealthConfig {
        test: h.command.clone(),
        interval: Some(secs(h.interval, 30)),
        timeout: Some(secs(h.timeout, 5)),
        retries: Some(h.retries.map_or(3, i64::from)),
        start_period: Some(secs(h.start_period, 0)),
        start_interval: None,
    })
}

/// `source:target[:ro]` binds for the definition's mountPoints.
fn binds(input: &SpecInput) -> Vec<String> {
    let volumes = input.td.volumes.as_deref().unwrap_or_default();
    input
        .def
        .mount_points
        .iter()
        .flatten()
        .filter_map(|m| {
            let v = volumes.iter().find(|v| v.name == m.source_volume)?;
            let source = match v.host.as_ref().and_then(|h| h.source_path.clone()) {
                Some(path) => path,
                None => volume_source(input.task, v)?,
            };
            let target = m.container_path.clone()?;
            let ro = if m.read_only == Some(true) { ":ro" } else { "" };
            Some(format!("{source}:{target}{ro}"))
        })
        .collect()
}

fn runtime_id_of<'c>(created: &'c [StartedContainer], name: &str) -> Option<&'c str> {
    created
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.runtime_id.as_deref())
}

/// The engine's request for one container of a task.
pub fn container_spec(input: &SpecInput) -> ContainerCreateBody {
    let (task, def, over) = (input.task, input.def, input.over);
    let name = def.name.clone().unwrap_or_default();
    let mode = input.td.network_mode.unwrap_or(NetworkMode::Bridge);
    let cluster_arn = task.cluster_arn.clone().unwrap_or_default();
    // awsvpc: the first container created owns the task's network namespace; the rest join it.
    let netns_owner = input.created.first().and_then(|c| c.runtime_id.clone());
    let joins = mode == NetworkMode::Awsvpc && netns_owner.is_some();
    // `disableNetworking`: loopback only, as the ECS agent runs it (not in awsvpc, where ECS
    // refuses it: the task's containers share one namespace).
    let isolated = def.disable_networking == Some(true) && mode != NetworkMode::Awsvpc;
    let network_mode = match mode {
        _ if isolated => "none".to_string(),
        NetworkMode::Host => "host".to_string(),
        NetworkMode::None => "none".to_string(),
        NetworkMode::Awsvpc if joins => {
            format!("container:{}", netns_owner.clone().unwrap_or_default())
        }
        _ => network_name(&cluster_arn),
    };
    let docker_labels = def.docker_labels.clone().unwrap_or_default();
    let (exposed, bindings) = match mode {
        _ if isolated => (vec![], HashMap::new()),
        NetworkMode::Awsvpc if joins => (vec![], HashMap::new()),
        NetworkMode::Awsvpc => {
            // The owner carries the whole task's ports.
            let defs = input.td.container_definitions.iter().flatten();
            let asked = input.td.container_definitions.iter().flatten().any(|d| {
                d.docker_labels
                    .as_ref()
                    .and_then(|l| l.get(LABEL_PUBLISH))
                    .is_some_and(|v| v == "true")
            });
            ports(defs, asked)
        }
        NetworkMode::Host | NetworkMode::None => (vec![], HashMap::new()),
        _ => ports(std::iter::once(def), true),
    };
    let mut labels: HashMap<String, String> = docker_labels.into_iter().collect();
    labels.extend([
        (LABEL_INSTANCE.to_string(), input.instance.to_string()),
        (LABEL_CLUSTER.to_string(), cluster_arn.clone()),
        (
            LABEL_TASK.to_string(),
            task.task_arn.clone().unwrap_or_default(),
        ),
        (LABEL_CONTAINER.to_string(), name.clone()),
    ]);
    let mib = |m: i32| i64::from(m) * 1024 * 1024;
    let linux = def.linux_parameters.clone().unwrap_or_default();
    let links = (mode == NetworkMode::Bridge && !isolated).then(|| {
        def.links
            .iter()
            .flatten()
            .filter_map(|l| {
                let (target, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
                input
                    .created
                    .iter()
                    .any(|c| c.name == target)
                    .then(|| format!("{}:{alias}", container_name(task, target)))
            })
            .collect::<Vec<_>>()
    });
    let volumes_from: Vec<String> = def
        .volumes_from
        .iter()
        .flatten()
        .filter_map(|v| {
            let id = runtime_id_of(input.created, v.source_container.as_deref()?)?;
            let ro = if v.read_only == Some(true) {
                ":ro"
            } else {
                ":rw"
            };
            Some(format!("{id}{ro}"))
        })
        .collect();
    let host_config = HostConfig {
        network_mode: Some(network_mode),
        port_bindings: Some(bindings),
        memory: over.and_then(|o| o.memory).or(def.memory).map(mib),
        memory_reservation: over
            .and_then(|o| o.memory_reservation)
            .or(def.memory_reservation)
            .map(mib),
        // Docker's minimum share is 2; ECS sends 2 for anything lower too.
        cpu_shares: over
            .and_then(|o| o.cpu)
            .or(def.cpu)
            .filter(|c| *c > 0)
            .map(|c| i64::from(c.max(2))),
        readonly_rootfs: def.readonly_root_filesystem,
        privileged: def.privileged,
        ulimits: def.ulimits.as_ref().map(|u| {
            u.iter()
                .map(|u| ResourcesUlimits {
                    name: u.name.map(|n| n.as_str().to_string()),
                    soft: u.soft_limit.map(i64::from),
                    hard: u.hard_limit.map(i64::from),
                })
                .collect()
        }),
        extra_hosts: def.extra_hosts.as_ref().map(|h| {
            h.iter()
                .map(|h| {
                    format!(
                        "{}:{}",
                        h.hostname.clone().unwrap_or_default(),
                        h.ip_address.clone().unwrap_or_default()
                    )
                })
                .collect()
        }),
        dns: def.dns_servers.clone(),
        dns_search: def.dns_search_domains.clone(),
        sysctls: def.system_controls.as_ref().map(|s| {
            s.iter()
                .filter_map(|c| Some((c.namespace.clone()?, c.value.clone().unwrap_or_default())))
                .collect()
        }),
        init: linux.init_process_enabled,
        cap_add: linux.capabilities.as_ref().and_then(|c| c.add.clone()),
        cap_drop: linux.capabilities.as_ref().and_then(|c| c.drop.clone()),
        shm_size: linux.shared_memory_size.map(mib),
        tmpfs: linux.tmpfs.as_ref().map(|t| {
            t.iter()
                .filter_map(|t| {
                    let mut opts: Vec<String> = t.mount_options.clone().unwrap_or_default();
                    if let Some(size) = t.size {
                        opts.insert(0, format!("size={size}m"));
                    }
                    Some((t.container_path.clone()?, opts.join(",")))
                })
                .collect()
        }),
        devices: linux.devices.as_ref().map(|d| {
            d.iter()
                .map(|d| DeviceMapping {
                    path_on_host: d.host_path.clone(),
                    path_in_container: d.container_path.clone().or(d.host_path.clone()),
                    cgroup_permissions: Some(match d.permissions.as_deref() {
                        None | Some([]) => "rwm".into(),
                        Some(p) => p
                            .iter()
                            .map(|p| &p.as_str()[..1])
                            .collect::<Vec<_>>()
                            .concat(),
                    }),
                })
                .collect()
        }),
        binds: Some(binds(input)),
        volumes_from: Some(volumes_from),
        ..Default::default()
    };
    // On a user-defined network, links are the endpoint's (the engine resolves their aliases);
    // an awsvpc task's chosen address too, and the names the task answers to: the engine's DNS
    // answers them while the container runs. An awsvpc task has one endpoint, its owner's.
    let links = links.filter(|l| !l.is_empty());
    let address = input.address.filter(|_| !joins && !isolated);
    let aliases = match mode {
        _ if isolated || joins => vec![],
        NetworkMode::Awsvpc => input.names.all(),
        NetworkMode::Bridge => input.names.of(&name).to_vec(),
        _ => vec![],
    };
    let aliases = (!aliases.is_empty()).then_some(aliases);
    let networking_config =
        (links.is_some() || address.is_some() || aliases.is_some()).then(|| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network_name(&cluster_arn),
                EndpointSettings {
                    links,
                    aliases,
                    ipam_config: address.map(|ip| EndpointIpamConfig {
                        ipv4_address: Some(ip.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )])),
        });
    // On ECS an awsvpc task's hostname is its address's EC2-style name; elsewhere the
    // definition's, and a container joining another's namespace cannot set its own.
    let region = arn::parse(task.task_arn.as_deref().unwrap_or_default())
        .map(|a| a.region.to_string())
        .unwrap_or_default();
    let hostname = match address {
        Some(ip) => Some(super::network::ec2_hostname(ip, &region)),
        None if joins => None,
        None => def.hostname.clone(),
    };
    ContainerCreateBody {
        image: def.image.clone(),
        cmd: over
            .and_then(|o| o.command.clone())
            .or_else(|| def.command.clone()),
        entrypoint: def.entry_point.clone(),
        env: Some(environment(def, over)),
        working_dir: def.working_directory.clone(),
        user: def.user.clone(),
        hostname,
        exposed_ports: Some(exposed),
        tty: def.pseudo_terminal,
        open_stdin: def.interactive,
        healthcheck: health(def),
        // ECS waits 30 s after SIGTERM before SIGKILL unless the container says otherwise.
        stop_timeout: Some(def.stop_timeout.map_or(30, i64::from)),
        labels: Some(labels),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kecs_domain::model::*;

    fn task() -> Task {
        Task {
            task_arn: Some("arn:aws:ecs:us-east-1:000000000000:task/c1/abc".into()),
            cluster_arn: Some("arn:aws:ecs:us-east-1:000000000000:cluster/c1".into()),
            ..Task::default()
        }
    }

    fn spec(td: &TaskDefinition, name: &str, created: &[StartedContainer]) -> ContainerCreateBody {
        let t = task();
        let def = td.container(name).unwrap();
        container_spec(&SpecInput {
            task: &t,
            td,
            def,
            over: None,
            created,
            instance: "i1",
            address: None,
            names: &NetworkNames::default(),
        })
    }

    fn created(name: &str) -> StartedContainer {
        StartedContainer {
            name: name.into(),
            runtime_id: Some(format!("id-{name}")),
            ..StartedContainer::default()
        }
    }

    #[test]
    fn maps_the_container_definition_field_by_field() {
        let def = ContainerDefinition {
            name: Some("app".into()),
            image: Some("img".into()),
            entry_point: Some(vec!["/bin/sh".into(), "-c".into()]),
            command: Some(vec!["echo hi".into()]),
            cpu: Some(1),
            memory: Some(64),
            memory_reservation: Some(32),
            readonly_root_filesystem: Some(true),
            privileged: Some(true),
            ulimits: Some(vec![Ulimit {
                name: Some(UlimitName::Nofile),
                soft_limit: Some(1024),
                hard_limit: Some(2048),
            }]),
            extra_hosts: Some(vec![HostEntry {
                hostname: Some("db.local".into()),
                ip_address: Some("10.0.0.5".into()),
            }]),
            docker_labels: Some([("team".to_string(), "a".to_string())].into()),
            linux_parameters: Some(LinuxParameters {
                init_process_enabled: Some(true),
                capabilities: Some(KernelCapabilities {
                    add: Some(vec!["NET_ADMIN".into()]),
                    drop: Some(vec!["MKNOD".into()]),
                }),
                tmpfs: Some(vec![Tmpfs {
                    container_path: Some("/scratch".into()),
                    size: Some(16),
                    mount_options: Some(vec!["noexec".into()]),
                }]),
                ..LinuxParameters::default()
            }),
            health_check: Some(HealthCheck {
                command: Some(vec!["CMD-SHELL".into(), "true".into()]),
                interval: Some(5),
                retries: Some(2),
                ..HealthCheck::default()
            }),
            mount_points: Some(vec![
                MountPoint {
                    source_volume: Some("data".into()),
                    container_path: Some("/data".into()),
                    read_only: Some(true),
                },
                MountPoint {
                    source_volume: Some("cache".into()),
                    container_path: Some("/cache".into()),
                    read_only: None,
                },
            ]),
            stop_timeout: Some(2),
            ..ContainerDefinition::default()
        };
        let td = TaskDefinition {
            container_definitions: Some(vec![def]),
            volumes: Some(vec![
                Volume {
                    name: Some("data".into()),
                    host: Some(HostVolumeProperties {
                        source_path: Some("/srv/data".into()),
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: Some("cache".into()),
                    ..Volume::default()
                },
            ]),
            ..TaskDefinition::default()
        };
        let body = spec(&td, "app", &[]);
        let host = body.host_config.clone().unwrap();
        assert_eq!(body.entrypoint.unwrap(), ["/bin/sh", "-c"]);
        assert_eq!(body.cmd.unwrap(), ["echo hi"]);
        assert_eq!(host.memory, Some(64 * 1024 * 1024));
        assert_eq!(host.memory_reservation, Some(32 * 1024 * 1024));
        assert_eq!(host.cpu_shares, Some(2));
        assert_eq!(
            (host.readonly_rootfs, host.privileged, host.init),
            (Some(true), Some(true), Some(true))
        );
        let ulimit = &host.ulimits.unwrap()[0];
        assert_eq!(
            (ulimit.name.as_deref(), ulimit.soft, ulimit.hard),
            (Some("nofile"), Some(1024), Some(2048))
        );
        assert_eq!(host.extra_hosts.unwrap(), ["db.local:10.0.0.5"]);
        assert_eq!(host.cap_add.unwrap(), ["NET_ADMIN"]);
        assert_eq!(host.cap_drop.unwrap(), ["MKNOD"]);
        assert_eq!(host.tmpfs.unwrap()["/scratch"], "size=16m,noexec");
        assert_eq!(
            host.binds.unwrap(),
            ["/srv/data:/data:ro", "kecs-abc-cache:/cache"]
        );
        assert_eq!(host.network_mode.as_deref(), Some("kecs-c1"));
        let labels = body.labels.unwrap();
        assert_eq!(labels["team"], "a");
        assert_eq!(labels[LABEL_CONTAINER], "app");
        assert_eq!(labels[LABEL_INSTANCE], "i1");
        let hc = body.healthcheck.unwrap();
        assert_eq!(hc.test.unwrap(), ["CMD-SHELL", "true"]);
        assert_eq!(
            (hc.interval, hc.timeout, hc.retries),
            (Some(5 * SECOND_NS), Some(5 * SECOND_NS), Some(2))
        );
        assert_eq!(body.stop_timeout, Some(2));
    }

    fn two(mode: NetworkMode, publish: bool) -> TaskDefinition {
        let c = |name: &str, port: i32| ContainerDefinition {
            name: Some(name.into()),
            port_mappings: Some(vec![PortMapping {
                container_port: Some(port),
                host_port: Some(port),
                ..PortMapping::default()
            }]),
            docker_labels: publish
                .then(|| [(LABEL_PUBLISH.to_string(), "true".to_string())].into()),
            links: Some(vec!["web:www".into()]),
            volumes_from: Some(vec![VolumeFrom {
                source_container: Some("web".into()),
                read_only: Some(true),
            }]),
            ..ContainerDefinition::default()
        };
        TaskDefinition {
            network_mode: Some(mode),
            container_definitions: Some(vec![c("web", 80), c("app", 9000)]),
            ..TaskDefinition::default()
        }
    }

    #[test]
    fn awsvpc_containers_share_the_first_ones_namespace() {
        let td = two(NetworkMode::Awsvpc, false);
        let owner = spec(&td, "web", &[]);
        let host = owner.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("kecs-c1"));
        assert!(host.port_bindings.unwrap().is_empty(), "not published");
        let joiner = spec(&td, "app", &[created("web")]);
        assert_eq!(
            joiner.networking_config, None,
            "links are a bridge-mode feature"
        );
        let host = joiner.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("container:id-web"));

        let published = spec(&two(NetworkMode::Awsvpc, true), "web", &[]);
        let bindings = published.host_config.unwrap().port_bindings.unwrap();
        assert_eq!(bindings.len(), 2, "the owner publishes the task's ports");
        assert_eq!(
            bindings["9000/tcp"].as_ref().unwrap()[0]
                .host_port
                .as_deref(),
            Some("9000")
        );
    }

    #[test]
    fn an_awsvpc_task_is_named_after_its_chosen_address() {
        let td = two(NetworkMode::Awsvpc, false);
        let t = task();
        let def = td.container_definitions.as_ref().unwrap()[0].clone();
        let none = NetworkNames::default();
        let input = |created| SpecInput {
            task: &t,
            td: &td,
            def: &def,
            over: None,
            created,
            instance: "i1",
            address: Some(std::net::Ipv4Addr::new(172, 20, 0, 7)),
            names: &none,
        };
        let owner = container_spec(&input(&[]));
        assert_eq!(
            owner.hostname.as_deref(),
            Some("ip-172-20-0-7.ec2.internal")
        );
        let endpoints = owner.networking_config.unwrap().endpoints_config.unwrap();
        let ipam = endpoints["kecs-c1"].ipam_config.clone().unwrap();
        assert_eq!(ipam.ipv4_address.as_deref(), Some("172.20.0.7"));
        let joiner = container_spec(&input(&[created("web")]));
        assert_eq!((joiner.hostname, joiner.networking_config), (None, None));
    }

    #[test]
    fn a_task_answers_to_its_names_on_the_cluster_network() {
        let mut names = NetworkNames::default();
        names.add("web", "backend");
        names.add("app", "backend.local");
        let t = task();
        let aliases = |td: &TaskDefinition, name: &str, created: &[StartedContainer]| {
            let body = container_spec(&SpecInput {
                task: &t,
                td,
                def: td.container(name).unwrap(),
                over: None,
                created,
                instance: "i1",
                address: None,
                names: &names,
            });
            body.networking_config
                .and_then(|n| n.endpoints_config?.remove("kecs-c1")?.aliases)
                .unwrap_or_default()
        };
        // Bridge: each container has its own endpoint and names.
        let bridge = two(NetworkMode::Bridge, false);
        assert_eq!(aliases(&bridge, "web", &[]), ["backend"]);
        assert_eq!(
            aliases(&bridge, "app", &[created("web")]),
            ["backend.local"]
        );
        // awsvpc: the namespace's owner answers to every name of the task.
        let awsvpc = two(NetworkMode::Awsvpc, false);
        assert_eq!(aliases(&awsvpc, "web", &[]), ["backend", "backend.local"]);
        assert!(aliases(&awsvpc, "app", &[created("web")]).is_empty());
    }

    #[test]
    fn bridge_links_and_volumes_from_name_earlier_containers() {
        let td = two(NetworkMode::Bridge, false);
        let app = spec(&td, "app", &[created("web")]);
        let endpoints = app.networking_config.unwrap().endpoints_config.unwrap();
        assert_eq!(
            endpoints["kecs-c1"].links.as_deref().unwrap(),
            ["kecs-c1-abc-web:www"]
        );
        let host = app.host_config.unwrap();
        assert_eq!(host.volumes_from.unwrap(), ["id-web:ro"]);
        assert_eq!(
            host.port_bindings.unwrap()["9000/tcp"].as_ref().unwrap()[0]
                .host_port
                .as_deref(),
            Some("9000")
        );
    }

    #[test]
    fn a_container_with_networking_disabled_has_loopback_only() {
        let mut td = two(NetworkMode::Bridge, true);
        if let Some(defs) = td.container_definitions.as_mut() {
            defs[1].disable_networking = Some(true);
        }
        let isolated = spec(&td, "app", &[]);
        let host = isolated.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert!(host.port_bindings.unwrap_or_default().is_empty());
        assert!(isolated.networking_config.is_none());
        let web = spec(&td, "web", &[]);
        assert_eq!(
            web.host_config.unwrap().network_mode.as_deref(),
            Some("kecs-c1")
        );
    }
}
