//! Container instances: RegisterContainerInstance, DeregisterContainerInstance,
//! DescribeContainerInstances, ListContainerInstances, UpdateContainerInstancesState and
//! UpdateContainerAgent. KECS's own machine as an instance is `host_instance`'s. An instance keeps what it registered
//! with; its task counts and remaining resources are worked out from the tasks placed on it
//! whenever it is shown.

use std::collections::{BTreeMap, BTreeSet};

use super::host_instance::{
    agent_attributes, default_version, deregistered, is_host, is_registered, AGENT_VERSION,
};
use super::missing;
use crate::core::iso8601;
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::ops::find::{active_cluster, tasks_in};
use crate::ops::pagination::{paginate, Limits};
use crate::rules::cluster_query;
use crate::state::{prefixed, Mutation, State};
use crate::status::TaskStatus;
use crate::{arn, EcsError, RequestContext};

/// DescribeContainerInstances takes at most this many instances.
const DESCRIBE_MAX: usize = 100;
const LIST: Limits = Limits {
    default: 100,
    max: 100,
};

/// The ARN of the container instance `ident` (ID or ARN) of `cluster_arn`.
pub(super) fn instance_arn(cluster_arn: &str, ident: &str) -> String {
    if arn::is_arn(ident) {
        ident.to_string()
    } else {
        arn::in_cluster(cluster_arn, "container-instance", ident)
    }
}

/// The CPU units and MiB of memory a task reserves: its task-level sizes, else its
/// containers' own.
pub(super) fn reserved(task: &Task) -> (i64, i64) {
    let parse = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<i64>().ok());
    let containers = task.containers.iter().flatten();
    let cpu =
        parse(&task.cpu).unwrap_or_else(|| containers.clone().filter_map(|c| parse(&c.cpu)).sum());
    let memory = parse(&task.memory).unwrap_or_else(|| {
        containers
            .filter_map(|c| parse(&c.memory).or(parse(&c.memory_reservation)))
            .sum()
    });
    (cpu, memory)
}

/// What the tasks placed on an instance, and not stopped, use.
#[derive(Debug, Clone, Default)]
pub(super) struct Usage {
    running: i32,
    pending: i32,
    /// The CPU units they reserve.
    pub(super) cpu: i64,
    /// The MiB of memory they reserve.
    pub(super) memory: i64,
    /// Their groups, one entry per task.
    pub(super) groups: Vec<String>,
}

/// The usage of each container instance of `cluster` (of `only` that one, when given) by the
/// tasks placed on it.
pub(super) fn usage(state: &State, cluster: &str, only: Option<&str>) -> BTreeMap<String, Usage> {
    let mut by_instance: BTreeMap<String, Usage> = BTreeMap::new();
    for (task_arn, t) in tasks_in(state, cluster) {
        let Some(instance) = t.container_instance_arn.as_deref() else {
            continue;
        };
        if t.last_is(TaskStatus::Stopped) || only.is_some_and(|o| o != instance) {
            continue;
        }
        let used = by_instance.entry(instance.to_string()).or_default();
        if t.last_is(TaskStatus::Running) {
            used.running += 1;
        } else {
            used.pending += 1;
        }
        used.groups.extend(t.group.as_deref().map(str::to_string));
        // From the summary; a task whose task-level cpu or memory does not say is unpacked.
        let reserves = match t.reserved {
            Some((c, m)) => Some((i64::from(c), i64::from(m))),
            None => state.tasks.get(task_arn).map(|task| reserved(&task.task)),
        };
        if let Some((c, m)) = reserves {
            used.cpu += c;
            used.memory += m;
        }
    }
    by_instance
}

/// What the tasks placed on the instance `i` use (nothing once it is deregistered).
fn usage_of(state: &State, i: &ContainerInstance) -> Usage {
    let arn = i.container_instance_arn.as_deref().unwrap_or_default();
    let (cluster, _) = arn::split_in_cluster(arn).unwrap_or_default();
    match is_registered(i) {
        true => usage(state, &cluster, Some(arn))
            .remove(arn)
            .unwrap_or_default(),
        false => Usage::default(),
    }
}

/// The instance as responses show it: task counts and remaining resources from its tasks.
pub(super) fn view(state: &State, i: &ContainerInstance, with_tags: bool) -> ContainerInstance {
    shown(state, i, &usage_of(state, i), with_tags)
}

/// The instance as responses show it, given what its tasks use.
pub(super) fn shown(
    state: &State,
    i: &ContainerInstance,
    used: &Usage,
    with_tags: bool,
) -> ContainerInstance {
    let mut out = i.clone();
    let arn = i.container_instance_arn.clone().unwrap_or_default();
    let Usage {
        running,
        pending,
        cpu,
        memory,
        ..
    } = *used;
    out.running_tasks_count = Some(running);
    out.pending_tasks_count = Some(pending);
    out.remaining_resources = i.registered_resources.as_ref().map(|all| {
        all.iter()
            .map(|r| {
                let used = match r.name.as_deref() {
                    Some("CPU") => cpu,
                    Some("MEMORY") => memory,
                    _ => 0,
                };
                Resource {
                    integer_value: r.integer_value.map(|v| (i64::from(v) - used).max(0) as i32),
                    ..r.clone()
                }
            })
            .collect()
    });
    out.tags = with_tags.then(|| state.tags_of(&arn));
    out
}

/// The values of a cluster query's `subject` for the instance `i`.
pub(super) fn subject_values(state: &State, i: &ContainerInstance, subject: &str) -> Vec<String> {
    let one = |v: Option<String>| v.into_iter().collect::<Vec<_>>();
    if let Some(name) = subject.strip_prefix("attribute:") {
        return i
            .attributes
            .iter()
            .flatten()
            .filter(|a| a.name.as_deref() == Some(name))
            .map(|a| a.value.clone().unwrap_or_default())
            .collect();
    }
    let arn = i.container_instance_arn.clone().unwrap_or_default();
    match subject {
        "agentConnected" => one(i.agent_connected.map(|c| c.to_string())),
        "agentVersion" => one(i
            .version_info
            .as_ref()
            .and_then(|v| v.agent_version.clone())),
        "ec2InstanceId" => one(i.ec2_instance_id.clone()),
        // As the developer guide's date formats: to the second, no zone (UTC).
        "registeredAt" => one(i.registered_at.map(|at| iso8601(at)[..19].to_string())),
        "runningTasksCount" => one(Some(usage_of(state, i).running.to_string())),
        "task:group" => {
            let (cluster, _) = arn::split_in_cluster(&arn).unwrap_or_default();
            let mut used = usage(state, &cluster, Some(&arn));
            used.remove(&arn).map(|u| u.groups).unwrap_or_default()
        }
        _ => vec![],
    }
}

pub(crate) async fn register_container_instance(
    core: &Core,
    ctx: &RequestContext,
    input: RegisterContainerInstanceRequest,
) -> Result<RegisterContainerInstanceResponse, EcsError> {
    let now = core.now();
    let id = core.ids().hex();
    core.write(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let existing = match &input.container_instance_arn {
            Some(given) => Some(
                state
                    .container_instances
                    .get(&instance_arn(&cluster_arn, given))
                    .filter(|i| is_registered(i))
                    .cloned()
                    .ok_or_else(|| {
                        EcsError::invalid("The referenced container instance was not found.")
                    })?,
            ),
            None => None,
        };
        let document: Option<serde_json::Value> = input
            .instance_identity_document
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok());
        let ec2_id = document
            .as_ref()
            .and_then(|d| d.get("instanceId")?.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("i-{}", &id[..17]));
        let mut instance = existing.unwrap_or_else(|| ContainerInstance {
            container_instance_arn: Some(arn::in_cluster(&cluster_arn, "container-instance", &id)),
            ec2_instance_id: Some(ec2_id),
            status: Some("ACTIVE".into()),
            agent_connected: Some(true),
            registered_at: Some(now),
            version: Some(0),
            attachments: Some(vec![]),
            ..ContainerInstance::default()
        });
        instance.version = Some(instance.version.unwrap_or(0) + 1);
        instance.registered_resources = Some(input.total_resources.clone().unwrap_or_default());
        instance.attributes = Some(agent_attributes(input.attributes.clone()));
        instance.version_info = Some(input.version_info.clone().unwrap_or_else(default_version));
        let arn = instance.container_instance_arn.clone().unwrap_or_default();
        let mut mutations = vec![Mutation::PutContainerInstance(instance.clone())];
        if let Some(tags) = input.tags.clone().filter(|t| !t.is_empty()) {
            mutations.push(Mutation::PutTags(arn, tags));
        }
        let mut shown = view(state, &instance, false);
        shown.tags = input.tags.clone();
        Ok((
            RegisterContainerInstanceResponse {
                container_instance: Some(shown),
            },
            mutations,
        ))
    })
    .await
}

/// The registered instance `ident` of the ACTIVE cluster `cluster` names.
fn registered<'s>(
    state: &'s State,
    ctx: &RequestContext,
    cluster: Option<&str>,
    ident: &Option<String>,
) -> Result<&'s ContainerInstance, EcsError> {
    let cluster = active_cluster(state, ctx, cluster)?;
    let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
    let arn = instance_arn(&cluster_arn, ident.as_deref().unwrap_or_default());
    state
        .container_instances
        .get(&arn)
        .filter(|i| is_registered(i) && ctx.owns(&arn))
        .ok_or_else(|| EcsError::invalid("The referenced container instance was not found."))
}

pub(crate) async fn deregister_container_instance(
    core: &Core,
    ctx: &RequestContext,
    input: DeregisterContainerInstanceRequest,
) -> Result<DeregisterContainerInstanceResponse, EcsError> {
    core.write(|state| {
        let instance = registered(state, ctx, input.cluster.as_deref(), &input.container_instance)?;
        let shown = view(state, instance, false);
        let busy = shown.running_tasks_count.unwrap_or(0) + shown.pending_tasks_count.unwrap_or(0);
        if busy > 0 && input.force != Some(true) {
            return Err(EcsError::invalid(
                "The container instance has tasks running on it. Stop them, or deregister it with force.",
            ));
        }
        let gone = deregistered(instance);
        let answer = DeregisterContainerInstanceResponse {
            container_instance: Some(ContainerInstance {
                running_tasks_count: shown.running_tasks_count,
                pending_tasks_count: shown.pending_tasks_count,
                remaining_resources: shown.remaining_resources,
                ..gone.clone()
            }),
        };
        Ok((answer, vec![Mutation::PutContainerInstance(gone)]))
    })
    .await
}

pub(crate) async fn describe_container_instances(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeContainerInstancesRequest,
) -> Result<DescribeContainerInstancesResponse, EcsError> {
    core.read(|state| {
        // As ECS: the cluster first, then the list.
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let idents = input.container_instances.clone().unwrap_or_default();
        if idents.is_empty() {
            return Err(EcsError::invalid("Container Instances cannot be empty."));
        }
        if idents.len() > DESCRIBE_MAX {
            return Err(EcsError::invalid(format!(
                "Container Instances cannot have more than {DESCRIBE_MAX} entries."
            )));
        }
        let with_tags = input
            .include
            .iter()
            .flatten()
            .any(|f| *f == ContainerInstanceField::Tags);
        let (mut found, mut failures) = (vec![], vec![]);
        for ident in idents {
            let arn = instance_arn(&cluster_arn, &ident);
            match state
                .container_instances
                .get(&arn)
                .filter(|_| ctx.owns(&arn))
            {
                Some(i) => found.push(view(state, i, with_tags)),
                None => failures.push(missing(arn)),
            }
        }
        Ok(DescribeContainerInstancesResponse {
            container_instances: Some(found),
            failures: Some(failures),
        })
    })
}

pub(crate) async fn list_container_instances(
    core: &Core,
    ctx: &RequestContext,
    input: ListContainerInstancesRequest,
) -> Result<ListContainerInstancesResponse, EcsError> {
    let filter = match input.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(text) => Some(
            cluster_query::parse(text)
                .map_err(|e| EcsError::invalid(format!("Invalid filter expression: {e}.")))?,
        ),
        None => None,
    };
    core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let prefix = arn::in_cluster(&cluster_arn, "container-instance", "");
        let arns: Vec<String> = prefixed(&state.container_instances, prefix)
            .filter(|(_, i)| match input.status {
                Some(wanted) => i.status.as_deref() == Some(wanted.as_str()),
                None => is_registered(i),
            })
            .filter(|(_, i)| {
                filter.as_ref().is_none_or(|f| {
                    cluster_query::holds(f, &|subject| subject_values(state, i, subject))
                })
            })
            .map(|(arn, _)| arn.clone())
            .collect();
        let page = paginate(
            arns,
            String::clone,
            false,
            input.max_results,
            input.next_token.as_deref(),
            LIST,
        )?;
        Ok(ListContainerInstancesResponse {
            container_instance_arns: Some(page.items),
            next_token: page.next_token,
        })
    })
}

pub(crate) async fn update_container_instances_state(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateContainerInstancesStateRequest,
) -> Result<UpdateContainerInstancesStateResponse, EcsError> {
    let status = input.status.unwrap_or(ContainerInstanceStatus::Active);
    if !matches!(
        status,
        ContainerInstanceStatus::Active | ContainerInstanceStatus::Draining
    ) {
        return Err(EcsError::invalid(
            "Container instance status can be updated only to ACTIVE or DRAINING.",
        ));
    }
    let idents = input.container_instances.clone().unwrap_or_default();
    let (answer, services) = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            if idents.is_empty() || idents.len() > 10 {
                return Err(EcsError::invalid(
                    "containerInstances must have between 1 and 10 items.",
                ));
            }
            let (mut updated, mut failures, mut mutations) = (vec![], vec![], vec![]);
            for ident in &idents {
                let arn = instance_arn(&cluster_arn, ident);
                let Some(mut instance) = state
                    .container_instances
                    .get(&arn)
                    .filter(|i| is_registered(i) && ctx.owns(&arn))
                    .cloned()
                else {
                    failures.push(missing(arn));
                    continue;
                };
                if instance.status.as_deref() != Some(status.as_str()) {
                    instance.status = Some(status.as_str().to_string());
                    instance.version = Some(instance.version.unwrap_or(0) + 1);
                    mutations.push(Mutation::PutContainerInstance(instance.clone()));
                }
                updated.push(view(state, &instance, false));
            }
            // The services with tasks on a changed instance look again (draining moves them).
            let changed: Vec<&str> = mutations
                .iter()
                .filter_map(|m| match m {
                    Mutation::PutContainerInstance(i) => i.container_instance_arn.as_deref(),
                    _ => None,
                })
                .collect();
            let services: BTreeSet<String> = tasks_in(state, &cluster_arn)
                .filter(|(_, t)| {
                    t.container_instance_arn
                        .as_deref()
                        .is_some_and(|i| changed.contains(&i))
                })
                .filter_map(|(arn, t)| t.service_arn(arn))
                .collect();
            let answer = UpdateContainerInstancesStateResponse {
                container_instances: Some(updated),
                failures: Some(failures),
            };
            Ok(((answer, services), mutations))
        })
        .await?;
    for service in services {
        core.enqueue(TaskWork::Schedule(service));
    }
    Ok(answer)
}

/// No agent runs here to update: an instance registered with an older agent version is recorded
/// as updated to the version KECS reports (answered PENDING, as ECS answers an update it
/// starts); one already on it answers as ECS does for an agent on its latest version.
pub(crate) async fn update_container_agent(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateContainerAgentRequest,
) -> Result<UpdateContainerAgentResponse, EcsError> {
    core.write(|state| {
        let instance = registered(
            state,
            ctx,
            input.cluster.as_deref(),
            &input.container_instance,
        )?;
        let version = instance
            .version_info
            .as_ref()
            .and_then(|v| v.agent_version.clone())
            .unwrap_or_default();
        if cluster_query::order(&version, AGENT_VERSION) != std::cmp::Ordering::Less {
            return Err(EcsError::NoUpdateAvailable(
                "There is no update available for your container agent.".into(),
            ));
        }
        let mut updated = instance.clone();
        updated.version_info = Some(VersionInfo {
            agent_version: Some(AGENT_VERSION.into()),
            ..updated.version_info.clone().unwrap_or_default()
        });
        updated.agent_update_status = Some(AgentUpdateStatus::Updated);
        updated.version = Some(updated.version.unwrap_or(0) + 1);
        let mut shown = view(state, instance, false);
        shown.agent_update_status = Some(AgentUpdateStatus::Pending);
        let answer = UpdateContainerAgentResponse {
            container_instance: Some(shown),
        };
        Ok((answer, vec![Mutation::PutContainerInstance(updated)]))
    })
    .await
}

/// How many container instances of `cluster_arn` are registered (ACTIVE or DRAINING), KECS's
/// own machine included when `with_host`.
pub(crate) fn registered_count(state: &State, cluster_arn: &str, with_host: bool) -> i32 {
    let prefix = arn::in_cluster(cluster_arn, "container-instance", "");
    prefixed(&state.container_instances, prefix)
        .filter(|(_, i)| is_registered(i) && (with_host || !is_host(i)))
        .count() as i32
}
