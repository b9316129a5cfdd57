//! Starting a task's containers, outside any request: PROVISIONING -> PENDING (containers
//! created, then started in dependsOn order) -> ACTIVATING (awsvpc) -> RUNNING. A task that
//! cannot start ends STOPPED with TaskFailedToStart and the engine's reason.
//!
//! What the caller of RunTask waits for is the engine's work: the launch records PENDING while
//! the containers are created, and the containers started with RUNNING in one commit.

use crate::status::{HasLastStatus, TaskStatus};
use std::time::Duration;

use super::lifecycle::update_task;
use crate::core::Core;
use crate::model::{
    ContainerCondition, HealthStatus, NetworkMode, Task, TaskDefinition, TaskStopCode,
};
use crate::ports::runtime::{
    ContainerState, ContainerStatus, NetworkNames, RuntimeError, StartedContainer,
};
use crate::rules::start_order::{judge, start_order, Verdict};
use crate::rules::task_state::{self, is_starting, stop_requested};

/// How long a dependency has to reach its condition when its definition sets no startTimeout
/// (the ECS agent's container start timeout).
const DEFAULT_START_TIMEOUT_SECS: i32 = 180;

/// Why a launch ended early.
enum Abort {
    /// Asked to stop meanwhile (StopTask, or an essential container exited): the stop finishes it.
    Stopped,
    /// It cannot start, for this reason.
    Failed(String),
}

impl From<RuntimeError> for Abort {
    fn from(e: RuntimeError) -> Self {
        Abort::Failed(e.to_string())
    }
}

/// Starts the containers of the PROVISIONING task `task_arn` and records each step; the
/// current span (the launch's) records the status the task reached (`last_status`).
pub(crate) async fn launch(core: &Core, task_arn: &str) {
    start(core, task_arn).await;
    let span = tracing::Span::current();
    if !span.is_disabled() {
        if let Some(status) = core.read(|s| s.tasks.get(task_arn)?.task.last_status.clone()) {
            span.record("last_status", status);
        }
    }
}

async fn start(core: &Core, task_arn: &str) {
    let found = core.read(|state| {
        let task = state.tasks.get(task_arn)?.task.clone();
        let td = state
            .task_definition(task.task_definition_arn.as_deref()?)?
            .clone();
        let names = super::task_names::of(state, &task, &td);
        Some((task, td, names))
    });
    let Some((task, td, names)) = found else {
        return;
    };
    if !task.last_is(TaskStatus::Provisioning) || stop_requested(&task) {
        return;
    }
    match start_containers(core, &task, &td, &names).await {
        Ok(()) => {}
        Err(Abort::Stopped) => {
            // Whatever started after the stop looked for containers is stopped here.
            let _ = core.runtime.stop_task(&task).await;
        }
        Err(Abort::Failed(reason)) => {
            let _ = core.runtime.stop_task(&task).await;
            let now = core.now();
            update_task(core, task_arn, |t| {
                if task_state::is_stopped(t) {
                    return false;
                }
                task_state::request_stop(t, TaskStopCode::TaskFailedToStart, &reason, now);
                task_state::mark_stopped(t, now);
                true
            })
            .await;
        }
    }
}

/// Moves the task on while it is still starting and nobody asked it to stop.
async fn advance(core: &Core, task_arn: &str, change: impl FnOnce(&mut Task)) -> Result<(), Abort> {
    update_task(core, task_arn, |t| {
        if !is_starting(t) || stop_requested(t) {
            return false;
        }
        change(t);
        true
    })
    .await
    .map(|_| ())
    .ok_or(Abort::Stopped)
}

async fn start_containers(
    core: &Core,
    task: &Task,
    td: &TaskDefinition,
    names: &NetworkNames,
) -> Result<(), Abort> {
    let arn = task.task_arn.clone().unwrap_or_default();
    // Secrets, environment files and the endpoints' addresses become environment here, in a
    // definition kept only for the launch.
    let resolved = super::task_secrets::resolve(core, task, td)
        .await
        .map_err(Abort::Failed)?;
    super::task_logs::prepare(core, task, td)
        .await
        .map_err(Abort::Failed)?;
    let mut launch = match resolved {
        Some(resolved) => std::borrow::Cow::Owned(resolved),
        None => std::borrow::Cow::Borrowed(td),
    };
    if let Some(endpoints) = core.endpoints() {
        super::task_endpoints::add(&endpoints, task, launch.to_mut());
    }
    let td = launch.as_ref();
    core.runtime.prepare_task(task, td).await?;
    let order = start_order(td).map_err(|e| Abort::Failed(e.to_string()))?;
    // PENDING is recorded while the images are pulled and the containers created: the launch
    // does not wait for the commit.
    let now = core.now();
    let pending = advance(core, &arn, |t| {
        task_state::set_status(t, TaskStatus::Pending);
        t.pull_started_at = Some(now);
    });
    let (pending, created) = futures::join!(pending, create_all(core, task, td, &order, names));
    pending?;
    let created = created?;
    // Recorded before any starts: a container that exits at once is then known by its ID to
    // the stop that follows (and none is left behind unrecorded).
    let pulled_at = core.now();
    advance(core, &arn, |t| {
        t.pull_stopped_at = Some(pulled_at);
        task_state::record_created(t, &created);
    })
    .await?;
    start_in_order(core, task, td, &created).await?;
    record_digests(core, task, &created).await;
    Ok(())
}

/// Pulls and creates the containers of `task`, in start order.
async fn create_all(
    core: &Core,
    task: &Task,
    td: &TaskDefinition,
    order: &[String],
    names: &NetworkNames,
) -> Result<Vec<StartedContainer>, Abort> {
    let mut created: Vec<StartedContainer> = vec![];
    for name in order {
        let auth = super::task_secrets::registry_auth(core, td.container(name))
            .await
            .map_err(Abort::Failed)?;
        let c = core
            .runtime
            .create_container(task, td, name, &created, auth.as_ref(), names)
            .await?;
        created.push(c);
    }
    Ok(created)
}

/// Gives the service revision the task was started for its images' digests, once known.
async fn record_digests(core: &Core, task: &Task, created: &[StartedContainer]) {
    if created.iter().all(|c| c.image_digest.is_none()) {
        return;
    }
    let written = core
        .write(|state| {
            let change = crate::ops::deployment_history::with_digests(state, task, created);
            Ok(((), change.into_iter().collect()))
        })
        .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "recording the service revision's image digests failed");
    }
}

/// Starts the created containers as their dependencies allow, and the task with them.
///
/// Each batch of containers started is one commit; the last also turns the task RUNNING
/// (through ACTIVATING, for awsvpc): nothing a caller could wait for lies between them.
async fn start_in_order(
    core: &Core,
    task: &Task,
    td: &TaskDefinition,
    created: &[StartedContainer],
) -> Result<(), Abort> {
    let arn = task.task_arn.clone().unwrap_or_default();
    // When each container was started: a dependency's startTimeout counts from there.
    let mut started_at: std::collections::HashMap<String, f64> = std::collections::HashMap::new();
    let mut started: Vec<StartedContainer> = vec![];
    let mut waiting = created.to_vec();
    let mut pause = Duration::from_millis(50);
    while !waiting.is_empty() {
        if core.read(|s| s.tasks.get(&arn).is_none_or(|t| stop_requested(&t.task))) {
            return Err(Abort::Stopped);
        }
        let mut ready = vec![];
        // Each dependency's state is asked of the engine once per look, however many
        // containers wait on it.
        let mut looked: std::collections::HashMap<String, ContainerState> =
            std::collections::HashMap::new();
        for (i, c) in waiting.iter().enumerate() {
            let def = td.container(&c.name);
            let mut met = true;
            for dep in def
                .and_then(|d| d.depends_on.as_ref())
                .into_iter()
                .flatten()
            {
                let dep_name = dep.container_name.clone().unwrap_or_default();
                let state = match started.iter().find(|s| s.name == dep_name) {
                    Some(s) => match (&s.runtime_id, looked.get(&dep_name)) {
                        (_, Some(known)) => Some(*known),
                        (Some(id), None) => {
                            let state = core.runtime.container_state(id).await?;
                            looked.insert(dep_name.clone(), state);
                            Some(state)
                        }
                        (None, None) => Some(ContainerState {
                            status: ContainerStatus::Running,
                            health: Some(HealthStatus::Healthy),
                        }),
                    },
                    None => None,
                };
                let condition = dep.condition.unwrap_or(ContainerCondition::Start);
                let checked = td
                    .container(&dep_name)
                    .is_some_and(|d| d.health_check.is_some());
                if condition == ContainerCondition::Healthy && !checked {
                    return Err(Abort::Failed(format!(
                        "Container '{}' depends on '{dep_name}' being HEALTHY, but '{dep_name}' has no healthCheck.",
                        c.name
                    )));
                }
                match judge(&c.name, &dep_name, condition, state) {
                    Verdict::Met => continue,
                    Verdict::Wait => met = false,
                    Verdict::Failed(why) => return Err(Abort::Failed(why)),
                }
                // As the ECS documents startTimeout: the dependency's own, from its start; past
                // it, the dependent gives up and the task stops.
                let timeout = td
                    .container(&dep_name)
                    .and_then(|d| d.start_timeout)
                    .unwrap_or(DEFAULT_START_TIMEOUT_SECS);
                let since = started_at.get(&dep_name).copied();
                if since.is_some_and(|at| core.now() - at > f64::from(timeout)) {
                    return Err(Abort::Failed(format!(
                        "Container '{}' could not start: its dependency '{dep_name}' did not reach {} within its startTimeout of {timeout} s.",
                        c.name,
                        condition.as_str()
                    )));
                }
            }
            if met {
                ready.push(i);
            }
        }
        if ready.is_empty() {
            core.sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
            continue;
        }
        pause = Duration::from_millis(50);
        // In start order: awsvpc containers join the namespace of the first one.
        let (now_ready, still): (Vec<_>, Vec<_>) = std::mem::take(&mut waiting)
            .into_iter()
            .enumerate()
            .partition(|(i, _)| ready.contains(i));
        waiting = still.into_iter().map(|(_, c)| c).collect();
        let mut batch = vec![];
        let mut not_started = vec![];
        for (_, c) in now_ready {
            if core.read(|s| s.tasks.get(&arn).is_none_or(|t| stop_requested(&t.task))) {
                return Err(Abort::Stopped);
            }
            let essential = td
                .container(&c.name)
                .is_none_or(|d| d.essential != Some(false));
            match core.runtime.start_container(task, &c).await {
                Ok(s) => batch.push(s),
                // As the ECS agent: a non-essential container that cannot start is STOPPED with
                // why, and the task goes on (a data container's volumes stay usable).
                Err(e) if !essential => not_started.push((c.name.clone(), e.to_string())),
                Err(e) => return Err(e.into()),
            }
        }
        let last = waiting.is_empty();
        let now = core.now();
        started_at.extend(batch.iter().map(|s| (s.name.clone(), now)));
        started.extend(batch.iter().cloned());
        advance(core, &arn, |t| {
            task_state::record_started(t, &batch);
            for (name, why) in &not_started {
                task_state::record_exit(t, name, None, Some(why));
            }
            if last {
                if td.network_mode == Some(NetworkMode::Awsvpc) {
                    let private_ip = started.iter().find_map(|s| s.private_ipv4.as_deref());
                    task_state::set_status(t, TaskStatus::Activating);
                    task_state::set_eni(t, "ATTACHED", private_ip);
                }
                task_state::mark_running(t, now);
            }
        })
        .await?;
    }
    Ok(())
}
