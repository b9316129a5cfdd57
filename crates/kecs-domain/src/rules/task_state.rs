//! A task's lifecycle as ECS reports it, as pure changes to a [`Task`]:
//! PROVISIONING -> PENDING -> (ACTIVATING) -> RUNNING -> (DEACTIVATING) -> STOPPING ->
//! (DEPROVISIONING) -> STOPPED. The bracketed states are those of awsvpc tasks (their network
//! interface is attached and detached).

use crate::model::{
    Attachment, Container, HealthStatus, KeyValuePair, NetworkInterface, Task, TaskStopCode,
};
use crate::ports::runtime::StartedContainer;
use crate::status::{HasDesiredStatus, HasLastStatus, TaskStatus};

/// Whether `task` is still on its way to RUNNING.
pub fn is_starting(task: &Task) -> bool {
    matches!(
        task.last(),
        Some(TaskStatus::Provisioning | TaskStatus::Pending | TaskStatus::Activating)
    )
}

/// Whether `task` should stop (or has).
pub fn stop_requested(task: &Task) -> bool {
    task.desired() == Some(TaskStatus::Stopped)
}

/// Whether `task` has ended.
pub fn is_stopped(task: &Task) -> bool {
    task.last_is(TaskStatus::Stopped)
}

fn bump(task: &mut Task) {
    task.version = Some(task.version.unwrap_or(0) + 1);
}

/// Moves `task` to `status`.
pub fn set_status(task: &mut Task, status: TaskStatus) {
    task.set_last(status);
    bump(task);
}

fn container_mut<'t>(task: &'t mut Task, name: &str) -> Option<&'t mut Container> {
    task.containers
        .iter_mut()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))
}

/// Records the engine's IDs of containers just created.
pub fn record_created(task: &mut Task, created: &[StartedContainer]) {
    for s in created {
        if let Some(c) = container_mut(task, &s.name) {
            c.runtime_id = s.runtime_id.clone();
            c.image_digest = s.image_digest.clone();
        }
    }
    bump(task);
}

/// Records containers that started: RUNNING (unless an exit was recorded meanwhile), with their
/// engine IDs and published ports.
pub fn record_started(task: &mut Task, started: &[StartedContainer]) {
    for s in started {
        let Some(c) = container_mut(task, &s.name) else {
            continue;
        };
        c.runtime_id = s.runtime_id.clone();
        c.network_bindings = Some(s.network_bindings.clone());
        if c.last_is(TaskStatus::Pending) {
            c.set_last(TaskStatus::Running);
        }
    }
    bump(task);
}

/// Every container started: the task is RUNNING.
pub fn mark_running(task: &mut Task, now: f64) {
    task.set_last(TaskStatus::Running);
    task.connectivity = Some(crate::model::Connectivity::Connected);
    task.connectivity_at = Some(now);
    task.pull_started_at.get_or_insert(now);
    task.pull_stopped_at.get_or_insert(now);
    task.started_at = Some(now);
    start_exec_agents(task, now);
    bump(task);
}

/// The agent ECS Exec needs, RUNNING in each container of a task run with
/// `enableExecuteCommand`.
fn start_exec_agents(task: &mut Task, now: f64) {
    if task.enable_execute_command != Some(true) {
        return;
    }
    for c in task.containers.iter_mut().flatten() {
        c.managed_agents = Some(vec![crate::model::ManagedAgent {
            name: Some(crate::model::ManagedAgentName::ExecuteCommandAgent),
            last_status: Some("RUNNING".into()),
            last_started_at: Some(now),
            reason: None,
        }]);
    }
}

/// The task's network interface (awsvpc tasks have one).
pub fn eni(task: &Task) -> Option<&Attachment> {
    task.attachments
        .iter()
        .flatten()
        .find(|a| a.r#type.as_deref() == Some("ElasticNetworkInterface"))
}

/// Marks the network interface `status`, recording the task's private address when known.
pub fn set_eni(task: &mut Task, status: &str, private_ip: Option<&str>) {
    let Some(eni) = task
        .attachments
        .iter_mut()
        .flatten()
        .find(|a| a.r#type.as_deref() == Some("ElasticNetworkInterface"))
    else {
        return;
    };
    eni.status = Some(status.into());
    let attachment_id = eni.id.clone();
    if let Some(ip) = private_ip {
        let details = eni.details.get_or_insert_with(Vec::new);
        details.retain(|d| d.name.as_deref() != Some("privateIPv4Address"));
        details.push(KeyValuePair {
            name: Some("privateIPv4Address".into()),
            value: Some(ip.into()),
        });
        // Every container of the task shares the interface.
        for c in task.containers.iter_mut().flatten() {
            c.network_interfaces = Some(vec![NetworkInterface {
                attachment_id: attachment_id.clone(),
                private_ipv4_address: Some(ip.into()),
                ipv6_address: None,
            }]);
        }
    }
    bump(task);
}

/// Asks `task` to stop for `code`/`reason` (the first reason given is the one ECS keeps).
pub fn request_stop(task: &mut Task, code: TaskStopCode, reason: &str, now: f64) {
    if stop_requested(task) {
        return;
    }
    task.set_desired(TaskStatus::Stopped);
    task.stopping_at.get_or_insert(now);
    task.stop_code.get_or_insert(code);
    task.stopped_reason.get_or_insert_with(|| reason.into());
    bump(task);
}

/// Records the exit code of a container that ended.
pub fn record_exit(task: &mut Task, name: &str, exit_code: Option<i32>, reason: Option<&str>) {
    if let Some(c) = container_mut(task, name) {
        c.set_last(TaskStatus::Stopped);
        if exit_code.is_some() {
            c.exit_code = exit_code;
        }
        if let Some(reason) = reason {
            c.reason = Some(reason.to_string());
        }
    }
    bump(task);
}

/// The task has ended: every container STOPPED, stop timestamps set.
pub fn mark_stopped(task: &mut Task, now: f64) {
    task.set_desired(TaskStatus::Stopped);
    task.set_last(TaskStatus::Stopped);
    task.stopping_at.get_or_insert(now);
    task.execution_stopped_at = Some(now);
    task.stopped_at = Some(now);
    task.stop_code.get_or_insert(TaskStopCode::UserInitiated);
    task.stopped_reason
        .get_or_insert_with(|| "Task stopped by user".into());
    task.connectivity = Some(crate::model::Connectivity::Disconnected);
    for c in task.containers.iter_mut().flatten() {
        c.set_last(TaskStatus::Stopped);
    }
    if eni(task).is_some() {
        set_eni(task, "DELETED", None);
    }
    bump(task);
}

/// Records a container's health verdict and derives the task's: UNHEALTHY when an essential
/// container is, HEALTHY when every essential container with a health check is, else UNKNOWN.
/// Returns whether anything changed.
pub fn record_health(
    task: &mut Task,
    name: &str,
    status: HealthStatus,
    essential: impl Fn(&str) -> bool,
) -> bool {
    let Some(c) = container_mut(task, name) else {
        return false;
    };
    if c.health_status == Some(status) {
        return false;
    }
    c.health_status = Some(status);
    let verdicts: Vec<HealthStatus> = task
        .containers
        .iter()
        .flatten()
        .filter(|c| essential(c.name.as_deref().unwrap_or_default()))
        .filter_map(|c| c.health_status)
        .filter(|h| *h != HealthStatus::Unknown)
        .collect();
    task.health_status = Some(if verdicts.contains(&HealthStatus::Unhealthy) {
        HealthStatus::Unhealthy
    } else if !verdicts.is_empty() && verdicts.iter().all(|h| *h == HealthStatus::Healthy) {
        HealthStatus::Healthy
    } else {
        HealthStatus::Unknown
    });
    bump(task);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Task {
        let c = |n: &str| Container {
            name: Some(n.into()),
            last_status: Some(TaskStatus::Pending.into()),
            health_status: Some(HealthStatus::Unknown),
            ..Container::default()
        };
        Task {
            last_status: Some(TaskStatus::Pending.into()),
            desired_status: Some(TaskStatus::Running.into()),
            containers: Some(vec![c("app"), c("db"), c("side")]),
            ..Task::default()
        }
    }

    #[test]
    fn task_health_follows_essential_containers() {
        let essential = |n: &str| n != "side";
        let mut t = task();
        assert!(record_health(
            &mut t,
            "side",
            HealthStatus::Unhealthy,
            essential
        ));
        assert_eq!(
            t.health_status,
            Some(HealthStatus::Unknown),
            "non-essential"
        );
        record_health(&mut t, "app", HealthStatus::Healthy, essential);
        assert_eq!(
            t.health_status,
            Some(HealthStatus::Healthy),
            "db has no check"
        );
        record_health(&mut t, "db", HealthStatus::Unhealthy, essential);
        assert_eq!(t.health_status, Some(HealthStatus::Unhealthy));
        assert!(!record_health(
            &mut t,
            "db",
            HealthStatus::Unhealthy,
            essential
        ));
    }

    #[test]
    fn the_first_stop_reason_is_kept() {
        let mut t = task();
        request_stop(&mut t, TaskStopCode::EssentialContainerExited, "first", 1.0);
        request_stop(&mut t, TaskStopCode::UserInitiated, "second", 2.0);
        mark_stopped(&mut t, 3.0);
        assert_eq!(t.stop_code, Some(TaskStopCode::EssentialContainerExited));
        assert_eq!(t.stopped_reason.as_deref(), Some("first"));
        assert_eq!((t.stopping_at, t.stopped_at), (Some(1.0), Some(3.0)));
        assert!(t
            .containers
            .iter()
            .flatten()
            .all(|c| c.last_status.as_deref() == Some("STOPPED")));
    }

    #[test]
    fn a_started_container_keeps_an_exit_recorded_meanwhile() {
        let mut t = task();
        record_exit(&mut t, "db", Some(0), None);
        let started = |n: &str| StartedContainer {
            name: n.into(),
            runtime_id: Some(format!("id-{n}")),
            ..StartedContainer::default()
        };
        record_started(&mut t, &[started("app"), started("db")]);
        let status: Vec<_> = t
            .containers
            .iter()
            .flatten()
            .map(|c| c.last_status.clone().unwrap())
            .collect();
        assert_eq!(status, ["RUNNING", "STOPPED", "PENDING"]);
    }
}
