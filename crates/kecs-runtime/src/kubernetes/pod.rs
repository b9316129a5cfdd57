//! The pod an ECS task becomes (pure: no API calls), applied as the ECS agent applies a task
//! definition: `entryPoint` replaces the image's ENTRYPOINT (the container's `command`) and
//! `command` its CMD (`args`), never the other way round; CPU units become millicores (1,024
//! units = 1 vCPU); `memory` is the hard limit and `memoryReservation` the request; a health
//! check becomes a readiness probe (ready = HEALTHY; it never restarts the container, as ECS
//! does not); `stopTimeout` becomes the grace period.
//!
//! dependsOn: a container others wait on to COMPLETE or SUCCEED runs as an init container, one
//! they wait on to be HEALTHY as a sidecar (an init container with `restartPolicy: Always`,
//! its health check as the startup probe), so Kubernetes keeps the order; KECS checks the
//! conditions too (a SUCCESS dependency that fails stops the task as on ECS). `essential` is
//! KECS's: an essential container's exit stops the task.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, ExecAction, HostAlias,
    HostPathVolumeSource, LocalObjectReference, Pod, PodDNSConfig, PodSpec, Probe,
    ResourceRequirements, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kecs_domain::model::{
    ContainerCondition, ContainerDefinition, ContainerOverride, HealthCheck, NetworkMode, Task,
    TaskDefinition, TransportProtocol,
};

use super::names::{
    container_names, dns_label, namespace, pod_name, ANNOTATION_CLUSTER_ARN, ANNOTATION_CONTAINERS,
    ANNOTATION_TASK_ARN, ANNOTATION_TRACEPARENT, LABEL_INSTANCE, LABEL_SERVICE, LABEL_TASK_ID,
};
use crate::env::environment;
use crate::PullBehavior;

/// ECS agent's default stop timeout (`ECS_CONTAINER_STOP_TIMEOUT`).
const DEFAULT_STOP_TIMEOUT_SECS: i64 = 30;

/// The ECS service that started `task`, from its group (`service:<name>`).
pub fn service_name(task: &Task) -> Option<&str> {
    task.group.as_deref()?.strip_prefix("service:")
}

/// `cpu` ECS units as Kubernetes millicores (1,024 units = 1,000m).
pub fn millicores(units: i32) -> Quantity {
    Quantity(format!("{}m", (i64::from(units) * 1000 + 1023) / 1024))
}

/// MiB as a Kubernetes quantity.
pub fn mebibytes(mib: i32) -> Quantity {
    Quantity(format!("{mib}Mi"))
}

/// A health check's command as an exec probe: `CMD-SHELL x` runs `/bin/sh -c x`, `CMD a b` runs
/// `a b`; timings in seconds with ECS's defaults (30 s interval, 5 s timeout, 3 retries).
pub fn probe(check: &HealthCheck) -> Option<Probe> {
    let command = check.command.as_deref()?;
    let (kind, rest) = command.split_first()?;
    let exec = match kind.as_str() {
        "CMD-SHELL" => vec!["/bin/sh".into(), "-c".into(), rest.join(" ")],
        "CMD" => rest.to_vec(),
        _ => command.to_vec(),
    };
    Some(Probe {
        exec: Some(ExecAction {
            command: Some(exec),
        }),
        period_seconds: Some(check.interval.unwrap_or(30)),
        timeout_seconds: Some(check.timeout.unwrap_or(5)),
        failure_threshold: Some(check.retries.unwrap_or(3)),
        initial_delay_seconds: Some(check.start_period.unwrap_or(0)),
        success_threshold: Some(1),
        ..Probe::default()
    })
}

/// `user` as numeric IDs (`uid`, `uid:gid`); names cannot be resolved outside the image.
fn user_ids(user: Option<&str>) -> (Option<i64>, Option<i64>) {
    let Some(user) = user else {
        return (None, None);
    };
    let (uid, gid) = user.split_once(':').unwrap_or((user, ""));
    (uid.parse().ok(), gid.parse().ok())
}

fn resources(def: &ContainerDefinition, over: Option<&ContainerOverride>) -> ResourceRequirements {
    let mut limits = BTreeMap::new();
    let mut requests = BTreeMap::new();
    if let Some(cpu) = over.and_then(|o| o.cpu).or(def.cpu).filter(|c| *c > 0) {
        // CPU units are a share, not a cap: a request only.
        requests.insert("cpu".to_string(), millicores(cpu));
    }
    if let Some(memory) = over.and_then(|o| o.memory).or(def.memory) {
        limits.insert("memory".to_string(), mebibytes(memory));
    }
    if let Some(reservation) = over
        .and_then(|o| o.memory_reservation)
        .or(def.memory_reservation)
    {
        requests.insert("memory".to_string(), mebibytes(reservation));
    }
    ResourceRequirements {
        limits: (!limits.is_empty()).then_some(limits),
        requests: (!requests.is_empty()).then_some(requests),
        ..ResourceRequirements::default()
    }
}

fn ports(def: &ContainerDefinition, mode: NetworkMode) -> Option<Vec<ContainerPort>> {
    let ports: Vec<ContainerPort> = def
        .port_mappings
        .iter()
        .flatten()
        .filter_map(|p| {
            Some(ContainerPort {
                container_port: p.container_port?,
                // A fixed host port is published on the node, as on an EC2 instance; dynamic
                // ones (0 or none) are not: pods have their own address.
                host_port: p
                    .host_port
                    .filter(|h| *h > 0 && mode != NetworkMode::Awsvpc),
                protocol: Some(
                    match p.protocol.unwrap_or(TransportProtocol::Tcp) {
                        TransportProtocol::Udp => "UDP",
                        _ => "TCP",
                    }
                    .into(),
                ),
                // Port names are at most 15 characters in Kubernetes.
                name: p
                    .name
                    .as_deref()
                    .map(|n| dns_label(n, 15))
                    .filter(|n| n.len() <= 15 && n.chars().any(|c| c.is_ascii_lowercase())),
                ..ContainerPort::default()
            })
        })
        .collect();
    (!ports.is_empty()).then_some(ports)
}

/// The Kubernetes volume name of an ECS volume.
fn volume_name(ecs: &str) -> String {
    dns_label(ecs, 63)
}

fn volume_mounts(def: &ContainerDefinition) -> Option<Vec<VolumeMount>> {
    let mounts: Vec<VolumeMount> = def
        .mount_points
        .iter()
        .flatten()
        .filter_map(|m| {
            Some(VolumeMount {
                name: volume_name(m.source_volume.as_deref()?),
                mount_path: m.container_path.clone()?,
                read_only: m.read_only,
                ..VolumeMount::default()
            })
        })
        .collect();
    (!mounts.is_empty()).then_some(mounts)
}

/// Task volumes: a host path as a hostPath volume, any other (Docker volumes, bind mounts
/// without a path) as an emptyDir that lives as long as the pod.
fn volumes(td: &TaskDefinition) -> Option<Vec<Volume>> {
    let volumes: Vec<Volume> = td
        .volumes
        .iter()
        .flatten()
        .filter_map(|v| {
            let name = volume_name(v.name.as_deref()?);
            let host_path = v.host.as_ref().and_then(|h| h.source_path.clone());
            Some(match host_path {
                Some(path) => Volume {
                    name,
                    host_path: Some(HostPathVolumeSource {
                        path,
                        ..HostPathVolumeSource::default()
                    }),
                    ..Volume::default()
                },
                None => Volume {
                    name,
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                },
            })
        })
        .collect();
    (!volumes.is_empty()).then_some(volumes)
}

/// How other containers wait on `name`: the strongest condition any of them names.
fn awaited(td: &TaskDefinition, name: &str) -> Option<ContainerCondition> {
    td.container_definitions
        .iter()
        .flatten()
        .flat_map(|d| d.depends_on.iter().flatten())
        .filter(|dep| dep.container_name.as_deref() == Some(name))
        .filter_map(|dep| dep.condition)
        .max_by_key(|c| match c {
            ContainerCondition::Start => 0,
            ContainerCondition::Healthy => 1,
            ContainerCondition::Complete | ContainerCondition::Success => 2,
        })
}

/// One ECS container as a Kubernetes container named `k8s_name`.
pub fn container(
    k8s_name: &str,
    def: &ContainerDefinition,
    over: Option<&ContainerOverride>,
    mode: NetworkMode,
) -> Container {
    let (uid, gid) = user_ids(def.user.as_deref());
    let linux = def.linux_parameters.clone().unwrap_or_default();
    let caps = linux.capabilities.as_ref();
    let security = SecurityContext {
        privileged: def.privileged,
        read_only_root_filesystem: def.readonly_root_filesystem,
        run_as_user: uid,
        run_as_group: gid,
        capabilities: caps.map(|c| Capabilities {
            add: c.add.clone(),
            drop: c.drop.clone(),
        }),
        ..SecurityContext::default()
    };
    let env: Vec<EnvVar> = environment(def, over)
        .into_iter()
        .map(|(name, value)| EnvVar {
            name,
            value: Some(value),
            ..EnvVar::default()
        })
        .collect();
    Container {
        name: k8s_name.to_string(),
        image: def.image.clone(),
        command: def.entry_point.clone(),
        args: over
            .and_then(|o| o.command.clone())
            .or_else(|| def.command.clone()),
        env: (!env.is_empty()).then_some(env),
        ports: ports(def, mode),
        resources: Some(resources(def, over)),
        readiness_probe: def.health_check.as_ref().and_then(probe),
        security_context: (security != SecurityContext::default()).then_some(security),
        working_dir: def.working_directory.clone(),
        volume_mounts: volume_mounts(def),
        stdin: def.interactive,
        tty: def.pseudo_terminal,
        ..Container::default()
    }
}

/// What a pod needs besides the task and its definition.
pub struct PodInput<'a> {
    /// The task.
    pub task: &'a Task,
    /// Its definition.
    pub td: &'a TaskDefinition,
    /// This KECS's instance (a label on everything it creates).
    pub instance: &'a str,
    /// When the kubelet pulls the images.
    pub pull: PullBehavior,
    /// The image pull secret holding the task's `repositoryCredentials`, if it has any.
    pub pull_secret: Option<String>,
    /// The trace context of the launch that creates the pod (W3C `traceparent`), if traced.
    pub trace_parent: Option<&'a str>,
}

/// The image of container `name` of `td`.
pub fn image_of(td: &TaskDefinition, name: &str) -> String {
    td.container(name)
        .and_then(|d| d.image.clone())
        .unwrap_or_default()
}

/// The kubelet's `imagePullPolicy` closest to an ECS pull behaviour (the kubelet has no
/// fallback to a cached image after a failed pull, and no `once`).
pub fn pull_policy(pull: PullBehavior) -> &'static str {
    match pull {
        PullBehavior::Default | PullBehavior::Always => "Always",
        PullBehavior::Once | PullBehavior::PreferCached => "IfNotPresent",
    }
}

/// The Kubernetes name of each container of `td`, with its ECS name, named in definition order
/// so that the pod and the runtime IDs KECS records always agree.
pub fn container_names_of(td: &TaskDefinition) -> Vec<(String, String)> {
    container_names(
        td.container_definitions
            .iter()
            .flatten()
            .filter_map(|d| d.name.as_deref()),
    )
}

/// The pod of a task.
pub fn pod(input: &PodInput) -> Pod {
    let (task, td) = (input.task, input.td);
    let task_arn = task.task_arn.clone().unwrap_or_default();
    let cluster_arn = task.cluster_arn.clone().unwrap_or_default();
    let mode = td.network_mode.unwrap_or(NetworkMode::Bridge);
    let defs: Vec<&ContainerDefinition> = td.container_definitions.iter().flatten().collect();
    let order = kecs_domain::rules::start_order::start_order(td)
        .unwrap_or_else(|_| defs.iter().filter_map(|d| d.name.clone()).collect());
    let names = container_names_of(td);
    let overrides = task
        .overrides
        .as_ref()
        .and_then(|o| o.container_overrides.as_deref())
        .unwrap_or_default();
    let (mut init, mut regular) = (vec![], vec![]);
    for ecs_name in &order {
        let Some((k8s_name, _)) = names.iter().find(|(_, e)| e == ecs_name) else {
            continue;
        };
        let Some(def) = defs.iter().find(|d| d.name.as_deref() == Some(ecs_name)) else {
            continue;
        };
        let over = overrides
            .iter()
            .find(|o| o.name.as_deref() == Some(ecs_name));
        let mut c = container(k8s_name, def, over, mode);
        c.image_pull_policy = Some(pull_policy(input.pull).into());
        match awaited(td, ecs_name) {
            Some(ContainerCondition::Complete | ContainerCondition::Success) => init.push(c),
            Some(ContainerCondition::Healthy) => {
                c.restart_policy = Some("Always".into());
                c.startup_probe = c.readiness_probe.clone();
                init.push(c);
            }
            _ => regular.push(c),
        }
    }
    let grace = defs
        .iter()
        .filter_map(|d| d.stop_timeout)
        .map(i64::from)
        .max()
        .unwrap_or(DEFAULT_STOP_TIMEOUT_SECS);
    let host_aliases: Vec<HostAlias> = defs
        .iter()
        .flat_map(|d| d.extra_hosts.iter().flatten())
        .map(|h| HostAlias {
            ip: h.ip_address.clone().unwrap_or_default(),
            hostnames: h.hostname.clone().map(|n| vec![n]),
        })
        .collect();
    let nameservers: Vec<String> = defs
        .iter()
        .flat_map(|d| d.dns_servers.iter().flatten().cloned())
        .collect();
    let searches: Vec<String> = defs
        .iter()
        .flat_map(|d| d.dns_search_domains.iter().flatten().cloned())
        .collect();
    let dns_config = (!nameservers.is_empty() || !searches.is_empty()).then(|| PodDNSConfig {
        nameservers: (!nameservers.is_empty()).then_some(nameservers),
        searches: (!searches.is_empty()).then_some(searches),
        ..PodDNSConfig::default()
    });
    let mut labels = BTreeMap::from([
        (LABEL_INSTANCE.to_string(), input.instance.to_string()),
        (LABEL_TASK_ID.to_string(), pod_name(&task_arn)),
    ]);
    if let Some(service) = service_name(task) {
        labels.insert(LABEL_SERVICE.to_string(), dns_label(service, 63));
    }
    let container_map: BTreeMap<&str, &str> = names
        .iter()
        .map(|(k, e)| (k.as_str(), e.as_str()))
        .collect();
    let mut annotations = BTreeMap::from([
        (ANNOTATION_TASK_ARN.to_string(), task_arn.clone()),
        (ANNOTATION_CLUSTER_ARN.to_string(), cluster_arn.clone()),
        (
            ANNOTATION_CONTAINERS.to_string(),
            serde_json::to_string(&container_map).unwrap_or_default(),
        ),
    ]);
    if let Some(trace_parent) = input.trace_parent {
        annotations.insert(ANNOTATION_TRACEPARENT.to_string(), trace_parent.to_string());
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name(&task_arn)),
            namespace: Some(namespace(&cluster_arn)),
            labels: Some(labels),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            termination_grace_period_seconds: Some(grace),
            host_network: (mode == NetworkMode::Host).then_some(true),
            init_containers: (!init.is_empty()).then_some(init),
            containers: regular,
            volumes: volumes(td),
            host_aliases: (!host_aliases.is_empty()).then_some(host_aliases),
            image_pull_secrets: input
                .pull_secret
                .clone()
                .map(|name| vec![LocalObjectReference { name }]),
            dns_config,
            hostname: defs
                .iter()
                .find_map(|d| d.hostname.as_deref())
                .map(|h| dns_label(h, 63)),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}
