//! What the runtime reports does to a task: exits (decided by `rules::task_exit`), health
//! verdicts, and finishing a stop.

use crate::core::work::{TaskJob, TaskWork};
use crate::core::Core;
use crate::model::{HealthStatus, Task, TaskStopCode};
use crate::ports::runtime::{ContainerExit, ContainerStatus, RuntimeEvent};
use crate::rules::task_exit::{decide_exit, is_essential, ExitDecision, ESSENTIAL_EXITED};
use crate::rules::task_state::{self, is_stopped, stop_requested};
use crate::state::Mutation;
use crate::status::{HasLastStatus, TaskStatus};
use crate::EcsError;

/// Applies what the runtime observed about a container.
pub(crate) async fn on_runtime_event(core: &Core, event: RuntimeEvent) -> Result<(), EcsError> {
    match event {
        RuntimeEvent::Exited(exit) => on_container_exit(core, exit).await,
        RuntimeEvent::Health {
            task_arn,
            container,
            status,
        } => on_health(core, &task_arn, &container, status).await,
    }
}

/// Applies a container exit: records the exit code and, when an essential container exited,
/// stops the task (its other containers first).
pub(crate) async fn on_container_exit(core: &Core, exit: ContainerExit) -> Result<(), EcsError> {
    let now = core.now();
    let stop = core
        .write(|state| {
            let Some(stored) = state.tasks.get(&exit.task_arn) else {
                return Ok((false, vec![]));
            };
            let td = stored
                .task
                .task_definition_arn
                .as_ref()
                .and_then(|arn| state.task_definition(arn));
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
        core.enqueue(TaskWork::Stop(exit.task_arn));
    }
    Ok(())
}

/// Records a container's health verdict and the task's health derived from it.
pub(crate) async fn on_health(
    core: &Core,
    task_arn: &str,
    container: &str,
    status: HealthStatus,
) -> Result<(), EcsError> {
    core.write(|state| {
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
            .and_then(|arn| state.task_definition(arn));
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
pub(crate) async fn finish_stop(core: &Core, task_arn: &str) {
    let Some(task) = update_task(core, task_arn, |t| {
        if is_stopped(t) || !stop_requested(t) {
            return false;
        }
        if !t.last_is(TaskStatus::Stopping) {
            task_state::set_status(t, TaskStatus::Stopping);
        }
        true
    })
    .await
    else {
        return;
    };
    // A launch still starting containers would start them after this stop looked: let it
    // notice the stop (it checks before every start) and end first.
    let launch = TaskJob::Launch(task_arn.to_string());
    while core.work.tasks.is_busy(&launch) {
        core.sleep(std::time::Duration::from_millis(20)).await;
    }
    if let Err(e) = core.runtime.stop_task(&task).await {
        tracing::warn!(task = task_arn, error = %e, "stopping a task's containers failed; the resync retries");
        return;
    }
    let mut exits = vec![];
    for c in task.containers.iter().flatten() {
        let (Some(name), Some(id)) = (&c.name, &c.runtime_id) else {
            continue;
        };
        if let Ok(state) = core.runtime.container_state(id).await {
            if let ContainerStatus::Exited(code) = state.status {
                exits.push((name.clone(), code));
            }
        }
    }
    if task_state::eni(&task).is_some() {
        update_task(core, task_arn, |t| {
            task_state::set_status(t, TaskStatus::Deprovisioning);
            true
        })
        .await;
    }
    let now = core.now();
    update_task(core, task_arn, |t| {
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
pub(crate) async fn update_task(
    core: &Core,
    task_arn: &str,
    change: impl FnOnce(&mut Task) -> bool,
) -> Option<Task> {
    let result = core
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
