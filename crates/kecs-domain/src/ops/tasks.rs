//! RunTask, StopTask, DescribeTasks and ListTasks.
//!
//! RunTask commits its tasks PROVISIONING and queues their launch for the task controller
//! (see launch.rs); StopTask commits the stop decision and queues the stop. On an emulated
//! runtime (`none`) both take effect at once, in the request's one write.

use super::find::{
    active_cluster, cluster_arn, find_task as find, find_task_arn, task_arn_of, task_view, tasks_in,
};
use super::task_placement::{place_tasks, Placing};
use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, Page, LIST};
use crate::state::{Mutation, State, TaskSummary};
use crate::status::TaskStatus;
use crate::{arn, EcsError, RequestContext};

use crate::core::work::TaskWork;
use crate::rules::task_state::{self};

pub(crate) async fn run_task(
    core: &Core,
    ctx: &RequestContext,
    input: RunTaskRequest,
) -> Result<RunTaskResponse, EcsError> {
    place_tasks(core, ctx, input, Placing::Cluster).await
}

/// StartTask: one task per container instance named. Every container instance is this
/// machine's engine, so the tasks run there, each recording the instance it was asked for.
pub(crate) async fn start_task(
    core: &Core,
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
    let out = place_tasks(core, ctx, run, Placing::Instances(&instances)).await?;
    Ok(StartTaskResponse {
        tasks: out.tasks,
        failures: out.failures,
    })
}

pub(crate) async fn stop_task(
    core: &Core,
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
    let now = core.now();
    let reason = input
        .reason
        .clone()
        .unwrap_or_else(|| "Task stopped by user".into());
    let emulated = core.runtime.is_emulated();
    let (task, queue) = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let mut stored = find(state, ctx, &cluster_arn, &ident).ok_or_else(not_found)?;
            if task_state::stop_requested(&stored.task) {
                return Ok(((task_view(state, stored, false), false), vec![]));
            }
            task_state::request_stop(&mut stored.task, TaskStopCode::UserInitiated, &reason, now);
            if emulated {
                task_state::mark_stopped(&mut stored.task, now);
            }
            let shown = task_view(state, stored.clone(), false);
            Ok(((shown, !emulated), vec![Mutation::PutTask(stored)]))
        })
        .await?;
    if queue {
        core.enqueue(TaskWork::Stop(task.task_arn.clone().unwrap_or_default()));
    }
    Ok(StopTaskResponse { task: Some(task) })
}

pub(crate) async fn describe_tasks(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeTasksRequest,
) -> Result<DescribeTasksResponse, EcsError> {
    let idents = input.tasks.clone().unwrap_or_default();
    let with_tags = input
        .include
        .as_deref()
        .unwrap_or_default()
        .contains(&TaskField::Tags);
    core.read(|state| {
        // As ECS: the cluster (the default one too) is looked up before the list is checked.
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        if idents.is_empty() {
            return Err(EcsError::invalid("Tasks cannot be empty."));
        }
        if idents.len() > 100 {
            return Err(EcsError::invalid("tasks can have at most 100 items."));
        }
        let mut tasks = vec![];
        let mut failures = vec![];
        for ident in &idents {
            match find_task_arn(state, ctx, &cluster_arn, ident) {
                Some(arn) => tasks.extend(described(state, &arn, with_tags)),
                None => failures.push(super::missing(task_arn_of(&cluster_arn, ident))),
            }
        }
        Ok(DescribeTasksResponse {
            tasks: Some(tasks),
            failures: Some(failures),
        })
    })
}

/// The task `arn` as DescribeTasks shows it: its stored document spliced in, or decoded when
/// that cannot be.
fn described(state: &State, arn: &str, with_tags: bool) -> Option<Document<Task>> {
    let tags = if with_tags {
        state.tags_of(arn)
    } else {
        vec![]
    };
    state
        .tasks
        .member(arn)
        .and_then(|(doc, member)| Stored::at(doc, member, Some(tags)))
        .map(Document::Stored)
        .or_else(|| Some(task_view(state, state.tasks.get(arn)?, with_tags).into()))
}

pub(crate) async fn list_tasks(
    core: &Core,
    ctx: &RequestContext,
    input: ListTasksRequest,
) -> Result<ListTasksResponse, EcsError> {
    let want = input.desired_status.unwrap_or(DesiredStatus::Running);
    let cluster_arn = cluster_arn(ctx, input.cluster.as_deref())?;
    // Candidates come in ARN order, so a page is cut from a lazy walk: the first page of a
    // cluster with 100k tasks reads about as many tasks as it returns.
    let page = core.read(|state| {
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
            .filter(|(_, t)| t.desired_status.map(TaskStatus::as_str) == Some(want.as_str()))
            .filter(|(_, t)| {
                input.family.is_none() || t.family.as_deref() == input.family.as_deref()
            })
            .filter(|(_, t)| {
                input.started_by.is_none() || t.started_by.as_deref() == input.started_by.as_deref()
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
