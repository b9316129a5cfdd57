//! Placing new tasks: the one write RunTask, StartTask and the service scheduler share (checks,
//! placement, the task document with its size, tags and network interface), then their launch
//! is queued for the task launcher.

use super::find::{active_cluster, task_prefix, task_view, tasks_in};
use super::host_instance::host_instance;
use super::instance_placement::InstanceChoice;
use super::run_task_checks::{check_overrides, placement};
use super::task_definitions::resolve as resolve_task_definition;
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::ports::ids::Ids;
use crate::ports::runtime::StartedContainer;
use crate::rules::task_state::{self};
use crate::rules::validate;
use crate::state::{token_hash, Mutation, State, StoredTask};
use crate::status::TaskStatus;
use crate::{arn, EcsError, RequestContext};

/// The ephemeral storage, in GiB, of a Fargate task whose definition sets none.
const FARGATE_EPHEMERAL_GIB: i32 = 20;

/// Sums a per-container number, as ECS reports task size when the definition gives none.
fn task_size(
    td: &TaskDefinition,
    task_level: &Option<String>,
    per_container: impl Fn(&ContainerDefinition) -> Option<i32>,
) -> Option<String> {
    task_level.clone().or_else(|| {
        let sum: i64 = td
            .container_definitions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter_map(|c| per_container(c).map(i64::from))
            .sum();
        Some(sum.to_string())
    })
}

struct NewTask<'a> {
    ctx: &'a RequestContext,
    cluster_arn: &'a str,
    td: &'a TaskDefinition,
    input: &'a RunTaskRequest,
    launch_type: Option<LaunchType>,
    provider: Option<String>,
    now: f64,
    ids: &'a dyn Ids,
}

impl NewTask<'_> {
    /// An awsvpc task's network interface, as ECS attaches one (its address once RUNNING).
    fn network_interface(&self) -> Option<Attachment> {
        let vpc = self
            .input
            .network_configuration
            .as_ref()?
            .awsvpc_configuration
            .as_ref()?;
        let detail = |name: &str, value: String| KeyValuePair {
            name: Some(name.into()),
            value: Some(value),
        };
        let eni = self.ids.hex();
        let mut details = vec![];
        if let Some(subnet) = vpc.subnets.as_ref().and_then(|s| s.first()) {
            details.push(detail("subnetId", subnet.clone()));
        }
        details.push(detail("networkInterfaceId", format!("eni-{}", &eni[..17])));
        Some(Attachment {
            id: Some(self.ids.uuid()),
            r#type: Some("ElasticNetworkInterface".into()),
            status: Some("PRECREATED".into()),
            details: Some(details),
        })
    }

    fn build(&self) -> Task {
        let id = self.ids.hex();
        let task_arn = format!("{}{id}", task_prefix(self.cluster_arn));
        let family = self.td.family.clone().unwrap_or_default();
        let overrides = self.input.overrides.clone().unwrap_or_default();
        let container_overrides = overrides.container_overrides.clone().unwrap_or_default();
        let containers = self
            .td
            .container_definitions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|c| {
                let name = c.name.clone().unwrap_or_default();
                let o = container_overrides
                    .iter()
                    .find(|o| o.name.as_deref() == Some(&name));
                Container {
                    container_arn: Some(arn::ecs(
                        &self.ctx.region,
                        &self.ctx.account_id,
                        &format!(
                            "container/{}/{id}/{}",
                            arn::cluster_name(self.cluster_arn),
                            self.ids.hex()
                        ),
                    )),
                    task_arn: Some(task_arn.clone()),
                    name: Some(name),
                    image: c.image.clone(),
                    last_status: Some(TaskStatus::Pending.into()),
                    network_bindings: Some(vec![]),
                    network_interfaces: Some(vec![]),
                    health_status: Some(HealthStatus::Unknown),
                    cpu: Some(o.and_then(|o| o.cpu).or(c.cpu).unwrap_or(0).to_string()),
                    memory: o.and_then(|o| o.memory).or(c.memory).map(|m| m.to_string()),
                    memory_reservation: o
                        .and_then(|o| o.memory_reservation)
                        .or(c.memory_reservation)
                        .map(|m| m.to_string()),
                    ..Container::default()
                }
            })
            .collect();
        let fargate = self.launch_type == Some(LaunchType::Fargate);
        // Task-level overrides win over the definition's size.
        let cpu = task_size(
            self.td,
            &overrides.cpu.clone().or(self.td.cpu.clone()),
            |c| c.cpu,
        );
        let memory = task_size(
            self.td,
            &overrides.memory.clone().or(self.td.memory.clone()),
            |c| c.memory.or(c.memory_reservation),
        );
        // Fargate's ephemeral storage: the override's, the definition's, or its 20 GiB default.
        let ephemeral_gib = overrides
            .ephemeral_storage
            .as_ref()
            .or(self.td.ephemeral_storage.as_ref())
            .and_then(|e| e.size_in_gi_b)
            .unwrap_or(FARGATE_EPHEMERAL_GIB);
        Task {
            task_arn: Some(task_arn),
            cluster_arn: Some(self.cluster_arn.to_string()),
            task_definition_arn: self.td.task_definition_arn.clone(),
            overrides: Some(TaskOverride {
                container_overrides: Some(container_overrides),
                inference_accelerator_overrides: Some(vec![]),
                ..overrides
            }),
            last_status: Some(TaskStatus::Provisioning.into()),
            desired_status: Some(TaskStatus::Running.into()),
            cpu,
            memory,
            containers: Some(containers),
            started_by: self.input.started_by.clone(),
            group: Some(
                self.input
                    .group
                    .clone()
                    .unwrap_or_else(|| format!("family:{family}")),
            ),
            launch_type: self.launch_type,
            capacity_provider_name: self.provider.clone(),
            // LATEST (or nothing) resolves to the current Fargate platform version.
            platform_version: fargate.then(|| match self.input.platform_version.as_deref() {
                None | Some("LATEST") => "1.4.0".to_string(),
                Some(v) => v.to_string(),
            }),
            platform_family: fargate.then(|| "Linux".into()),
            ephemeral_storage: fargate.then_some(EphemeralStorage {
                size_in_gi_b: Some(ephemeral_gib),
            }),
            fargate_ephemeral_storage: fargate.then_some(TaskEphemeralStorage {
                size_in_gi_b: Some(ephemeral_gib),
                kms_key_id: None,
            }),
            availability_zone: Some(format!("{}a", self.ctx.region)),
            created_at: Some(self.now),
            version: Some(1),
            health_status: Some(HealthStatus::Unknown),
            enable_execute_command: Some(self.input.enable_execute_command.unwrap_or(false)),
            attachments: Some(self.network_interface().into_iter().collect()),
            attributes: Some(vec![]),
            ..Task::default()
        }
    }
}

/// The tags a new task gets: its own, plus its definition's when propagated, plus ECS's managed ones.
fn task_tags(
    state: &State,
    input: &RunTaskRequest,
    td: &TaskDefinition,
    cluster_arn: &str,
) -> Vec<Tag> {
    let mut tags = vec![];
    if input.propagate_tags == Some(PropagateTags::TaskDefinition) {
        tags = state.tags_of(td.task_definition_arn.as_deref().unwrap_or_default());
    }
    tags = validate::merge_tags(&tags, input.tags.as_deref().unwrap_or_default());
    if input.enable_ecs_managed_tags == Some(true) {
        let managed = Tag {
            key: Some("aws:ecs:clusterName".into()),
            value: Some(arn::cluster_name(cluster_arn).into()),
        };
        tags = validate::merge_tags(&tags, &[managed]);
    }
    tags
}

/// A new task on an emulated runtime: every container RUNNING at once.
fn emulate_start(task: &mut Task, now: f64) {
    let started: Vec<StartedContainer> = task
        .containers
        .iter()
        .flatten()
        .map(|c| StartedContainer {
            name: c.name.clone().unwrap_or_default(),
            ..StartedContainer::default()
        })
        .collect();
    let version = task.version.unwrap_or(0);
    task_state::record_started(task, &started);
    task_state::set_eni(task, "ATTACHED", None);
    task_state::mark_running(task, now);
    // One change as far as the task's version goes: PROVISIONING (1) to RUNNING (2).
    task.version = Some(version + 1);
}

/// Where new tasks go.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placing<'a> {
    /// RunTask and services: EC2 tasks on the cluster's instances, as placement chooses.
    Cluster,
    /// StartTask: on the instances given, one task each.
    Instances(&'a [String]),
    /// A daemon's task on the instance given; `taskDefinition` names a daemon task definition.
    Daemon(&'a [String]),
}

/// RunTask, StartTask, the service scheduler and the daemon scheduler: decide and record the
/// tasks, then queue their launch.
pub(crate) async fn place_tasks(
    core: &Core,
    ctx: &RequestContext,
    input: RunTaskRequest,
    on: Placing<'_>,
) -> Result<RunTaskResponse, EcsError> {
    let (container_instances, daemon): (&[String], bool) = match on {
        Placing::Cluster => (&[], false),
        Placing::Instances(i) => (i, false),
        Placing::Daemon(i) => (i, true),
    };
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(EcsError::invalid("count must be between 1 and 10."));
    }
    if input
        .started_by
        .as_deref()
        .is_some_and(|s| s.chars().count() > 128)
    {
        return Err(EcsError::invalid(
            "startedBy may be at most 128 characters.",
        ));
    }
    if input
        .group
        .as_deref()
        .is_some_and(|g| g.chars().count() > 255)
    {
        return Err(EcsError::invalid("group may be at most 255 characters."));
    }
    if input
        .client_token
        .as_deref()
        .is_some_and(|t| t.chars().count() > 64)
    {
        return Err(EcsError::invalid(
            "clientToken may be at most 64 characters.",
        ));
    }
    validate::tags(input.tags.as_deref().unwrap_or_default())?;
    let now = core.now();
    // 1. Decide and record the tasks as PROVISIONING.
    let policy = core.container_policy();
    let (tasks, failures, replay) = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let ident = input.task_definition.as_deref().unwrap_or_default();
            let td = if daemon {
                state.daemon_launch_definitions.get(ident)
            } else {
                resolve_task_definition(state, ctx, ident)?
            }
            .ok_or_else(|| EcsError::client("TaskDefinition not found."))?
            .clone();
            if td.status != Some(TaskDefinitionStatus::Active) {
                return Err(EcsError::client("TaskDefinition is inactive."));
            }
            // Registered under another policy (or before a restart with this one).
            policy.check(&td)?;
            if let Some(token) = &input.client_token {
                let hash = token_hash(token);
                let earlier: Vec<Task> = tasks_in(state, &cluster_arn)
                    .filter(|(_, t)| t.client_token == Some(hash))
                    .filter_map(|(arn, _)| state.tasks.get(arn))
                    .filter(|t| t.client_token.as_ref() == Some(token))
                    .map(|t| task_view(state, t, true))
                    .collect();
                if !earlier.is_empty() {
                    return Ok(((earlier, vec![], true), vec![]));
                }
            }
            check_overrides(
                &td,
                input.overrides.as_ref().unwrap_or(&TaskOverride::default()),
            )?;
            let (launch_type, provider) = placement(&input, cluster, &td)?;
            // The caller's tags were checked above; ECS's managed ones may use `aws:`.
            let tags = task_tags(state, &input, &td, &cluster_arn);
            let new = NewTask {
                ctx,
                cluster_arn: &cluster_arn,
                td: &td,
                input: &input,
                launch_type,
                provider,
                now,
                ids: core.ids(),
            };
            let emulated = core.runtime.is_emulated();
            let (mut tasks, mut failures, mut mutations) = (vec![], vec![], vec![]);
            // EC2 tasks not given an instance are placed on the cluster's instances, KECS's own
            // machine among them (registered as one the first time).
            let placing = launch_type == Some(LaunchType::Ec2) && container_instances.is_empty();
            let mut choice = None;
            if placing {
                let joining = core.runtime.host_resources().and_then(|host| {
                    let ids = core.ids();
                    let (_, m) = host_instance(state, &cluster_arn, host, ids, now);
                    mutations.extend(m.clone());
                    match m {
                        Some(Mutation::PutContainerInstance(i)) => Some(i),
                        _ => None,
                    }
                });
                let c = InstanceChoice::new(state, &cluster_arn, joining.as_ref(), &input, &td)?;
                choice = Some(c).filter(InstanceChoice::has_candidates);
            }
            let mut random = || {
                core.ids()
                    .hex()
                    .bytes()
                    .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b))
            };
            for i in 0..count {
                let mut task = new.build();
                task.container_instance_arn = match choice.as_mut() {
                    Some(c) => match c.place(&task, &mut random) {
                        Ok(arn) => Some(arn),
                        Err(refused) => {
                            failures.extend(refused);
                            continue;
                        }
                    },
                    None => container_instances.get(i as usize).cloned(),
                };
                if emulated {
                    emulate_start(&mut task, now);
                }
                let arn = task.task_arn.clone().unwrap_or_default();
                mutations.push(Mutation::PutTask(StoredTask {
                    task: task.clone(),
                    client_token: input.client_token.clone(),
                    protected_until: None,
                }));
                mutations.push(Mutation::PutTags(arn, tags.clone()));
                let mut shown = task;
                shown.tags = Some(tags.clone());
                tasks.push(shown);
            }
            Ok(((tasks, failures, false), mutations))
        })
        .await?;
    if !replay && !core.runtime.is_emulated() {
        for task in &tasks {
            core.enqueue(TaskWork::Launch(task.task_arn.clone().unwrap_or_default()));
        }
    }
    Ok(RunTaskResponse {
        tasks: Some(tasks),
        failures: Some(dedup(failures)),
    })
}

/// Each (instance, reason) once, however many of the tasks it refused.
fn dedup(failures: Vec<Failure>) -> Vec<Failure> {
    let mut out: Vec<Failure> = vec![];
    for f in failures {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}
