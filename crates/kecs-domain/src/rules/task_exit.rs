//! What a container's exit does to its task: recorded only, or the whole task stops (an
//! essential container), as ECS decides it.

use crate::model::{Task, TaskDefinition};
use crate::ports::runtime::ContainerExit;
use crate::rules::task_state::{self, is_stopped, stop_requested};
use crate::status::{HasLastStatus, TaskStatus};

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
    td.and_then(|td| td.container(name))
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
    let already_recorded = container.last_is(TaskStatus::Stopped)
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
