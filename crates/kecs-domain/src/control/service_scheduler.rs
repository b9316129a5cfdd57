//! The service scheduler at work: one pass for one service, run when the service or one of its
//! tasks changed (and by the periodic resync). It applies [`scheduler::decide`], keeps the
//! counts and deployment states truthful, trips the circuit breaker, and writes the service's
//! events as ECS words them.

use std::collections::BTreeSet;

use super::blue_green_pass;
use super::service_pass::{
    context_of, count_tasks, failed, note_steady, note_stopped, seen_task, still_counted,
    stop_tasks, task_list, tasks_of, Plan, Start,
};
use super::task_set_scheduling;
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::ops::deployment_history::{forget, roll_back, track, tripped_without_rollback};
use crate::ops::service_model::{add_event, primary_of, uses_task_sets};
use crate::ports::ids::Ids;
use crate::status::{DeploymentStatus, HasStatus, ServiceStatus};

use crate::ops::task_placement::{place_tasks, Placing};
use crate::rules::scheduler::{self, SeenState, SeenTask, Targets};
use crate::rules::task_state::{is_starting, is_stopped, stop_requested};
use crate::state::{Mutation, State, StoredService};
use crate::EcsError;

/// One scheduler pass for `service_arn` (logged, never failing the controller).
pub(crate) async fn schedule(core: &Core, service_arn: &str) {
    if let Err(e) = schedule_pass(core, service_arn).await {
        tracing::warn!(service = service_arn, error = %e, "scheduler pass failed");
    }
}

/// Queues a scheduler pass for every service that is not INACTIVE: the safety net under
/// the change-driven passes.
pub(crate) fn resync_services(core: &Core) {
    let arns: Vec<String> = core.read(|state| {
        state
            .services
            .summaries()
            .filter(|(_, s)| !s.status_is(ServiceStatus::Inactive))
            .map(|(arn, _)| arn.clone())
            .collect()
    });
    for arn in arns {
        core.enqueue(TaskWork::Schedule(arn));
    }
}

async fn schedule_pass(core: &Core, service_arn: &str) -> Result<(), EcsError> {
    let now = core.now();
    let emulated = core.runtime.is_emulated();
    let in_service = core.in_service(service_arn);
    let plan = core
        .write(|state| {
            let Some(stored) = state.services.get(service_arn) else {
                return Ok((None, vec![]));
            };
            if stored.service.status_is(ServiceStatus::Inactive) {
                return Ok((None, vec![]));
            }
            Ok(decide_pass(
                state,
                stored.clone(),
                now,
                emulated,
                core.ids(),
                in_service.as_ref(),
            ))
        })
        .await?;
    let Some(plan) = plan else { return Ok(()) };
    let retired = core.read(|s| {
        s.services
            .get(service_arn)
            .is_none_or(|s| s.service.status_is(ServiceStatus::Inactive))
    });
    if retired && !emulated {
        // This pass made it INACTIVE: what the runtime keeps for it goes too.
        if let Err(e) = core.runtime.remove_service(service_arn).await {
            tracing::warn!(service = service_arn, error = %e, "removing the runtime's objects of a deleted service failed");
        }
        // And its load balancers' listeners.
        core.enqueue(TaskWork::Route(service_arn.to_string()));
    }
    if !emulated {
        for arn in &plan.stopped {
            core.enqueue(TaskWork::Stop(arn.clone()));
        }
    }
    if plan.starts.iter().all(|s| s.count == 0) {
        return Ok(());
    }
    let (started, unplaced) = start_service_tasks(core, service_arn, &plan).await?;
    if started.iter().all(|(_, arns)| arns.is_empty()) && unplaced.is_empty() {
        return Ok(());
    }
    let now = core.now();
    core.write(|state| {
        let Some(stored) = state.services.get(service_arn) else {
            return Ok(((), vec![]));
        };
        let mut stored = stored.clone();
        let name = stored.service.service_name.clone().unwrap_or_default();
        // Task sets' tasks are reported per task set, as ECS does; a deployment's all at once.
        let groups: Vec<(Option<&str>, Vec<String>)> = if uses_task_sets(&stored.service) {
            started
                .iter()
                .filter(|(_, arns)| !arns.is_empty())
                .map(|(set, arns)| (Some(set.as_str()), arns.clone()))
                .collect()
        } else {
            vec![(None, started.iter().flat_map(|(_, a)| a.clone()).collect())]
        };
        let mut said = false;
        for (task_set, arns) in groups.into_iter().filter(|(_, arns)| !arns.is_empty()) {
            let whose = match task_set {
                Some(set) => format!("service {name}, taskSet {set}"),
                None => format!("service {name}"),
            };
            add_event(
                &mut stored.service,
                format!(
                    "({whose}) has started {} tasks: {}.",
                    arns.len(),
                    task_list(&arns)
                ),
                now,
                core.ids(),
            );
            said = true;
        }
        if let Some(message) = unplaced_message(&name, &unplaced) {
            // Said once while it lasts (the newest event), not at every pass.
            let latest = stored.service.events.iter().flatten().next();
            if latest.and_then(|e| e.message.as_deref()) != Some(message.as_str()) {
                add_event(&mut stored.service, message, now, core.ids());
                said = true;
            }
        }
        // Nothing new to say: nothing to write.
        Ok((
            (),
            if said {
                vec![Mutation::PutService(stored)]
            } else {
                vec![]
            },
        ))
    })
    .await
}

/// The service event saying a task could not be placed, as ECS words it, from RunTask's
/// failures (`None` when every task was placed).
fn unplaced_message(service: &str, failures: &[Failure]) -> Option<String> {
    let first = failures.first()?;
    let cannot = format!("service {service} was unable to place a task because no container instance met all of its requirements.");
    let instance = first.arn.as_deref().unwrap_or_default().rsplit('/').next();
    let lacking = match first.reason.as_deref() {
        Some("RESOURCE:CPU") => "CPU units",
        Some("RESOURCE:MEMORY") => "memory",
        _ => return Some(cannot),
    };
    Some(format!(
        "{cannot} The closest matching container-instance {} has insufficient {lacking} available.",
        instance.unwrap_or_default()
    ))
}

/// Starts the plan's tasks (ten per RunTask, ECS's limit); returns their ARNs by the
/// deployment or task set that started them, and the placement failures of those that could
/// not start.
async fn start_service_tasks(
    core: &Core,
    service_arn: &str,
    plan: &Plan,
) -> Result<(Vec<(String, Vec<String>)>, Vec<Failure>), EcsError> {
    let Some(service) = core.read(|s| s.services.get(service_arn).map(|s| s.service.clone()))
    else {
        return Ok((vec![], vec![]));
    };
    let mut unplaced = vec![];
    let tags = match service.propagate_tags {
        Some(PropagateTags::Service) => core.read(|s| s.tags_of(service_arn)),
        _ => vec![],
    };
    let mut started = vec![];
    for start in &plan.starts {
        let mut arns = vec![];
        let mut left = start.count;
        while left > 0 {
            let count = left.min(10);
            left -= count;
            let input = RunTaskRequest {
                cluster: service.cluster_arn.clone(),
                task_definition: Some(start.task_definition.clone()),
                count: Some(count as i32),
                started_by: Some(start.started_by.clone()),
                group: Some(format!(
                    "service:{}",
                    service.service_name.clone().unwrap_or_default()
                )),
                launch_type: start.launch_type,
                capacity_provider_strategy: start.capacity_provider_strategy.clone(),
                platform_version: start.platform_version.clone(),
                network_configuration: start.network_configuration.clone(),
                propagate_tags: match service.propagate_tags {
                    Some(PropagateTags::TaskDefinition) => Some(PropagateTags::TaskDefinition),
                    _ => None,
                },
                tags: (!tags.is_empty()).then(|| tags.clone()),
                enable_ecs_managed_tags: service.enable_ecs_managed_tags,
                enable_execute_command: service.enable_execute_command,
                placement_constraints: service.placement_constraints.clone(),
                placement_strategy: service.placement_strategy.clone(),
                ..RunTaskRequest::default()
            };
            let out = place_tasks(core, &plan.ctx, input, Placing::Cluster).await?;
            arns.extend(out.tasks.into_iter().flatten().filter_map(|t| t.task_arn));
            unplaced.extend(out.failures.into_iter().flatten());
        }
        started.push((start.started_by.clone(), arns));
    }
    Ok((started, unplaced))
}

/// The scheduler's decision for one service, as mutations and the work left to do.
fn decide_pass(
    state: &State,
    mut stored: StoredService,
    now: f64,
    emulated: bool,
    ids: &dyn Ids,
    in_service: Option<&BTreeSet<String>>,
) -> (Option<Plan>, Vec<Mutation>) {
    if uses_task_sets(&stored.service) {
        return task_set_scheduling::decide(state, stored, now, emulated, ids);
    }
    let original = stored.clone();
    let name = stored.service.service_name.clone().unwrap_or_default();
    let arn = stored.service.service_arn.clone().unwrap_or_default();
    let owned = tasks_of(state, &arn);
    let tasks: Vec<&Task> = owned.iter().collect();
    let mut mutations = vec![];

    // The circuit breaker.
    let service = &mut stored.service;
    let config = service.deployment_configuration.clone().unwrap_or_default();
    let breaker = config
        .deployment_circuit_breaker
        .clone()
        .unwrap_or_default();
    let desired = service.desired_count.unwrap_or(0).max(0) as u32;
    if let Some(primary) = primary_of(service).cloned() {
        let id = primary.id.clone().unwrap_or_default();
        let failures = tasks
            .iter()
            .filter(|t| t.started_by.as_deref() == Some(id.as_str()) && is_stopped(t) && failed(t))
            .count() as i32;
        let in_progress = primary.rollout_state == Some(DeploymentRolloutState::InProgress);
        let tripped = breaker.enable == Some(true)
            && in_progress
            && failures as u32 >= scheduler::failure_threshold(desired);
        for d in service.deployments.iter_mut().flatten() {
            if d.id.as_deref() == Some(id.as_str()) {
                d.failed_tasks = Some(failures);
                if tripped {
                    d.rollout_state = Some(DeploymentRolloutState::Failed);
                    d.rollout_state_reason =
                        Some("ECS deployment circuit breaker: tasks failed to start.".into());
                    d.updated_at = Some(now);
                }
            }
        }
        if tripped {
            let reason = "ECS deployment circuit breaker: tasks failed to start.";
            add_event(
                service,
                format!(
                    "(service {name}) (deployment {id}) deployment failed: tasks failed to start."
                ),
                now,
                ids,
            );
            let rolled_back = match breaker.rollback {
                Some(true) => roll_back(state, &mut stored, reason, now, ids),
                _ => None,
            };
            match rolled_back {
                Some(m) => mutations.extend(m),
                None => mutations.extend(tripped_without_rollback(
                    state,
                    &stored,
                    breaker.rollback == Some(true),
                    reason,
                    now,
                )),
            }
        }
    }

    // What the tasks are, for the decision.
    let service = &mut stored.service;
    let Some(primary) = primary_of(service).cloned() else {
        return (None, vec![Mutation::PutService(stored)]);
    };
    let primary_id = primary.id.clone().unwrap_or_default();
    let grace = f64::from(service.health_check_grace_period_seconds.unwrap_or(0));
    let live: Vec<&&Task> = tasks
        .iter()
        .filter(|t| !is_stopped(t) && !stop_requested(t))
        .collect();
    let seen: Vec<SeenTask> = live
        .iter()
        .map(|t| seen_task(state, t, now, grace, in_service))
        .collect();
    let draining = service.status_is(ServiceStatus::Draining);
    let mut targets = Targets {
        desired: if draining { 0 } else { desired },
        minimum_healthy_percent: config.minimum_healthy_percent.unwrap_or(100).max(0) as u32,
        maximum_percent: config.maximum_percent.unwrap_or(200).max(0) as u32,
        may_start: primary.rollout_state != Some(DeploymentRolloutState::Failed) && !draining,
    };
    let step = blue_green_pass::step(
        state,
        &mut stored,
        &primary_id,
        &seen,
        targets.desired,
        now,
        ids,
    );
    if step.rolled_back {
        // The old revision is primary again: the next pass schedules for it.
        mutations.extend(step.mutations);
        mutations.extend(step.record.map(Mutation::PutServiceDeployment));
        mutations.push(Mutation::PutService(stored));
        return (None, mutations);
    }
    if step.gate.is_some() {
        // Green runs beside the whole of blue.
        targets.maximum_percent = targets.maximum_percent.max(200);
    }
    let mut decision = scheduler::decide(&targets, &primary_id, &seen);
    if let Some(gate) = step.gate {
        if !gate.start_green {
            decision.start = 0;
        }
        if !gate.stop_blue {
            // Blue stays until CLEAN_UP; an unhealthy task is still replaced.
            decision.stop.retain(|arn| {
                seen.iter().any(|t| {
                    &t.arn == arn && (t.deployment == primary_id || t.state == SeenState::Unhealthy)
                })
            });
        }
    }
    let service = &mut stored.service;

    // Stops.
    mutations.extend(stop_tasks(state, &decision.stop, &seen, now, emulated));
    note_stopped(service, &decision.stop, now, ids);

    // Counts, per deployment and for the service: every task not STOPPED yet counts by its
    // status (a task being stopped still runs until it has stopped).
    let remaining = still_counted(&tasks, &decision.stop, emulated);
    let count = |dep: Option<&str>, running: bool| count_tasks(&remaining, dep, running);
    // On the emulated runtime the tasks this pass stops are gone already: what is left may be
    // steady now, not only at the next pass (a waiter could see the old deployment gone and
    // the new one still IN_PROGRESS in between).
    let only_primary = remaining
        .iter()
        .all(|t| t.started_by.as_deref() == Some(primary_id.as_str()));
    let settled = decision.steady || (emulated && decision.start == 0 && only_primary);
    let steady = settled && count(None, true) == targets.desired as i32 && count(None, false) == 0;
    let mut completed = false;
    for d in service.deployments.iter_mut().flatten() {
        let id = d.id.clone();
        let (running, pending) = (count(id.as_deref(), true), count(id.as_deref(), false));
        if d.running_count != Some(running) || d.pending_count != Some(pending) {
            d.running_count = Some(running);
            d.pending_count = Some(pending);
            d.updated_at = Some(now);
        }
        if d.status_is(DeploymentStatus::Primary) {
            d.desired_count = Some(targets.desired as i32);
            if steady && d.rollout_state == Some(DeploymentRolloutState::InProgress) {
                d.rollout_state = Some(DeploymentRolloutState::Completed);
                d.rollout_state_reason = Some(format!(
                    "ECS deployment {} completed.",
                    d.id.clone().unwrap_or_default()
                ));
                d.updated_at = Some(now);
                completed = true;
            }
        }
    }
    // Behind a load balancer a task runs for the service once it takes traffic: the
    // services-stable waiter then waits for the targets too.
    service.running_count = Some(match in_service {
        None => count(None, true),
        Some(serving) => remaining
            .iter()
            .filter(|t| !is_starting(t))
            .filter(|t| t.task_arn.as_ref().is_some_and(|a| serving.contains(a)))
            .count() as i32,
    });
    service.pending_count = Some(count(None, false));
    // Old deployments without tasks are done.
    let has_tasks = |id: &Option<String>| remaining.iter().any(|t| &t.started_by == id);
    service
        .deployments
        .get_or_insert_with(Vec::new)
        .retain(|d| d.status_is(DeploymentStatus::Primary) || has_tasks(&d.id));
    if completed {
        stored.blue_green = None;
        stored.last_completed_revision = stored.revisions.get(&primary_id).cloned();
        add_event(
            service,
            format!("(service {name}) (deployment {primary_id}) deployment completed."),
            now,
            ids,
        );
    }
    if steady && !draining {
        note_steady(service, now, ids);
    }
    if draining && remaining.is_empty() {
        service.set_status(ServiceStatus::Inactive);
        mutations.extend(forget(state, &arn));
    } else {
        // Deployments that are gone need no revision any more.
        let live: Vec<String> = service
            .deployments
            .iter()
            .flatten()
            .filter_map(|d| d.id.clone())
            .collect();
        stored.revisions.retain(|id, _| live.contains(id));
        mutations.extend(track(state, &stored, now, step.record));
    }
    let service = &stored.service;
    let plan = Plan {
        ctx: context_of(&arn),
        starts: vec![Start {
            started_by: primary_id,
            task_definition: primary.task_definition.clone().unwrap_or_default(),
            count: decision.start,
            launch_type: service.launch_type,
            capacity_provider_strategy: service.capacity_provider_strategy.clone(),
            platform_version: service.platform_version.clone(),
            network_configuration: service.network_configuration.clone(),
        }],
        stopped: decision.stop,
    };
    if stored != original {
        mutations.push(Mutation::PutService(stored));
    }
    (Some(plan), mutations)
}
