//! Task sets, for services whose deployments an external controller drives (EXTERNAL, and
//! CODE_DEPLOY's initial task set): CreateTaskSet, UpdateTaskSet, DeleteTaskSet,
//! DescribeTaskSets and UpdateServicePrimaryTaskSet. Each task set keeps
//! `ceil(desiredCount × scale%)` tasks running; the scheduler (task_set_scheduling.rs) makes it so.

use super::find::{active_cluster, find_service};
use super::service_model::{
    computed_desired_count, controller, history_arn, new_task_set, schedule_service,
};
use super::task_definitions::resolve as resolve_task_definition;
use crate::core::Core;
use crate::model::*;
use crate::rules::validate;
use crate::state::{Mutation, State, StoredService};
use crate::status::{HasStatus, ServiceStatus, TaskSetStatus};
use crate::{arn, EcsError, RequestContext};

/// The scale given, checked; none given is 0 %, as ECS creates a task set without one.
fn check_scale(scale: &Option<Scale>) -> Result<Scale, EcsError> {
    let scale = scale.clone().unwrap_or(Scale {
        value: Some(0.0),
        unit: Some(ScaleUnit::Percent),
    });
    match scale.value {
        Some(v) if (0.0..=100.0).contains(&v) => Ok(Scale {
            value: Some(v),
            unit: Some(ScaleUnit::Percent),
        }),
        _ => Err(EcsError::invalid(
            "scale.value must be a percentage between 0 and 100.",
        )),
    }
}

/// The ACTIVE task-set-managed service `ident` and its cluster, for a task set request.
fn service_for_task_sets(
    state: &State,
    ctx: &RequestContext,
    cluster: Option<&str>,
    ident: &str,
) -> Result<StoredService, EcsError> {
    let cluster = active_cluster(state, ctx, cluster)?;
    let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
    let stored = find_service(state, ctx, &cluster_arn, ident).ok_or(EcsError::ServiceNotFound)?;
    if !stored.service.status_is(ServiceStatus::Active) {
        return Err(EcsError::ServiceNotActive);
    }
    if controller(&stored.service) != DeploymentControllerType::External {
        return Err(EcsError::invalid(
            "Amazon ECS only supports task set management on services configured to use external deployment controllers.",
        ));
    }
    Ok(stored)
}

/// The index of the task set named by ID or ARN in `service`.
fn task_set_index(service: &Service, ident: &str) -> Result<usize, EcsError> {
    service
        .task_sets
        .iter()
        .flatten()
        .position(|t| t.id.as_deref() == Some(ident) || t.task_set_arn.as_deref() == Some(ident))
        .ok_or(EcsError::TaskSetNotFound)
}

/// Applies `change` to a task set that is not DRAINING (`(cluster, service, task set)` name
/// it), given the service's desired count; the task set as shown and the mutation.
fn change_task_set(
    state: &State,
    ctx: &RequestContext,
    (cluster, service, task_set): (Option<&str>, &str, Option<&str>),
    change: impl FnOnce(&mut TaskSet, i32) -> Result<(), EcsError>,
) -> Result<(TaskSet, Vec<Mutation>), EcsError> {
    let mut stored = service_for_task_sets(state, ctx, cluster, service)?;
    let desired = stored.service.desired_count.unwrap_or(0);
    let i = task_set_index(&stored.service, task_set.unwrap_or(""))?;
    let task_set = &mut stored.service.task_sets.get_or_insert_with(Vec::new)[i];
    if task_set.status_is(TaskSetStatus::Draining) {
        return Err(EcsError::TaskSetNotFound);
    }
    change(task_set, desired)?;
    let shown = with_tags(state, task_set.clone());
    Ok((shown, vec![Mutation::PutService(stored)]))
}

fn with_tags(state: &State, mut task_set: TaskSet) -> TaskSet {
    task_set.tags = Some(state.tags_of(task_set.task_set_arn.as_deref().unwrap_or_default()));
    task_set
}

pub(crate) async fn create_task_set(
    core: &Core,
    ctx: &RequestContext,
    input: CreateTaskSetRequest,
) -> Result<CreateTaskSetResponse, EcsError> {
    validate::tags(input.tags.as_deref().unwrap_or_default())?;
    let scale = check_scale(&input.scale)?;
    let now = core.now();
    let ident = input.service.clone().unwrap_or_default();
    let created = core
        .write(|state| {
            let mut stored = service_for_task_sets(state, ctx, input.cluster.as_deref(), &ident)?;
            let td_ident = input.task_definition.as_deref().unwrap_or_default();
            let td = resolve_task_definition(state, ctx, td_ident)?
                .ok_or_else(|| EcsError::invalid("TaskDefinition not found."))?;
            if td.status != Some(TaskDefinitionStatus::Active) {
                return Err(EcsError::invalid("TaskDefinition is inactive."));
            }
            let td_arn = td.task_definition_arn.clone().unwrap_or_default();
            let mut task_set = new_task_set(&stored.service, &td_arn, scale, now, core.ids());
            task_set.external_id = input.external_id.clone();
            if input.launch_type.is_some() || input.capacity_provider_strategy.is_some() {
                task_set.launch_type = input.launch_type;
                task_set.capacity_provider_strategy = input.capacity_provider_strategy.clone();
            }
            if let Some(v) = input.platform_version.clone() {
                task_set.platform_version = Some(v);
            }
            if let Some(n) = input.network_configuration.clone() {
                task_set.network_configuration = Some(n);
            }
            task_set.load_balancers = Some(input.load_balancers.clone().unwrap_or_default());
            task_set.service_registries =
                Some(input.service_registries.clone().unwrap_or_default());
            let tags = input.tags.clone().unwrap_or_default();
            let arn = task_set.task_set_arn.clone().unwrap_or_default();
            stored
                .service
                .task_sets
                .get_or_insert_with(Vec::new)
                .push(task_set.clone());
            task_set.tags = Some(tags.clone());
            Ok((
                task_set,
                vec![Mutation::PutService(stored), Mutation::PutTags(arn, tags)],
            ))
        })
        .await?;
    schedule_service(core, created.service_arn.clone());
    Ok(CreateTaskSetResponse {
        task_set: Some(created),
    })
}

pub(crate) async fn update_task_set(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateTaskSetRequest,
) -> Result<UpdateTaskSetResponse, EcsError> {
    let scale = check_scale(&input.scale)?;
    let now = core.now();
    let ident = input.service.clone().unwrap_or_default();
    let updated = core
        .write(|state| {
            let target = (
                input.cluster.as_deref(),
                ident.as_str(),
                input.task_set.as_deref(),
            );
            change_task_set(state, ctx, target, |task_set, desired| {
                task_set.computed_desired_count =
                    Some(computed_desired_count(desired, Some(&scale)));
                task_set.scale = Some(scale);
                task_set.updated_at = Some(now);
                Ok(())
            })
        })
        .await?;
    schedule_service(core, updated.service_arn.clone());
    Ok(UpdateTaskSetResponse {
        task_set: Some(updated),
    })
}

pub(crate) async fn update_service_primary_task_set(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateServicePrimaryTaskSetRequest,
) -> Result<UpdateServicePrimaryTaskSetResponse, EcsError> {
    let now = core.now();
    let ident = input.service.clone().unwrap_or_default();
    let primary = core
        .write(|state| {
            let mut stored = service_for_task_sets(state, ctx, input.cluster.as_deref(), &ident)?;
            let i = task_set_index(
                &stored.service,
                input.primary_task_set.as_deref().unwrap_or(""),
            )?;
            let service = &mut stored.service;
            let task_sets = service.task_sets.get_or_insert_with(Vec::new);
            if task_sets[i].status_is(TaskSetStatus::Draining) {
                return Err(EcsError::invalid(
                    "A DRAINING task set cannot become the primary task set.",
                ));
            }
            for (j, t) in task_sets.iter_mut().enumerate() {
                let status = if j == i {
                    TaskSetStatus::Primary
                } else {
                    TaskSetStatus::Active
                };
                if !t.status_is(TaskSetStatus::Draining) && !t.status_is(status) {
                    t.set_status(status);
                    t.updated_at = Some(now);
                }
            }
            let chosen = task_sets[i].clone();
            service.task_definition = chosen.task_definition.clone();
            service.launch_type = chosen.launch_type;
            service.capacity_provider_strategy = chosen.capacity_provider_strategy.clone();
            service.platform_version = chosen.platform_version.clone();
            service.network_configuration = chosen.network_configuration.clone();
            Ok((with_tags(state, chosen), vec![Mutation::PutService(stored)]))
        })
        .await?;
    schedule_service(core, primary.service_arn.clone());
    Ok(UpdateServicePrimaryTaskSetResponse {
        task_set: Some(primary),
    })
}

pub(crate) async fn delete_task_set(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteTaskSetRequest,
) -> Result<DeleteTaskSetResponse, EcsError> {
    let now = core.now();
    let ident = input.service.clone().unwrap_or_default();
    let deleted = core
        .write(|state| {
            let target = (input.cluster.as_deref(), ident.as_str(), input.task_set.as_deref());
            change_task_set(state, ctx, target, |task_set, _| {
                let scaled = task_set.scale.as_ref().and_then(|s| s.value).unwrap_or(0.0) > 0.0;
                if scaled && input.force != Some(true) {
                    return Err(EcsError::invalid(
                        "The task set cannot be deleted while it is scaled above 0%. Scale it to 0 first, or delete it with force.",
                    ));
                }
                task_set.set_status(TaskSetStatus::Draining);
                task_set.computed_desired_count = Some(0);
                task_set.updated_at = Some(now);
                Ok(())
            })
        })
        .await?;
    schedule_service(core, deleted.service_arn.clone());
    Ok(DeleteTaskSetResponse {
        task_set: Some(deleted),
    })
}

pub(crate) async fn describe_task_sets(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeTaskSetsRequest,
) -> Result<DescribeTaskSetsResponse, EcsError> {
    let ident = input.service.clone().unwrap_or_default();
    let tags = input
        .include
        .as_deref()
        .unwrap_or_default()
        .contains(&TaskSetField::Tags);
    core.read(|state| {
        let stored = service_for_task_sets(state, ctx, input.cluster.as_deref(), &ident)?;
        let all = stored.service.task_sets.clone().unwrap_or_default();
        let show = |t: TaskSet| if tags { with_tags(state, t) } else { t };
        let (mut task_sets, mut failures) = (vec![], vec![]);
        match input.task_sets.as_deref() {
            None | Some([]) => task_sets.extend(all.into_iter().map(show)),
            Some(idents) => {
                for ident in idents {
                    match task_set_index(&stored.service, ident) {
                        Ok(i) => task_sets.push(show(all[i].clone())),
                        Err(_) => failures.push(super::missing(if arn::is_arn(ident) {
                            ident.clone()
                        } else {
                            let service_arn =
                                stored.service.service_arn.as_deref().unwrap_or_default();
                            history_arn(service_arn, "task-set", ident)
                        })),
                    }
                }
            }
        }
        Ok(DescribeTaskSetsResponse {
            task_sets: Some(task_sets),
            failures: Some(failures),
        })
    })
}
