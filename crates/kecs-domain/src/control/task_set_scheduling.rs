//! The scheduler's pass for a service whose tasks run in task sets (EXTERNAL or CODE_DEPLOY
//! controller): each task set keeps its computed desired count of tasks, no rolling rules
//! between them (the external controller shifts scale), and tasks of no task set stop.

use super::service_pass::{
    context_of, count_tasks, note_steady, note_stopped, seen_task, still_counted, stop_tasks,
    tasks_of, Plan, Start,
};
use crate::model::*;
use crate::ops::service_model::computed_desired_count;
use crate::ports::ids::Ids;
use crate::status::{HasStatus, ServiceStatus, TaskSetStatus};

use crate::rules::scheduler::{self, SeenTask, Targets};
use crate::rules::task_state::{is_stopped, stop_requested};
use crate::state::{Mutation, State, StoredService};

/// One pass for a task-set service, as mutations and the work left to do.
pub(super) fn decide(
    state: &State,
    mut stored: StoredService,
    now: f64,
    emulated: bool,
    ids: &dyn Ids,
) -> (Option<Plan>, Vec<Mutation>) {
    let original = stored.clone();
    let service = &mut stored.service;
    let arn = service.service_arn.clone().unwrap_or_default();
    let owned = tasks_of(state, &arn);
    let tasks: Vec<&Task> = owned.iter().collect();
    let draining = service.status_is(ServiceStatus::Draining);
    let desired = service.desired_count.unwrap_or(0);
    let grace = f64::from(service.health_check_grace_period_seconds.unwrap_or(0));
    let live: Vec<&Task> = tasks
        .iter()
        .copied()
        .filter(|t| !is_stopped(t) && !stop_requested(t))
        .collect();
    let (mut starts, mut stop, mut seen_all) = (vec![], vec![], vec![]);
    let mut set_ids = vec![];
    for set in service.task_sets.iter_mut().flatten() {
        let id = set.id.clone().unwrap_or_default();
        let set_draining = set.status_is(TaskSetStatus::Draining);
        let computed = if draining || set_draining {
            0
        } else {
            computed_desired_count(desired, set.scale.as_ref())
        };
        if set.computed_desired_count != Some(computed) {
            set.computed_desired_count = Some(computed);
            set.updated_at = Some(now);
        }
        let seen: Vec<SeenTask> = live
            .iter()
            .filter(|t| t.started_by.as_deref() == Some(id.as_str()))
            .map(|t| seen_task(state, t, now, grace, None))
            .collect();
        let targets = Targets {
            desired: computed.max(0) as u32,
            minimum_healthy_percent: 100,
            maximum_percent: 100,
            may_start: !draining && !set_draining,
        };
        let decision = scheduler::decide(&targets, &id, &seen);
        starts.push(Start {
            started_by: id.clone(),
            task_definition: set.task_definition.clone().unwrap_or_default(),
            count: decision.start,
            launch_type: set.launch_type,
            capacity_provider_strategy: set.capacity_provider_strategy.clone(),
            platform_version: set.platform_version.clone(),
            network_configuration: set.network_configuration.clone(),
        });
        stop.extend(decision.stop);
        seen_all.extend(seen);
        set_ids.push(id);
    }
    // Tasks of no task set (one deleted, or started before) have nothing keeping them.
    stop.extend(
        live.iter()
            .filter(|t| {
                !set_ids
                    .iter()
                    .any(|id| t.started_by.as_deref() == Some(id.as_str()))
            })
            .filter_map(|t| t.task_arn.clone()),
    );
    let mut mutations = stop_tasks(state, &stop, &seen_all, now, emulated);
    note_stopped(service, &stop, now, ids);

    // Counts, per task set and for the service.
    let remaining = still_counted(&tasks, &stop, emulated);
    let count = |id: Option<&str>, running: bool| count_tasks(&remaining, id, running);
    let mut all_steady = stop.is_empty();
    for set in service.task_sets.iter_mut().flatten() {
        let id = set.id.clone();
        let (running, pending) = (count(id.as_deref(), true), count(id.as_deref(), false));
        if set.running_count != Some(running) || set.pending_count != Some(pending) {
            set.running_count = Some(running);
            set.pending_count = Some(pending);
            set.updated_at = Some(now);
        }
        let steady = running == set.computed_desired_count.unwrap_or(0) && pending == 0;
        all_steady &= steady;
        let stability = if steady {
            StabilityStatus::SteadyState
        } else {
            StabilityStatus::Stabilizing
        };
        if set.stability_status != Some(stability) {
            set.stability_status = Some(stability);
            set.stability_status_at = Some(now);
        }
    }
    service.running_count = Some(count(None, true));
    service.pending_count = Some(count(None, false));
    // A deleted task set goes once its tasks have stopped.
    let has_tasks = |id: &Option<String>| remaining.iter().any(|t| &t.started_by == id);
    service
        .task_sets
        .get_or_insert_with(Vec::new)
        .retain(|set| !set.status_is(TaskSetStatus::Draining) || has_tasks(&set.id));
    if all_steady && !draining {
        note_steady(service, now, ids);
    }
    if draining && remaining.is_empty() {
        service.set_status(ServiceStatus::Inactive);
    }
    if stored != original {
        mutations.push(Mutation::PutService(stored));
    }
    let plan = Plan {
        ctx: context_of(&arn),
        starts,
        stopped: stop,
    };
    (Some(plan), mutations)
}
