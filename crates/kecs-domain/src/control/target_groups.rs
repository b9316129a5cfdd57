//! The local load balancers of services (`loadBalancers`): after a service's tasks change, each
//! of its target groups is routed to its targets (`rules::targets`) through the traffic port,
//! and the service's events say what was registered and deregistered, as ECS words them.
//!
//! A task asked to stop while it is a target drains first ([`drain`]): it goes DEACTIVATING,
//! leaves its target groups, keeps running for the deregistration delay (requests under way
//! finish), and only then stops.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use super::lifecycle::update_task;
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::{LoadBalancer, Task, TaskDefinition};
use crate::ops::service_model::add_event;
use crate::ports::traffic::{Routed, Target, TargetGroupRoute};
use crate::rules::targets::targets;
use crate::rules::task_state::stop_requested;
use crate::state::{service_of, Mutation};
use crate::status::{HasLastStatus, HasStatus, ServiceStatus, TaskStatus};

/// How soon a route with targets that do not answer yet is tried again.
const RETRY: Duration = Duration::from_millis(250);

/// The IDs of the targets' tasks, comma-separated, for an event.
fn task_ids(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| t.task_arn.rsplit('/').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Routes each target group of the service `service_arn` to its targets now; closes their
/// listeners once the service is INACTIVE.
pub(crate) async fn route(core: &Core, service_arn: &str) {
    let found = core.read(|state| {
        let service = state.services.get(service_arn)?.service;
        let lbs = service.load_balancers.clone().filter(|l| !l.is_empty())?;
        if service.status_is(ServiceStatus::Inactive) {
            return Some(Err(lbs));
        }
        let tasks = super::service_pass::tasks_of(state, service_arn);
        let definitions: HashMap<String, TaskDefinition> = tasks
            .iter()
            .filter_map(|t| t.task_definition_arn.clone())
            .filter_map(|arn| Some((arn.clone(), state.task_definition(&arn)?.clone())))
            .collect();
        Some(Ok((
            service.service_name.unwrap_or_default(),
            lbs,
            tasks,
            definitions,
        )))
    });
    let (name, lbs, tasks, definitions) = match found {
        None => return,
        Some(Err(retired)) => return close(core, service_arn, &retired).await,
        Some(Ok(found)) => found,
    };
    let definition = |t: &Task| definitions.get(t.task_definition_arn.as_deref()?);
    let traffic = core.traffic();
    let mut messages = vec![];
    // The tasks every target group sends traffic to; none routed: nothing listens.
    let mut in_service: Option<BTreeSet<String>> = None;
    let mut waiting = 0;
    for lb in &lbs {
        let Some(group) = lb.target_group_arn.clone() else {
            continue;
        };
        let route = TargetGroupRoute {
            target_group_arn: group.clone(),
            targets: targets(lb, &tasks, definition),
        };
        match traffic.router.route(&route).await {
            Ok(routed) => {
                messages.extend(messages_of(&name, &group, &routed));
                waiting += routed.waiting;
                if routed.listener.is_some() {
                    let taking: BTreeSet<String> =
                        routed.targets.iter().map(|t| t.task_arn.clone()).collect();
                    in_service = Some(match in_service {
                        Some(before) => before.intersection(&taking).cloned().collect(),
                        None => taking,
                    });
                }
            }
            Err(e) => {
                tracing::warn!(service = service_arn, error = %e, "routing a target group failed");
                messages.push(format!(
                    "(service {name}) was unable to route (target-group {group}): {e}."
                ));
            }
        }
    }
    note(core, service_arn, messages).await;
    // The scheduler counts a task behind a load balancer healthy once it takes traffic.
    if let Some(tasks) = in_service {
        if core.set_in_service(service_arn, tasks) {
            core.enqueue(TaskWork::Schedule(service_arn.to_string()));
        }
    }
    if waiting > 0 {
        // Targets that do not answer yet are looked at again shortly.
        core.sleep(RETRY).await;
        core.enqueue(TaskWork::Route(service_arn.to_string()));
    }
}

/// Closes the listeners of a deleted service's target groups.
async fn close(core: &Core, service_arn: &str, lbs: &[LoadBalancer]) {
    let router = core.traffic().router;
    for group in lbs.iter().filter_map(|lb| lb.target_group_arn.as_deref()) {
        router.close(group).await;
    }
    core.forget_in_service(service_arn);
}

/// The service events a route's changes make.
fn messages_of(name: &str, group: &str, routed: &Routed) -> Vec<String> {
    let mut messages = vec![];
    if !routed.registered.is_empty() {
        messages.push(format!(
            "(service {name}) registered {} targets in (target-group {group})",
            routed.registered.len()
        ));
        if let Some(listener) = &routed.listener {
            messages.push(format!(
                "(service {name}) (target-group {group}) is served locally at {listener}: tasks {}.",
                task_ids(&routed.registered)
            ));
        }
    }
    if !routed.deregistered.is_empty() {
        messages.push(format!(
            "(service {name}) deregistered {} targets in (target-group {group})",
            routed.deregistered.len()
        ));
    }
    messages
}

/// Adds `messages` to the service's events, oldest first.
async fn note(core: &Core, service_arn: &str, messages: Vec<String>) {
    if messages.is_empty() {
        return;
    }
    let now = core.now();
    let written = core
        .write(|state| {
            let Some(mut stored) = state.services.get(service_arn) else {
                return Ok(((), vec![]));
            };
            for message in messages {
                add_event(&mut stored.service, message, now, core.ids());
            }
            Ok(((), vec![Mutation::PutService(stored)]))
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(service = service_arn, error = %e, "recording a service's target events failed");
    }
}

/// Whether `task` is a target of a listener: RUNNING, of a service whose target groups a
/// listener routes (its tasks in service are known; the task itself may have left them
/// already, as a pass may have run since it was asked to stop).
fn is_target(core: &Core, task: &Task) -> bool {
    task.last_is(TaskStatus::Running)
        && service_of(task).is_some_and(|service| core.in_service(&service).is_some())
}

/// Drains the task `arn` (asked to stop) when it is a target: DEACTIVATING, out of its target
/// groups, then the deregistration delay before its containers are stopped.
pub(crate) async fn drain(core: &Core, arn: &str) {
    let asked = core.read(|s| s.tasks.get(arn).map(|t| t.task.clone()));
    let Some(task) = asked.filter(stop_requested) else {
        return;
    };
    if !is_target(core, &task) {
        return;
    }
    let deactivating = update_task(core, arn, |t| {
        if !t.last_is(TaskStatus::Running) {
            return false;
        }
        crate::rules::task_state::set_status(t, TaskStatus::Deactivating);
        true
    })
    .await;
    let Some(task) = deactivating else { return };
    if let Some(service_arn) = service_of(&task) {
        let name = service_arn.rsplit('/').next().unwrap_or_default();
        let message = format!("(service {name}) has begun draining connections on 1 tasks.");
        note(core, &service_arn, vec![message]).await;
        // Routed at once rather than queued: the delay counts from the deregistration.
        route(core, &service_arn).await;
    }
    let delay: Duration = core.traffic().deregistration_delay;
    core.sleep(delay).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_say_what_a_route_changed_as_ecs_words_it() {
        let target = |id: &str| Target {
            task_arn: format!("arn:aws:ecs:us-east-1:0:task/c/{id}"),
            address: "127.0.0.1:1".into(),
        };
        let routed = Routed {
            listener: Some("127.0.0.1:40000".into()),
            targets: vec![target("a"), target("b")],
            waiting: 0,
            registered: vec![target("a"), target("b")],
            deregistered: vec![target("c")],
        };
        assert_eq!(
            messages_of("web", "tg", &routed),
            [
                "(service web) registered 2 targets in (target-group tg)",
                "(service web) (target-group tg) is served locally at 127.0.0.1:40000: tasks a, b.",
                "(service web) deregistered 1 targets in (target-group tg)",
            ]
        );
        assert!(messages_of("web", "tg", &Routed::default()).is_empty());
    }
}
