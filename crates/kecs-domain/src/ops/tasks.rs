//! RunTask, StopTask, DescribeTasks and ListTasks.
//!
//! RunTask commits its tasks PROVISIONING and queues their launch for the task controller
//! (see launch.rs); StopTask commits the stop decision and queues the stop. On an emulated
//! runtime (`none`) both take effect at once, in the request's one write.

use super::clusters::{active_cluster, cluster_arn};
use super::task_definitions::resolve as resolve_task_definition;
use super::Kecs;
use crate::model::*;
use crate::pagination::{paginate, Page, LIST};
use crate::runtime::StartedContainer;
use crate::state::{token_hash, Mutation, State, StoredTask, TaskSummary};
use crate::{arn, validate, EcsError, RequestContext};

use super::task_state::{self, PROVISIONING, RUNNING};
use super::work::TaskWork;

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The ARN prefix every task of a cluster shares.
pub(crate) fn task_prefix(cluster_arn: &str) -> String {
    arn::in_cluster(cluster_arn, "task", "")
}

/// The tasks of one cluster: their ARNs and summaries.
pub(crate) fn tasks_in<'s>(
    state: &'s State,
    cluster_arn: &str,
) -> impl Iterator<Item = (&'s String, &'s TaskSummary)> {
    state.tasks.prefixed(task_prefix(cluster_arn))
}

/// The ARN a task identifier (ID or ARN) names in `cluster_arn`.
fn task_arn_of(cluster_arn: &str, ident: &str) -> String {
    if arn::is_arn(ident) {
        ident.to_string()
    } else {
        format!("{}{ident}", task_prefix(cluster_arn))
    }
}

fn find(state: &State, ctx: &RequestContext, cluster_arn: &str, ident: &str) -> Option<StoredTask> {
    let arn = task_arn_of(cluster_arn, ident);
    if !ctx.owns(&arn) {
        return None;
    }
    state
        .tasks
        .get(&arn)
        .filter(|t| t.task.cluster_arn.as_deref() == Some(cluster_arn))
}

/// The task as responses show it: tags filled in when asked for.
fn view(state: &State, t: StoredTask, with_tags: bool) -> Task {
    let mut task = t.task;
    task.tags = Some(if with_tags {
        state.tags_of(task.task_arn.as_deref().unwrap_or_default())
    } else {
        vec![]
    });
    task
}

fn check_overrides(td: &TaskDefinition, overrides: &TaskOverride) -> Result<(), EcsError> {
    let names: Vec<&str> = td
        .container_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.name.as_deref())
        .collect();
    for o in overrides.container_overrides.as_deref().unwrap_or_default() {
        let name = o.name.as_deref().unwrap_or_default();
        if !names.contains(&name) {
            return Err(EcsError::invalid(format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        }
    }
    Ok(())
}

/// Where a RunTask places its tasks: the launch type, or the capacity provider it picked.
fn placement(
    input: &RunTaskRequest,
    cluster: &Cluster,
    td: &TaskDefinition,
) -> Result<(Option<LaunchType>, Option<String>), EcsError> {
    if input.propagate_tags == Some(PropagateTags::Service) {
        return Err(EcsError::invalid(
            "propagateTags SERVICE is only valid for tasks a service starts.",
        ));
    }
    if let Some(item) = input
        .capacity_provider_strategy
        .iter()
        .flatten()
        .find(|item| {
            let name = item.capacity_provider.as_deref().unwrap_or_default();
            !cluster
                .capacity_providers
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|p| p == name)
        })
    {
        return Err(EcsError::invalid(format!(
            "The specified capacity provider '{}' is not associated with the cluster.",
            item.capacity_provider.as_deref().unwrap_or_default()
        )));
    }
    if input.launch_type.is_some() && input.capacity_provider_strategy.is_some() {
        return Err(EcsError::invalid(
            "Specifying both a launch type and capacity provider strategy is not supported.",
        ));
    }
    let strategy = input
        .capacity_provider_strategy
        .clone()
        .or_else(|| cluster.default_capacity_provider_strategy.clone())
        .unwrap_or_default();
    let (launch_type, provider) = match (input.launch_type, strategy.first()) {
        (Some(lt), _) => (Some(lt), None),
        (None, Some(item)) => {
            let name = item.capacity_provider.clone().unwrap_or_default();
            let lt = match name.as_str() {
                "FARGATE" | "FARGATE_SPOT" => Some(LaunchType::Fargate),
                _ => None,
            };
            (lt, Some(name))
        }
        (None, None) => (Some(LaunchType::Ec2), None),
    };
    let compatible = |c: Compatibility| {
        td.compatibilities
            .as_deref()
            .unwrap_or_default()
            .contains(&c)
    };
    match launch_type {
        Some(LaunchType::Fargate) if !compatible(Compatibility::Fargate) => {
            return Err(EcsError::invalid(
                "Task definition does not support launch_type FARGATE.",
            ))
        }
        Some(LaunchType::External) if !compatible(Compatibility::External) => {
            return Err(EcsError::invalid(
                "Task definition does not support launch_type EXTERNAL.",
            ))
        }
        _ => {}
    }
    let awsvpc_config = input
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration.as_ref());
    match (td.network_mode == Some(NetworkMode::Awsvpc), awsvpc_config) {
        (true, None) => {
            return Err(EcsError::invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ))
        }
        (false, Some(_)) => return Err(EcsError::invalid(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        )),
        _ => {}
    }
    Ok((launch_type, provider))
}

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
        let eni = new_id();
        let mut details = vec![];
        if let Some(subnet) = vpc.subnets.as_ref().and_then(|s| s.first()) {
            details.push(detail("subnetId", subnet.clone()));
        }
        details.push(detail("networkInterfaceId", format!("eni-{}", &eni[..17])));
        Some(Attachment {
            id: Some(uuid::Uuid::new_v4().to_string()),
            r#type: Some("ElasticNetworkInterface".into()),
            status: Some("PRECREATED".into()),
            details: Some(details),
        })
    }

    fn build(&self) -> Task {
        let id = new_id();
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
                            new_id()
                        ),
                    )),
                    task_arn: Some(task_arn.clone()),
                    name: Some(name),
                    image: c.image.clone(),
                    last_status: Some("PENDING".into()),
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
        Task {
            task_arn: Some(task_arn),
            cluster_arn: Some(self.cluster_arn.to_string()),
            task_definition_arn: self.td.task_definition_arn.clone(),
            overrides: Some(TaskOverride {
                container_overrides: Some(container_overrides),
                inference_accelerator_overrides: Some(vec![]),
                ..overrides
            }),
            last_status: Some(PROVISIONING.into()),
            desired_status: Some(RUNNING.into()),
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

impl Kecs {
    pub(super) async fn run_task_op(
        &self,
        ctx: &RequestContext,
        input: RunTaskRequest,
    ) -> Result<RunTaskResponse, EcsError> {
        self.place_tasks(ctx, input, &[]).await
    }

    /// StartTask: one task per container instance named. Every container instance is this
    /// machine's engine, so the tasks run there, each recording the instance it was asked for.
    pub(super) async fn start_task_op(
        &self,
        ctx: &RequestContext,
        input: StartTaskRequest,
    ) -> Result<StartTaskResponse, EcsError> {
        let idents = input.container_instances.clone().unwrap_or_default();
        if idents.is_empty() || idents.len() > 10 {
            return Err(EcsError::invalid(
                "containerInstances must have between 1 and 10 items.",
            ));
        }
        let cluster = cluster_arn(ctx, input.cluster.as_deref())?;
        let instances: Vec<String> = idents
            .iter()
            .map(|i| {
                if arn::is_arn(i) {
                    i.clone()
                } else {
                    arn::in_cluster(&cluster, "container-instance", i)
                }
            })
            .collect();
        let run = RunTaskRequest {
            cluster: input.cluster,
            task_definition: input.task_definition,
            overrides: input.overrides,
            started_by: input.started_by,
            group: input.group,
            tags: input.tags,
            propagate_tags: input.propagate_tags,
            enable_ecs_managed_tags: input.enable_ecs_managed_tags,
            enable_execute_command: input.enable_execute_command,
            network_configuration: input.network_configuration,
            reference_id: input.reference_id,
            volume_configurations: input.volume_configurations,
            launch_type: Some(LaunchType::Ec2),
            count: Some(instances.len() as i32),
            ..RunTaskRequest::default()
        };
        let out = self.place_tasks(ctx, run, &instances).await?;
        Ok(StartTaskResponse {
            tasks: out.tasks,
            failures: out.failures,
        })
    }

    /// RunTask, StartTask and the service scheduler: decide and record the tasks, then queue
    /// their launch.
    pub(super) async fn place_tasks(
        &self,
        ctx: &RequestContext,
        input: RunTaskRequest,
        container_instances: &[String],
    ) -> Result<RunTaskResponse, EcsError> {
        self.runtime
            .check_available()
            .map_err(|e| EcsError::Unsupported(e.to_string()))?;
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
        let now = self.now();
        // 1. Decide and record the tasks as PROVISIONING.
        let (tasks, replay) = self
            .write(|state| {
                let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
                let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
                let ident = input.task_definition.as_deref().unwrap_or_default();
                let td = resolve_task_definition(state, ctx, ident)?
                    .ok_or_else(|| EcsError::client("TaskDefinition not found."))?
                    .clone();
                if td.status != Some(TaskDefinitionStatus::Active) {
                    return Err(EcsError::client("TaskDefinition is inactive."));
                }
                if let Some(token) = &input.client_token {
                    let hash = token_hash(token);
                    let earlier: Vec<Task> = tasks_in(state, &cluster_arn)
                        .filter(|(_, t)| t.client_token == Some(hash))
                        .filter_map(|(arn, _)| state.tasks.get(arn))
                        .filter(|t| t.client_token.as_ref() == Some(token))
                        .map(|t| view(state, t, true))
                        .collect();
                    if !earlier.is_empty() {
                        return Ok(((earlier, true), vec![]));
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
                };
                let emulated = self.runtime.is_emulated();
                let mut tasks = vec![];
                let mut mutations = vec![];
                for i in 0..count {
                    let mut task = new.build();
                    task.container_instance_arn = container_instances.get(i as usize).cloned();
                    if emulated {
                        emulate_start(&mut task, now);
                    }
                    let arn = task.task_arn.clone().unwrap_or_default();
                    mutations.push(Mutation::PutTask(StoredTask {
                        task: task.clone(),
                        client_token: input.client_token.clone(),
                    }));
                    mutations.push(Mutation::PutTags(arn, tags.clone()));
                    let mut shown = task;
                    shown.tags = Some(tags.clone());
                    tasks.push(shown);
                }
                Ok(((tasks, false), mutations))
            })
            .await?;
        if !replay && !self.runtime.is_emulated() {
            for task in &tasks {
                self.enqueue(TaskWork::Launch(task.task_arn.clone().unwrap_or_default()));
            }
        }
        Ok(RunTaskResponse {
            tasks: Some(tasks),
            failures: Some(vec![]),
        })
    }

    pub(super) async fn stop_task_op(
        &self,
        ctx: &RequestContext,
        input: StopTaskRequest,
    ) -> Result<StopTaskResponse, EcsError> {
        let ident = input.task.clone().unwrap_or_default();
        if input
            .reason
            .as_deref()
            .is_some_and(|r| r.chars().count() > 255)
        {
            return Err(EcsError::invalid("reason may be at most 255 characters."));
        }
        let not_found = || EcsError::invalid("The referenced task was not found.");
        let now = self.now();
        let reason = input
            .reason
            .clone()
            .unwrap_or_else(|| "Task stopped by user".into());
        let emulated = self.runtime.is_emulated();
        let (task, queue) = self
            .write(|state| {
                let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
                let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
                let mut stored = find(state, ctx, &cluster_arn, &ident).ok_or_else(not_found)?;
                if task_state::stop_requested(&stored.task) {
                    return Ok(((view(state, stored, false), false), vec![]));
                }
                task_state::request_stop(
                    &mut stored.task,
                    TaskStopCode::UserInitiated,
                    &reason,
                    now,
                );
                if emulated {
                    task_state::mark_stopped(&mut stored.task, now);
                }
                let shown = view(state, stored.clone(), false);
                Ok(((shown, !emulated), vec![Mutation::PutTask(stored)]))
            })
            .await?;
        if queue {
            self.enqueue(TaskWork::Stop(task.task_arn.clone().unwrap_or_default()));
        }
        Ok(StopTaskResponse { task: Some(task) })
    }

    pub(super) fn describe_tasks_op(
        &self,
        ctx: &RequestContext,
        input: DescribeTasksRequest,
    ) -> Result<DescribeTasksResponse, EcsError> {
        let idents = input.tasks.clone().unwrap_or_default();
        if idents.is_empty() {
            return Err(EcsError::invalid("Tasks cannot be empty."));
        }
        if idents.len() > 100 {
            return Err(EcsError::invalid("tasks can have at most 100 items."));
        }
        let with_tags = input
            .include
            .as_deref()
            .unwrap_or_default()
            .contains(&TaskField::Tags);
        self.read(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let mut tasks = vec![];
            let mut failures = vec![];
            for ident in &idents {
                match find(state, ctx, &cluster_arn, ident) {
                    Some(t) => tasks.push(view(state, t, with_tags)),
                    None => failures.push(super::missing(task_arn_of(&cluster_arn, ident))),
                }
            }
            Ok(DescribeTasksResponse {
                tasks: Some(tasks),
                failures: Some(failures),
            })
        })
    }

    pub(super) fn list_tasks_op(
        &self,
        ctx: &RequestContext,
        input: ListTasksRequest,
    ) -> Result<ListTasksResponse, EcsError> {
        let want = input.desired_status.unwrap_or(DesiredStatus::Running);
        let cluster_arn = cluster_arn(ctx, input.cluster.as_deref())?;
        // Candidates come in ARN order, so a page is cut from a lazy walk: the first page of a
        // cluster with 100k tasks reads about as many tasks as it returns.
        let page = self.read(|state| {
            active_cluster(state, ctx, input.cluster.as_deref())?;
            // A service's tasks come from its index, not from a walk over the whole cluster.
            type Candidates<'s> = Box<dyn Iterator<Item = (&'s String, &'s TaskSummary)> + 's>;
            let candidates: Candidates = match &input.service_name {
                Some(name) => Box::new(
                    state
                        .service_tasks
                        .get(&arn::in_cluster(&cluster_arn, "service", name))
                        .into_iter()
                        .flatten()
                        .filter_map(|arn| Some((arn, state.tasks.summary(arn)?))),
                ),
                None => Box::new(tasks_in(state, &cluster_arn)),
            };
            let group = input.service_name.as_ref().map(|s| format!("service:{s}"));
            let matching = candidates
                .filter(|(_, t)| t.desired_status.as_deref() == Some(want.as_str()))
                .filter(|(_, t)| {
                    input.family.is_none() || t.family.as_deref() == input.family.as_deref()
                })
                .filter(|(_, t)| {
                    input.started_by.is_none()
                        || t.started_by.as_deref() == input.started_by.as_deref()
                })
                .filter(|(_, t)| input.launch_type.is_none() || t.launch_type == input.launch_type)
                .filter(|(_, t)| group.is_none() || t.group.as_deref() == group.as_deref())
                .filter(|(_, t)| match &input.container_instance {
                    None => true,
                    Some(ci) => t
                        .container_instance_arn
                        .as_deref()
                        .is_some_and(|arn| arn == ci || arn.ends_with(&format!("/{ci}"))),
                })
                .map(|(arn, _)| arn.as_str());
            let page = paginate(
                matching,
                |arn| arn.to_string(),
                false,
                input.max_results,
                input.next_token.as_deref(),
                LIST,
            )?;
            Ok::<_, EcsError>(Page {
                items: page.items.into_iter().map(str::to_string).collect(),
                next_token: page.next_token,
            })
        })?;
        Ok(ListTasksResponse {
            task_arns: Some(page.items),
            next_token: page.next_token,
        })
    }
}
