//! What the runtime reports does to a task: exits (the pure decision, and applying it), health
//! verdicts, and finishing a stop.

use super::task_state::{self, is_stopped, stop_requested, STOPPED};
use super::work::TaskWork;
use super::Kecs;
use crate::model::{HealthStatus, Task, TaskDefinition, TaskStopCode};
use crate::runtime::{ContainerExit, ContainerStatus, RuntimeEvent};
use crate::state::Mutation;
use crate::EcsError;

/// The reason ECS gives when an essential container exits.
pub const ESSENTIAL_EXITED: &str = "Essential container in task exited";

/// What an exit means for its task.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitDecision {
    /// Nothing to change (unknown container, or the task is already stopped).
    Ignore,
    /// Record the container's exit; the task goes on (non-essential, or already stopping).
    Record(Box<Task>),
    /// An essential container exited while the task should run: stop the whole task.
    StopTask(Box<Task>),
}

/// Whether the container `name` of `td` is essential (containers are, unless they say not).
pub fn is_essential(td: Option<&TaskDefinition>, name: &str) -> bool {
    td.and_then(|td| td.container_definitions.as_ref())
        .and_then(|defs| defs.iter().find(|d| d.name.as_deref() == Some(name)))
        .is_none_or(|d| d.essential != Some(false))
}

/// Decides what `exit` does to `task`, whose definition is `td`.
pub fn decide_exit(task: &Task, td: Option<&TaskDefinition>, exit: &ContainerExit) -> ExitDecision {
    if is_stopped(task) {
        return ExitDecision::Ignore;
    }
    let Some(container) = task
        .containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(exit.container.as_str()))
    else {
        return ExitDecision::Ignore;
    };
    let already_recorded = container.last_status.as_deref() == Some(STOPPED)
        && (exit.exit_code.is_none() || container.exit_code == exit.exit_code);
    if already_recorded {
        // The periodic resync reports exits the event stream already delivered.
        return ExitDecision::Ignore;
    }
    let mut updated = task.clone();
    task_state::record_exit(
        &mut updated,
        &exit.container,
        exit.exit_code,
        exit.reason.as_deref(),
    );
    if is_essential(td, &exit.container) && !stop_requested(task) {
        ExitDecision::StopTask(Box::new(updated))
    } else {
        ExitDecision::Record(Box::new(updated))
    }
}

impl Kecs {
    /// Applies what the runtime observed about a container.
    pub async fn on_runtime_event(&self, event: RuntimeEvent) -> Result<(), EcsError> {
        match event {
            RuntimeEvent::Exited(exit) => self.on_container_exit(exit).await,
            RuntimeEvent::Health {
                task_arn,
                container,
                status,
            } => self.on_health(&task_arn, &container, status).await,
        }
    }

    /// Applies a container exit: records the exit code and, when an essential container exited,
    /// stops the task (its other containers first).
    pub async fn on_container_exit(&self, exit: ContainerExit) -> Result<(), EcsError> {
        let now = self.now();
        let stop = self
            .write(|state| {
                let Some(stored) = state.tasks.get(&exit.task_arn) else {
                    return Ok((false, vec![]));
                };
                let td = stored
                    .task
                    .task_definition_arn
                    .as_ref()
                    .and_then(|arn| state.task_definitions.get(arn));
                let mut stored = stored.clone();
                match decide_exit(&stored.task, td, &exit) {
                    ExitDecision::Ignore => Ok((false, vec![])),
                    ExitDecision::Record(task) => {
                        stored.task = *task;
                        Ok((false, vec![Mutation::PutTask(stored)]))
                    }
                    ExitDecision::StopTask(task) => {
                        stored.task = *task;
                        task_state::request_stop(
                            &mut stored.task,
                            TaskStopCode::EssentialContainerExited,
                            ESSENTIAL_EXITED,
                            now,
                        );
                        Ok((true, vec![Mutation::PutTask(stored)]))
                    }
                }
            })
            .await?;
        if stop {
            self.enqueue(TaskWork::Stop(exit.task_arn));
        }
        Ok(())
    }

    /// Records a container's health verdict and the task's health derived from it.
    pub async fn on_health(
        &self,
        task_arn: &str,
        container: &str,
        status: HealthStatus,
    ) -> Result<(), EcsError> {
        self.write(|state| {
            let Some(stored) = state.tasks.get(task_arn) else {
                return Ok(((), vec![]));
            };
            if is_stopped(&stored.task) {
                return Ok(((), vec![]));
            }
            let td = stored
                .task
                .task_definition_arn
                .as_ref()
                .and_then(|arn| state.task_definitions.get(arn));
            let mut stored = stored.clone();
            if !task_state::record_health(&mut stored.task, container, status, |name| {
                is_essential(td, name)
            }) {
                return Ok(((), vec![]));
            }
            Ok(((), vec![Mutation::PutTask(stored)]))
        })
        .await
    }

    /// Stops the containers of a task asked to stop and records it STOPPED, with its
    /// containers' exit codes. When the engine fails, the task stays STOPPING and the resync
    /// tries again.
    pub(super) async fn finish_stop(&self, task_arn: &str) {
        let Some(task) = self
            .update_task(task_arn, |t| {
                if is_stopped(t) || !stop_requested(t) {
                    return false;
                }
                if t.last_status.as_deref() != Some(task_state::STOPPING) {
                    task_state::set_status(t, task_state::STOPPING);
                }
                true
            })
            .await
        else {
            return;
        };
        // A launch still starting containers would start them after this stop looked: let it
        // notice the stop (it checks before every start) and end first.
        let launch = TaskWork::Launch(task_arn.to_string());
        while self.work.is_busy(&launch) {
            self.runtime
                .pause(std::time::Duration::from_millis(20))
                .await;
        }
        if let Err(e) = self.runtime.stop_task(&task).await {
            tracing::warn!(task = task_arn, error = %e, "stopping a task's containers failed; the resync retries");
            return;
        }
        let mut exits = vec![];
        for c in task.containers.iter().flatten() {
            let (Some(name), Some(id)) = (&c.name, &c.runtime_id) else {
                continue;
            };
            if let Ok(state) = self.runtime.container_state(id).await {
                if let ContainerStatus::Exited(code) = state.status {
                    exits.push((name.clone(), code));
                }
            }
        }
        if task_state::eni(&task).is_some() {
            self.update_task(task_arn, |t| {
                task_state::set_status(t, task_state::DEPROVISIONING);
                true
            })
            .await;
        }
        let now = self.now();
        self.update_task(task_arn, |t| {
            if is_stopped(t) {
                return false;
            }
            for (name, code) in &exits {
                task_state::record_exit(t, name, *code, None);
            }
            task_state::mark_stopped(t, now);
            true
        })
        .await;
    }

    /// Applies `change` to the stored task `task_arn` and commits it when it reports a change.
    /// Returns the task as it is afterwards, or `None` when it is gone, unchanged, or the commit
    /// failed (logged).
    pub(super) async fn update_task(
        &self,
        task_arn: &str,
        change: impl FnOnce(&mut Task) -> bool,
    ) -> Option<Task> {
        let result = self
            .write(|state| {
                let Some(stored) = state.tasks.get(task_arn) else {
                    return Ok((None, vec![]));
                };
                let mut stored = stored.clone();
                if !change(&mut stored.task) {
                    return Ok((None, vec![]));
                }
                Ok((Some(stored.task.clone()), vec![Mutation::PutTask(stored)]))
            })
            .await;
        match result {
            Ok(task) => task,
            Err(e) => {
                tracing::error!(task = task_arn, error = %e, "recording a task change failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Container, ContainerDefinition};

    fn task(desired: &str) -> Task {
        Task {
            last_status: Some("RUNNING".into()),
            desired_status: Some(desired.into()),
            containers: Some(vec![
                Container {
                    name: Some("app".into()),
                    last_status: Some("RUNNING".into()),
                    ..Default::default()
                },
                Container {
                    name: Some("side".into()),
                    last_status: Some("RUNNING".into()),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }
    }

    fn td() -> TaskDefinition {
        TaskDefinition {
            container_definitions: Some(vec![
                ContainerDefinition {
                    name: Some("app".into()),
                    essential: Some(true),
                    ..Default::default()
                },
                ContainerDefinition {
                    name: Some("side".into()),
                    essential: Some(false),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }
    }

    fn exit(container: &str, code: i32) -> ContainerExit {
        ContainerExit {
            task_arn: "t".into(),
            container: container.into(),
            exit_code: Some(code),
            reason: None,
        }
    }

    #[test]
    fn essential_exit_stops_a_running_task() {
        let ExitDecision::StopTask(t) = decide_exit(&task("RUNNING"), Some(&td()), &exit("app", 3))
        else {
            panic!("expected StopTask")
        };
        let app = &t.containers.as_ref().unwrap()[0];
        assert_eq!(
            (app.exit_code, app.last_status.as_deref()),
            (Some(3), Some("STOPPED"))
        );
    }

    #[test]
    fn non_essential_exit_is_only_recorded() {
        let ExitDecision::Record(t) = decide_exit(&task("RUNNING"), Some(&td()), &exit("side", 0))
        else {
            panic!("expected Record")
        };
        assert_eq!(t.containers.as_ref().unwrap()[1].exit_code, Some(0));
        assert_eq!(t.last_status.as_deref(), Some("RUNNING"));
    }

    #[test]
    fn exits_while_stopping_or_stopped_do_not_restart_the_decision() {
        assert!(matches!(
            decide_exit(&task("STOPPED"), Some(&td()), &exit("app", 137)),
            ExitDecision::Record(_)
        ));
        let mut stopped = task("STOPPED");
        stopped.last_status = Some("STOPPED".into());
        assert_eq!(
            decide_exit(&stopped, Some(&td()), &exit("app", 0)),
            ExitDecision::Ignore
        );
        assert_eq!(
            decide_exit(&task("RUNNING"), Some(&td()), &exit("ghost", 0)),
            ExitDecision::Ignore
        );
        let ExitDecision::Record(recorded) =
            decide_exit(&task("RUNNING"), Some(&td()), &exit("side", 1))
        else {
            panic!("expected Record")
        };
        assert_eq!(
            decide_exit(&recorded, Some(&td()), &exit("side", 1)),
            ExitDecision::Ignore,
            "a repeated exit changes nothing"
        );
    }
}
