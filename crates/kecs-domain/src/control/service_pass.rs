//! What one scheduler pass is made of, for both kinds of service (rolling deployments and task
//! sets): the plan it leaves for after its write, how it sees and counts a service's tasks, and
//! how it stops them and words the service's events.

use std::collections::BTreeSet;

use crate::model::*;
use crate::ops::service_model::add_event;
use crate::ports::ids::Ids;
use crate::rules::scheduler::{SeenState, SeenTask};
use crate::rules::task_state::{self, is_starting, is_stopped};
use crate::state::{Mutation, State};
use crate::RequestContext;

pub(crate) fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or_default()
}

pub(crate) fn task_list(arns: &[String]) -> String {
    arns.iter()
        .map(|a| format!("(task {})", short_id(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a stopped task counts against its deployment's circuit breaker.
pub(crate) fn failed(task: &Task) -> bool {
    matches!(
        task.stop_code,
        Some(TaskStopCode::TaskFailedToStart | TaskStopCode::EssentialContainerExited)
    )
}

/// Tasks one pass starts for one deployment or task set.
pub(crate) struct Start {
    /// The deployment or task set ID, the tasks' `startedBy`.
    pub started_by: String,
    pub task_definition: String,
    pub count: u32,
    pub launch_type: Option<LaunchType>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
}

/// What one pass decided to do outside its write.
pub(crate) struct Plan {
    pub ctx: RequestContext,
    pub starts: Vec<Start>,
    pub stopped: Vec<String>,
}

/// The service's event for tasks its scheduler stopped.
pub(crate) fn note_stopped(service: &mut Service, stopped: &[String], now: f64, ids: &dyn Ids) {
    if stopped.is_empty() {
        return;
    }
    let name = service.service_name.clone().unwrap_or_default();
    let message = format!(
        "(service {name}) has stopped {} running tasks: {}.",
        stopped.len(),
        task_list(stopped)
    );
    add_event(service, message, now, ids);
}

/// The service's steady-state event, unless it is the newest event already.
pub(crate) fn note_steady(service: &mut Service, now: f64, ids: &dyn Ids) {
    let name = service.service_name.clone().unwrap_or_default();
    let message = format!("(service {name}) has reached a steady state.");
    let newest = service
        .events
        .iter()
        .flatten()
        .next()
        .and_then(|e| e.message.clone());
    if newest.as_deref() != Some(message.as_str()) {
        add_event(service, message, now, ids);
    }
}

/// A service's tasks, whatever their state (the stopped ones until retention forgets them:
/// the circuit breaker counts them).
pub(crate) fn tasks_of(state: &State, service_arn: &str) -> Vec<Task> {
    state
        .service_tasks
        .get(service_arn)
        .into_iter()
        .flatten()
        .filter_map(|t| state.tasks.get(t))
        .map(|t| t.task)
        .collect()
}

/// The tasks a pass still counts: every one not STOPPED (on the emulated runtime, those the pass
/// itself stopped are STOPPED already).
pub(crate) fn still_counted<'s>(
    tasks: &[&'s Task],
    stopped: &[String],
    emulated: bool,
) -> Vec<&'s Task> {
    tasks
        .iter()
        .copied()
        .filter(|t| !is_stopped(t))
        .filter(|t| !(emulated && stopped.iter().any(|s| Some(s) == t.task_arn.as_ref())))
        .collect()
}

/// How many of `tasks` started by `started_by` (by anyone when `None`) run, or else start.
pub(crate) fn count_tasks(tasks: &[&Task], started_by: Option<&str>, running: bool) -> i32 {
    tasks
        .iter()
        .filter(|t| started_by.is_none() || t.started_by.as_deref() == started_by)
        .filter(|t| is_starting(t) != running)
        .count() as i32
}

/// A live task as the scheduler sees it: starting, healthy (no essential health check, or
/// within the grace period) or as its health check says. Behind a load balancer
/// (`in_service`: the tasks its target groups send traffic to), a task is healthy once it
/// takes traffic.
pub(crate) fn seen_task(
    state: &State,
    t: &Task,
    now: f64,
    grace: f64,
    in_service: Option<&BTreeSet<String>>,
) -> SeenTask {
    let td = t
        .task_definition_arn
        .as_ref()
        .and_then(|a| state.task_definitions.get(a));
    let checked = td
        .and_then(|td| td.container_definitions.as_ref())
        .is_some_and(|defs| {
            defs.iter()
                .any(|d| d.essential != Some(false) && d.health_check.is_some())
        });
    let in_grace = t.started_at.is_some_and(|s| now - s < grace);
    let arn = t.task_arn.clone().unwrap_or_default();
    let protected = state
        .tasks
        .summary(&arn)
        .and_then(|s| s.protected_until)
        .is_some_and(|until| until > now);
    let seen = if is_starting(t) {
        SeenState::Pending
    } else if !checked || in_grace {
        SeenState::Healthy
    } else {
        match t.health_status {
            Some(HealthStatus::Healthy) => SeenState::Healthy,
            Some(HealthStatus::Unhealthy) => SeenState::Unhealthy,
            _ => SeenState::Pending,
        }
    };
    // Behind a load balancer, healthy means taking traffic (unless within the grace period).
    let seen = match seen {
        SeenState::Healthy if !in_grace && in_service.is_some_and(|s| !s.contains(&arn)) => {
            SeenState::Pending
        }
        other => other,
    };
    // A task on a DRAINING container instance belongs to no deployment: it is replaced like an
    // old deployment's, within minimumHealthyPercent and maximumPercent, as ECS drains.
    let draining = t
        .container_instance_arn
        .as_deref()
        .and_then(|i| state.container_instances.get(i))
        .is_some_and(|i| i.status.as_deref() == Some("DRAINING"));
    SeenTask {
        arn,
        deployment: match draining {
            true => DRAINING.to_string(),
            false => t.started_by.clone().unwrap_or_default(),
        },
        state: seen,
        protected,
    }
}

/// The deployment a task on a draining instance counts in: none of the service's.
const DRAINING: &str = "(draining)";

/// The scheduler's stop requests for `stop` (on the emulated runtime, the tasks stop at once).
pub(crate) fn stop_tasks(
    state: &State,
    stop: &[String],
    seen: &[SeenTask],
    now: f64,
    emulated: bool,
) -> Vec<Mutation> {
    let mut mutations = vec![];
    for arn in stop {
        let Some(stored_task) = state.tasks.get(arn) else {
            continue;
        };
        let mut t = stored_task.clone();
        let unhealthy = seen
            .iter()
            .any(|x| &x.arn == arn && x.state == SeenState::Unhealthy);
        let reason = if unhealthy {
            "Task failed container health checks".to_string()
        } else {
            format!(
                "Scaling activity initiated by (deployment {})",
                t.task.started_by.clone().unwrap_or_default()
            )
        };
        task_state::request_stop(
            &mut t.task,
            TaskStopCode::ServiceSchedulerInitiated,
            &reason,
            now,
        );
        if emulated {
            task_state::mark_stopped(&mut t.task, now);
        }
        mutations.push(Mutation::PutTask(t));
    }
    mutations
}

/// The context a service's own requests run in: its ARN's region and account.
pub(crate) fn context_of(service_arn: &str) -> RequestContext {
    let mut parts = service_arn.split(':');
    let region = parts.nth(3).unwrap_or_default();
    let account = parts.next().unwrap_or_default();
    RequestContext::new(region, account)
}
