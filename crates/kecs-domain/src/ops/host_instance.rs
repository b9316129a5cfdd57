//! KECS's own machine as a container instance of each cluster that runs EC2 tasks, and what it
//! shares with registered instances: what an ECS agent reports of a machine (its version, its
//! attributes) and the instance's registration state.

use crate::arn;
use crate::model::*;
use crate::ports::ids::Ids;
use crate::ports::runtime::HostResources;
use crate::state::{prefixed, Mutation, State};

/// The agent version a registration without `versionInfo` reports.
pub(super) const AGENT_VERSION: &str = "1.89.3";

/// Not deregistered: ACTIVE or DRAINING.
pub(super) fn is_registered(i: &ContainerInstance) -> bool {
    i.status.as_deref() != Some("INACTIVE")
}

/// `i` deregistered: INACTIVE, its agent disconnected.
pub(super) fn deregistered(i: &ContainerInstance) -> ContainerInstance {
    let mut gone = i.clone();
    gone.status = Some("INACTIVE".into());
    gone.agent_connected = Some(false);
    gone.version = Some(gone.version.unwrap_or(0) + 1);
    gone
}

/// The attribute that marks the instance KECS registered for its own machine.
const HOST_ATTRIBUTE: &str = "kecs.host";

pub(super) fn is_host(i: &ContainerInstance) -> bool {
    i.attributes
        .iter()
        .flatten()
        .any(|a| a.name.as_deref() == Some(HOST_ATTRIBUTE))
}

/// The agent a registration without `versionInfo` (and KECS's own machine) reports.
pub(super) fn default_version() -> VersionInfo {
    VersionInfo {
        agent_version: Some(AGENT_VERSION.into()),
        agent_hash: Some("kecs".into()),
        docker_version: Some("DockerVersion: 25.0.0".into()),
    }
}

/// The attributes the agent reports of the machine, then the registration's own.
pub(super) fn agent_attributes(given: Option<Vec<Attribute>>) -> Vec<Attribute> {
    let mut all: Vec<Attribute> = [
        ("ecs.os-type", "linux"),
        ("ecs.os-family", "LINUX"),
        ("ecs.cpu-architecture", std::env::consts::ARCH),
        ("ecs.capability.execution-role-awslogs", ""),
        ("ecs.capability.secrets.ssm.environment-variables", ""),
        ("ecs.capability.secrets.asm.environment-variables", ""),
        (
            "ecs.capability.private-registry-authentication.secretsmanager",
            "",
        ),
        ("ecs.capability.task-eni", ""),
        ("ecs.capability.container-health-check", ""),
        ("ecs.capability.env-files.s3", ""),
        ("com.amazonaws.ecs.capability.task-iam-role", ""),
        ("com.amazonaws.ecs.capability.docker-remote-api.1.44", ""),
    ]
    .into_iter()
    .map(|(name, value)| Attribute {
        name: Some(name.to_string()),
        value: (!value.is_empty()).then(|| value.to_string()),
        ..Attribute::default()
    })
    .collect();
    for a in given.into_iter().flatten() {
        all.retain(|x| x.name != a.name);
        all.push(a);
    }
    all
}

/// The registered instance of `cluster_arn` that is KECS's own machine.
fn registered_host<'s>(
    state: &'s State,
    cluster_arn: &str,
) -> Option<(&'s String, &'s ContainerInstance)> {
    let prefix = arn::in_cluster(cluster_arn, "container-instance", "");
    prefixed(&state.container_instances, prefix).find(|(_, i)| is_host(i) && is_registered(i))
}

/// The container instance of `cluster_arn` that is KECS's own machine, registered (as a
/// mutation to apply) when the cluster has none yet.
pub(crate) fn host_instance(
    state: &State,
    cluster_arn: &str,
    host: HostResources,
    ids: &dyn Ids,
    now: f64,
) -> (String, Option<Mutation>) {
    if let Some((arn, _)) = registered_host(state, cluster_arn) {
        return (arn.clone(), None);
    }
    let id = ids.hex();
    let arn = arn::in_cluster(cluster_arn, "container-instance", &id);
    let resource = |name: &str, value: i32| Resource {
        name: Some(name.into()),
        r#type: Some("INTEGER".into()),
        integer_value: Some(value),
        ..Resource::default()
    };
    let instance = ContainerInstance {
        container_instance_arn: Some(arn.clone()),
        ec2_instance_id: Some(format!("i-{}", &id[..17])),
        status: Some("ACTIVE".into()),
        agent_connected: Some(true),
        registered_at: Some(now),
        version: Some(1),
        attachments: Some(vec![]),
        registered_resources: Some(vec![
            resource("CPU", host.cpu),
            resource("MEMORY", host.memory_mib),
        ]),
        attributes: Some(agent_attributes(Some(vec![Attribute {
            name: Some(HOST_ATTRIBUTE.into()),
            value: Some("true".into()),
            ..Attribute::default()
        }]))),
        version_info: Some(default_version()),
        ..ContainerInstance::default()
    };
    (arn, Some(Mutation::PutContainerInstance(instance)))
}

/// KECS's own machine leaves a cluster that is deleted: its instance, INACTIVE.
pub(crate) fn retire_host(state: &State, cluster_arn: &str) -> Option<Mutation> {
    let (_, host) = registered_host(state, cluster_arn)?;
    Some(Mutation::PutContainerInstance(deregistered(host)))
}
