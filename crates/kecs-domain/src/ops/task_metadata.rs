//! The task metadata endpoint (v4 and v3) as the ECS agent answers it: a container's metadata,
//! its task's, and the engine's statistics of either, in the shapes of the ECS developer
//! guide ("Amazon ECS task metadata v4 JSON response"), from what KECS knows of the task.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::arn;
use crate::core::{iso8601, Core};
use crate::model::{Container, NetworkMode, Task, TaskDefinition};
use crate::rules::task_endpoints::parse_container_id;

/// Why an endpoint request gets no answer.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// The ID names no task or container KECS knows (404).
    #[error("{0}")]
    NotFound(String),
    /// The request does not prove it may have the answer (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The request is malformed or asks for something the task cannot have (400).
    #[error("{0}")]
    BadRequest(String),
    /// The engine or a credentials source failed (500).
    #[error("{0}")]
    Failed(String),
    /// The ECS operation behind an agent API call refused, for the task `task_arn` (the agent
    /// answers `{"error": {"Arn", "Code", "Message"}}`).
    #[error("{error}")]
    Ecs {
        /// The task asked about.
        task_arn: String,
        /// What the operation answered.
        error: crate::EcsError,
    },
}

/// Which version of the endpoint is asked: v4 adds network details and the launch type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataVersion {
    /// `ECS_CONTAINER_METADATA_URI`.
    V3,
    /// `ECS_CONTAINER_METADATA_URI_V4`.
    V4,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Limits {
    #[serde(rename = "CPU", skip_serializing_if = "Option::is_none")]
    cpu: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Port {
    container_port: i32,
    protocol: String,
    host_port: i32,
    host_ip: String,
}

#[derive(Serialize)]
struct Health {
    status: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Network {
    network_mode: String,
    #[serde(rename = "IPv4Addresses", skip_serializing_if = "Vec::is_empty")]
    ipv4_addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attachment_index: Option<u32>,
    #[serde(rename = "MACAddress", skip_serializing_if = "Option::is_none")]
    mac_address: Option<String>,
    #[serde(rename = "PrivateDNSName", skip_serializing_if = "Option::is_none")]
    private_dns_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ContainerMetadata {
    docker_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    docker_name: Option<String>,
    image: String,
    #[serde(rename = "ImageID", skip_serializing_if = "Option::is_none")]
    image_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<Port>,
    labels: BTreeMap<String, String>,
    desired_status: String,
    known_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    limits: Limits,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<Health>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_driver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_options: Option<BTreeMap<String, String>>,
    #[serde(rename = "ContainerARN", skip_serializing_if = "Option::is_none")]
    container_arn: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    networks: Vec<Network>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskMetadata {
    cluster: String,
    #[serde(rename = "TaskARN")]
    task_arn: String,
    family: String,
    revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    desired_status: String,
    known_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    limits: Option<Limits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_stopped_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_stopped_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    availability_zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    launch_type: Option<String>,
    containers: Vec<ContainerMetadata>,
}

/// The task an endpoint ID names, its definition and the container's name.
fn lookup(core: &Core, id: &str) -> Result<(Task, TaskDefinition, String), EndpointError> {
    let unknown = || EndpointError::NotFound(format!("no task or container has the ID {id}"));
    let (task_arn, container) = parse_container_id(id).ok_or_else(unknown)?;
    core.read(|state| {
        let task = state.tasks.get(&task_arn)?.task.clone();
        let td = state
            .task_definition(task.task_definition_arn.as_deref()?)?
            .clone();
        Some((task, td, container))
    })
    .ok_or_else(unknown)
}

fn network_mode(td: &TaskDefinition) -> NetworkMode {
    td.network_mode.unwrap_or(NetworkMode::Bridge)
}

/// The container's networks: awsvpc tasks have their interface's address.
fn networks(task: &Task, td: &TaskDefinition, c: &Container, v: MetadataVersion) -> Vec<Network> {
    let mode = network_mode(td);
    if mode == NetworkMode::None {
        return vec![];
    }
    let addresses: Vec<String> = c
        .network_interfaces
        .iter()
        .flatten()
        .filter_map(|n| n.private_ipv4_address.clone())
        .collect();
    let detail = |name: &str| {
        task.attachments
            .iter()
            .flatten()
            .flat_map(|a| a.details.iter().flatten())
            .find(|d| d.name.as_deref() == Some(name))
            .and_then(|d| d.value.clone())
    };
    let v4 = v == MetadataVersion::V4 && mode == NetworkMode::Awsvpc;
    vec![Network {
        network_mode: mode.as_str().to_string(),
        ipv4_addresses: addresses,
        attachment_index: v4.then_some(0),
        mac_address: v4.then(|| detail("macAddress")).flatten(),
        private_dns_name: v4.then(|| detail("privateDnsName")).flatten(),
    }]
}

fn container_metadata(
    core: &Core,
    task: &Task,
    td: &TaskDefinition,
    c: &Container,
    v: MetadataVersion,
) -> ContainerMetadata {
    let name = c.name.clone().unwrap_or_default();
    let def = td.container(&name);
    let cluster_arn = task.cluster_arn.clone().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = def
        .and_then(|d| d.docker_labels.clone())
        .unwrap_or_default();
    for (key, value) in [
        (
            "cluster",
            cluster_arn.rsplit('/').next().unwrap_or_default(),
        ),
        ("container-name", name.as_str()),
        ("task-arn", task.task_arn.as_deref().unwrap_or_default()),
        (
            "task-definition-family",
            td.family.as_deref().unwrap_or_default(),
        ),
        (
            "task-definition-version",
            &td.revision.unwrap_or_default().to_string(),
        ),
    ] {
        labels.insert(format!("com.amazonaws.ecs.{key}"), value.to_string());
    }
    let exited = c.exit_code.is_some() || c.last_status.as_deref() == Some("STOPPED");
    let log = def.and_then(|d| d.log_configuration.as_ref());
    ContainerMetadata {
        docker_id: c.runtime_id.clone().unwrap_or_default(),
        docker_name: core.runtime.engine_name(task, &name),
        image: c.image.clone().unwrap_or_default(),
        image_id: c.image_digest.clone(),
        ports: c
            .network_bindings
            .iter()
            .flatten()
            .map(|b| Port {
                container_port: b.container_port.unwrap_or_default(),
                protocol: b.protocol.map_or("tcp", |p| p.as_str()).to_string(),
                host_port: b.host_port.unwrap_or_default(),
                host_ip: b.bind_ip.clone().unwrap_or_else(|| "0.0.0.0".into()),
            })
            .collect(),
        labels,
        desired_status: task.desired_status.clone().unwrap_or_default(),
        known_status: c.last_status.clone().unwrap_or_default(),
        exit_code: c.exit_code,
        limits: Limits {
            cpu: Some(def.and_then(|d| d.cpu).map_or(0.0, f64::from)),
            memory: Some(
                def.and_then(|d| d.memory.or(d.memory_reservation))
                    .map_or(0, i64::from),
            ),
        },
        created_at: task.pull_stopped_at.map(iso8601),
        started_at: task.started_at.map(iso8601),
        finished_at: exited
            .then(|| task.execution_stopped_at.or(task.stopped_at))
            .flatten()
            .map(iso8601),
        kind: "NORMAL",
        health: def
            .and_then(|d| d.health_check.as_ref())
            .and(c.health_status)
            .map(|h| Health {
                status: h.as_str().to_string(),
            }),
        log_driver: log
            .and_then(|l| l.log_driver)
            .map(|d| d.as_str().to_string()),
        log_options: log.and_then(|l| l.options.clone()),
        container_arn: c.container_arn.clone(),
        networks: networks(task, td, c, v),
        name,
    }
}

/// A task's limits: CPU in vCPUs, memory in MiB; none when the definition sets neither.
fn task_limits(task: &Task) -> Option<Limits> {
    let cpu = task.cpu.as_deref().and_then(|c| c.parse::<f64>().ok());
    let memory = task.memory.as_deref().and_then(|m| m.parse::<i64>().ok());
    (cpu.is_some() || memory.is_some()).then(|| Limits {
        cpu: cpu.map(|units| units / 1024.0),
        memory,
    })
}

fn task_metadata(
    core: &Core,
    task: &Task,
    td: &TaskDefinition,
    v: MetadataVersion,
) -> TaskMetadata {
    let task_arn = task.task_arn.clone().unwrap_or_default();
    TaskMetadata {
        cluster: task.cluster_arn.clone().unwrap_or_default(),
        family: td.family.clone().unwrap_or_default(),
        revision: td.revision.unwrap_or_default().to_string(),
        service_name: task
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
            .map(str::to_string),
        desired_status: task.desired_status.clone().unwrap_or_default(),
        known_status: task.last_status.clone().unwrap_or_default(),
        limits: task_limits(task),
        pull_started_at: task.pull_started_at.map(iso8601),
        pull_stopped_at: task.pull_stopped_at.map(iso8601),
        execution_stopped_at: task.execution_stopped_at.map(iso8601),
        availability_zone: task.availability_zone.clone(),
        launch_type: (v == MetadataVersion::V4)
            .then(|| task.launch_type.map(|l| l.as_str().to_string()))
            .flatten(),
        containers: task
            .containers
            .iter()
            .flatten()
            .map(|c| container_metadata(core, task, td, c, v))
            .collect(),
        task_arn,
    }
}

fn to_json(value: impl Serialize) -> Result<Value, EndpointError> {
    serde_json::to_value(value).map_err(|e| EndpointError::Failed(e.to_string()))
}

fn container_of<'t>(task: &'t Task, name: &str) -> Result<&'t Container, EndpointError> {
    task.containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))
        .ok_or_else(|| EndpointError::NotFound(format!("the task has no container {name}")))
}

/// `${ECS_CONTAINER_METADATA_URI_V4}`: the container's metadata.
pub(crate) fn container(core: &Core, id: &str, v: MetadataVersion) -> Result<Value, EndpointError> {
    let (task, td, name) = lookup(core, id)?;
    let c = container_of(&task, &name)?;
    to_json(container_metadata(core, &task, &td, c, v))
}

/// `${ECS_CONTAINER_METADATA_URI_V4}/task`: the task's metadata and each container's.
pub(crate) fn task(core: &Core, id: &str, v: MetadataVersion) -> Result<Value, EndpointError> {
    let (task, td, _) = lookup(core, id)?;
    to_json(task_metadata(core, &task, &td, v))
}

async fn stats_of(core: &Core, c: &Container) -> Result<Value, EndpointError> {
    let Some(id) = c.runtime_id.as_deref() else {
        return Ok(Value::Null);
    };
    let stats = core
        .runtime
        .container_stats(id)
        .await
        .map_err(|e| EndpointError::Failed(e.to_string()))?;
    Ok(stats.unwrap_or(Value::Null))
}

/// `${ECS_CONTAINER_METADATA_URI_V4}/stats`: the engine's statistics of the container.
pub(crate) async fn container_stats(core: &Core, id: &str) -> Result<Value, EndpointError> {
    let (task, _, name) = lookup(core, id)?;
    stats_of(core, container_of(&task, &name)?).await
}

/// `${ECS_CONTAINER_METADATA_URI_V4}/task/stats`: each container's statistics by its Docker ID.
pub(crate) async fn task_stats(core: &Core, id: &str) -> Result<Value, EndpointError> {
    let (task, _, _) = lookup(core, id)?;
    let containers: Vec<&Container> = task.containers.iter().flatten().collect();
    let all = futures::future::join_all(containers.iter().map(|c| stats_of(core, c))).await;
    let mut by_id = serde_json::Map::new();
    for (c, stats) in containers.iter().zip(all) {
        if let Some(id) = &c.runtime_id {
            by_id.insert(id.clone(), stats?);
        }
    }
    Ok(Value::Object(by_id))
}

/// The request context of the task `task_arn` (its region and account).
pub(crate) fn context_of(task_arn: &str) -> Option<crate::RequestContext> {
    let parsed = arn::parse(task_arn)?;
    Some(crate::RequestContext::new(parsed.region, parsed.account))
}
