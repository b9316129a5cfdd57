//! What happens to a task when one of its containers exits: the pure decision, and applying it.

use super::tasks::{mark_stopped, STOPPED};
use super::Kecs;
use crate::model::{Task, TaskDefinition, TaskStopCode};
use crate::runtime::ContainerExit;
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

/// Decides what `exit` does to `task`, whose definition is `td`.
pub fn decide_exit(task: &Task, td: Option<&TaskDefinition>, exit: &ContainerExit) -> ExitDecision {
    if task.last_status.as_deref() == Some(STOPPED) {
        return ExitDecision::Ignore;
    }
    let mut updated = task.clone();
    let Some(container) = updated
        .containers
        .iter_mut()
        .flatten()
        .find(|c| c.name.as_deref() == Some(exit.container.as_str()))
    else {
        return ExitDecision::Ignore;
    };
    let already_recorded =
        container.last_status.as_deref() == Some(STOPPED) && container.exit_code == exit.exit_code;
    container.last_status = Some(STOPPED.into());
    container.exit_code = exit.exit_code;
    updated.version = Some(updated.version.unwrap_or(0) + 1);
    let essential = td
        .and_then(|td| td.container_definitions.as_ref())
        .and_then(|defs| {
            defs.iter()
                .find(|d| d.name.as_deref() == Some(exit.container.as_str()))
        })
        .is_none_or(|d| d.essential != Some(false));
    if essential && task.desired_status.as_deref() != Some(STOPPED) {
        ExitDecision::StopTask(Box::new(updated))
    } else if already_recorded {
        // The periodic resync reports exits the event stream already delivered.
        ExitDecision::Ignore
    } else {
        ExitDecision::Record(Box::new(updated))
    }
}

impl Kecs {
    /// Applies a container exit reported by the runtime: records the exit code and, when an
    /// essential container exited, stops the task's other containers and the task itself.
    pub async fn on_container_exit(&self, exit: ContainerExit) -> Result<(), EcsError> {
        let stop = self
            .write(|state| {
                let Some(stored) = state.tasks.get(&exit.task_arn) else {
                    return Ok((None, vec![]));
                };
                let td = stored
                    .task
                    .task_definition_arn
                    .as_ref()
                    .and_then(|arn| state.task_definitions.get(arn));
                let mut stored = stored.clone();
                match decide_exit(&stored.task, td, &exit) {
                    ExitDecision::Ignore => Ok((None, vec![])),
                    ExitDecision::Record(task) => {
                        stored.task = *task;
                        Ok((None, vec![Mutation::PutTask(stored)]))
                    }
                    ExitDecision::StopTask(task) => {
                        stored.task = *task;
                        stored.task.desired_status = Some(STOPPED.into());
                        Ok((Some(stored.task.clone()), vec![Mutation::PutTask(stored)]))
                    }
                }
            })
            .await?;
        let Some(task) = stop else { return Ok(()) };
        // A failed stop leaves containers for the next stop to find (they are labelled); the task
        // itself has ended either way.
        let _ = self.runtime.stop_task(&task).await;
        let now = self.now();
        self.write(|state| {
            let Some(stored) = state.tasks.get(&exit.task_arn) else {
                return Ok(((), vec![]));
            };
            let mut stored = stored.clone();
            if stored.task.last_status.as_deref() == Some(STOPPED) {
                return Ok(((), vec![]));
            }
            mark_stopped(
                &mut stored.task,
                TaskStopCode::EssentialContainerExited,
                ESSENTIAL_EXITED.into(),
                now,
            );
            Ok(((), vec![Mutation::PutTask(stored)]))
        })
        .await
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
