//! Reconciling what KECS recorded with what the runtime runs: at start-up (after a restart or a
//! kill -9) and periodically, as the safety net under the runtime's event stream.

use crate::status::{HasLastStatus, TaskStatus};
use std::collections::{BTreeMap, BTreeSet};

use super::lifecycle::on_runtime_event;
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::{HealthStatus, Task};
use crate::ports::runtime::{
    ContainerExit, ContainerState, ContainerStatus, ObservedContainer, RuntimeEvent,
};
use crate::rules::task_state::{self, is_starting, is_stopped, stop_requested};
use crate::state::{Mutation, State};
use crate::EcsError;

/// One repair the reconciliation decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Repair {
    /// Feed an observation to the task's state machine (idempotent).
    Observe(RuntimeEvent),
    /// Containers of a task KECS does not know (or no longer keeps): remove them.
    RemoveOrphan(String),
    /// A task was starting when KECS went down: remove what it created and start it again.
    Relaunch(String),
    /// A task asked to stop has not finished stopping: stop it.
    Stop(String),
    /// A running container missing from the runtime's list: if the engine confirms it is gone
    /// (removed, or lost with an engine that restarted), it exited.
    ConfirmGone {
        /// The engine's ID of the container.
        runtime_id: String,
        /// The exit to record once confirmed.
        exit: ContainerExit,
    },
}

/// What to repair, given the recorded `state` and the runtime's `observed` containers. At
/// `startup` the runtime's silence also counts: a RUNNING container that is gone has exited, and
/// a launch in progress was interrupted.
pub fn reconcile(state: &State, observed: &[ObservedContainer], startup: bool) -> Vec<Repair> {
    let mut repairs = vec![];
    let mut by_task: BTreeMap<&str, Vec<&ObservedContainer>> = BTreeMap::new();
    for o in observed {
        by_task.entry(o.task_arn.as_str()).or_default().push(o);
    }
    for (arn, containers) in &by_task {
        let Some(stored) = state.tasks.get(arn) else {
            repairs.push(Repair::RemoveOrphan(arn.to_string()));
            continue;
        };
        let task = &stored.task;
        if is_stopped(task) {
            if containers
                .iter()
                .any(|c| c.state.status == ContainerStatus::Running)
            {
                // Stopped while KECS was down mid-stop: its containers must not run on.
                repairs.push(Repair::Stop(arn.to_string()));
            }
            continue;
        }
        if startup && is_starting(task) {
            continue;
        }
        for c in containers {
            if let ContainerStatus::Exited(code) = c.state.status {
                repairs.push(Repair::Observe(RuntimeEvent::Exited(ContainerExit {
                    task_arn: arn.to_string(),
                    container: c.container.clone(),
                    exit_code: code,
                    reason: None,
                })));
            }
            if let Some(h) = c.state.health {
                if recorded_health(task, &c.container) != Some(h) {
                    repairs.push(Repair::Observe(RuntimeEvent::Health {
                        task_arn: arn.to_string(),
                        container: c.container.clone(),
                        status: h,
                    }));
                }
            }
        }
    }
    for (arn, summary) in state.tasks.summaries() {
        // Stopped tasks are most of them: their summary tells, without unpacking.
        if summary.last_is(TaskStatus::Stopped) {
            continue;
        }
        let Some(stored) = state.tasks.get(arn) else {
            continue;
        };
        let task = &stored.task;
        if stop_requested(task) {
            repairs.push(Repair::Stop(arn.clone()));
        } else if startup && is_starting(task) {
            repairs.push(Repair::Relaunch(arn.clone()));
        } else if !is_starting(task) || startup {
            let seen: BTreeSet<&str> = by_task
                .get(arn.as_str())
                .into_iter()
                .flatten()
                .map(|c| c.container.as_str())
                .collect();
            for c in task.containers.iter().flatten() {
                let name = c.name.as_deref().unwrap_or_default();
                let Some(runtime_id) = c.runtime_id.as_deref() else {
                    continue;
                };
                if !c.last_is(TaskStatus::Running) || seen.contains(name) {
                    continue;
                }
                let exit = ContainerExit {
                    task_arn: arn.clone(),
                    container: name.to_string(),
                    exit_code: None,
                    reason: None,
                };
                // At start-up the list is the truth; later a container may have been created
                // after the list was taken, so the engine is asked about it first.
                repairs.push(if startup {
                    Repair::Observe(RuntimeEvent::Exited(exit))
                } else {
                    Repair::ConfirmGone {
                        runtime_id: runtime_id.to_string(),
                        exit,
                    }
                });
            }
        }
    }
    repairs
}

fn recorded_health(task: &Task, container: &str) -> Option<HealthStatus> {
    task.containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(container))
        .and_then(|c| c.health_status)
}

/// A task put back to PROVISIONING, nothing of its earlier start kept.
fn reprovisioned(task: &Task) -> Task {
    let mut t = task.clone();
    task_state::set_status(&mut t, TaskStatus::Provisioning);
    t.pull_started_at = None;
    t.pull_stopped_at = None;
    for c in t.containers.iter_mut().flatten() {
        c.set_last(TaskStatus::Pending);
        c.runtime_id = None;
        c.exit_code = None;
        c.network_bindings = Some(vec![]);
    }
    t
}

/// Reconciles with the runtime's `observed` containers and applies the repairs (see
/// [`reconcile`]). Emulated runtimes run nothing, so there is nothing to reconcile.
pub(crate) async fn reconcile_with(
    core: &Core,
    observed: &[ObservedContainer],
    startup: bool,
) -> Result<(), EcsError> {
    if core.runtime.is_emulated() {
        return Ok(());
    }
    let repairs = core.read(|state| reconcile(state, observed, startup));
    for repair in repairs {
        match repair {
            Repair::Observe(event) => on_runtime_event(core, event).await?,
            Repair::RemoveOrphan(arn) => {
                tracing::info!(task = %arn, "removing containers of a task KECS does not know");
                if let Err(e) = core.runtime.remove_task(&arn).await {
                    tracing::warn!(task = %arn, error = %e, "removing orphaned containers failed");
                }
            }
            Repair::Stop(arn) => core.enqueue(TaskWork::Stop(arn)),
            Repair::ConfirmGone { runtime_id, exit } => {
                let gone = matches!(
                    core.runtime.container_state(&runtime_id).await,
                    Ok(ContainerState {
                        status: ContainerStatus::Missing,
                        ..
                    })
                );
                if gone {
                    tracing::warn!(task = %exit.task_arn, container = %exit.container, "a running container is gone from the runtime");
                    on_runtime_event(core, RuntimeEvent::Exited(exit)).await?;
                }
            }
            Repair::Relaunch(arn) => {
                tracing::info!(task = %arn, "starting again a task interrupted while starting");
                if let Err(e) = core.runtime.remove_task(&arn).await {
                    tracing::warn!(task = %arn, error = %e, "removing a half-started task failed");
                    continue;
                }
                let relaunch = core
                    .write(|state| {
                        let Some(stored) = state.tasks.get(&arn) else {
                            return Ok((false, vec![]));
                        };
                        let mut stored = stored.clone();
                        stored.task = reprovisioned(&stored.task);
                        Ok((true, vec![Mutation::PutTask(stored)]))
                    })
                    .await?;
                if relaunch {
                    core.enqueue(TaskWork::Launch(arn));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Container;
    use crate::ports::runtime::ContainerState;
    use crate::state::StoredTask;

    fn task(arn: &str, last: &str, desired: &str) -> StoredTask {
        StoredTask {
            task: Task {
                task_arn: Some(arn.into()),
                last_status: Some(last.into()),
                desired_status: Some(desired.into()),
                containers: Some(vec![Container {
                    name: Some("app".into()),
                    runtime_id: Some(format!("{arn}-app")),
                    last_status: Some(
                        if last == "STOPPED" {
                            "STOPPED"
                        } else {
                            "RUNNING"
                        }
                        .into(),
                    ),
                    ..Container::default()
                }]),
                ..Task::default()
            },
            client_token: None,
            protected_until: None,
        }
    }

    fn observed(arn: &str, status: ContainerStatus) -> ObservedContainer {
        ObservedContainer {
            task_arn: arn.into(),
            container: "app".into(),
            runtime_id: format!("{arn}-app"),
            state: ContainerState {
                status,
                health: None,
            },
        }
    }

    fn state(tasks: Vec<StoredTask>) -> State {
        let mut s = State::default();
        for t in tasks {
            s.apply(Mutation::PutTask(t)).unwrap();
        }
        s
    }

    #[test]
    fn startup_adopts_running_relaunches_starting_and_removes_orphans() {
        let s = state(vec![
            task("running", "RUNNING", "RUNNING"),
            task("gone", "RUNNING", "RUNNING"),
            task("starting", "PENDING", "RUNNING"),
            task("stopping", "STOPPING", "STOPPED"),
        ]);
        let seen = [
            observed("running", ContainerStatus::Running),
            observed("starting", ContainerStatus::Created),
            observed("stopping", ContainerStatus::Running),
            observed("unknown", ContainerStatus::Running),
        ];
        let repairs = reconcile(&s, &seen, true);
        assert_eq!(
            repairs,
            vec![
                Repair::RemoveOrphan("unknown".into()),
                Repair::Observe(RuntimeEvent::Exited(ContainerExit {
                    task_arn: "gone".into(),
                    container: "app".into(),
                    exit_code: None,
                    reason: None,
                })),
                Repair::Relaunch("starting".into()),
                Repair::Stop("stopping".into()),
            ]
        );
    }

    #[test]
    fn the_periodic_resync_reports_what_it_sees_and_asks_about_what_it_misses() {
        let s = state(vec![
            task("gone", "RUNNING", "RUNNING"),
            task("starting", "PENDING", "RUNNING"),
            task("exited", "RUNNING", "RUNNING"),
            task("done", "STOPPED", "STOPPED"),
        ]);
        let seen = [
            observed("exited", ContainerStatus::Exited(Some(3))),
            observed("done", ContainerStatus::Exited(Some(0))),
        ];
        // The starting task's launch watches its own containers; the stopped one is done.
        assert_eq!(
            reconcile(&s, &seen, false),
            vec![
                Repair::Observe(RuntimeEvent::Exited(ContainerExit {
                    task_arn: "exited".into(),
                    container: "app".into(),
                    exit_code: Some(3),
                    reason: None,
                })),
                Repair::ConfirmGone {
                    runtime_id: "gone-app".into(),
                    exit: ContainerExit {
                        task_arn: "gone".into(),
                        container: "app".into(),
                        exit_code: None,
                        reason: None,
                    },
                },
            ]
        );
    }
}
