//! Starting a task's containers, outside any request: PROVISIONING -> PENDING (containers
//! created, then started in dependsOn order) -> ACTIVATING (awsvpc) -> RUNNING. A task that
//! cannot start ends STOPPED with TaskFailedToStart and the engine's reason.

use std::time::Duration;

use super::task_state::{self, is_starting, stop_requested, PENDING, PROVISIONING};
use super::Kecs;
use crate::model::{
    ContainerCondition, ContainerDefinition, HealthStatus, NetworkMode, Task, TaskDefinition,
    TaskStopCode,
};
use crate::runtime::{ContainerState, ContainerStatus, RuntimeError, StartedContainer};

/// How long a container waits for its dependencies when its definition sets no startTimeout
/// (ECS's default).
const DEFAULT_START_TIMEOUT_SECS: i32 = 180;

/// The containers of `td` in an order that starts every dependency before its dependents
/// (definition order otherwise), or why there is none.
pub fn start_order(td: &TaskDefinition) -> Result<Vec<String>, String> {
    let defs = td.container_definitions.as_deref().unwrap_or_default();
    let mut order: Vec<String> = vec![];
    while order.len() < defs.len() {
        let next = defs.iter().find(|d| {
            let name = d.name.clone().unwrap_or_default();
            !order.contains(&name)
                && d.depends_on
                    .iter()
                    .flatten()
                    .all(|dep| order.contains(&dep.container_name.clone().unwrap_or_default()))
        });
        match next {
            Some(d) => order.push(d.name.clone().unwrap_or_default()),
            None => {
                return Err(
                    "The dependsOn of the task definition's containers form a cycle.".into(),
                )
            }
        }
    }
    Ok(order)
}

/// Whether a dependency's condition holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The condition holds.
    Met,
    /// Not yet.
    Wait,
    /// It never will: the task cannot start.
    Failed(String),
}

/// Judges `condition` on the dependency `dep`, whose state is `state` (`None`: not started).
pub fn judge(
    dependent: &str,
    dep: &str,
    condition: ContainerCondition,
    state: Option<ContainerState>,
) -> Verdict {
    let Some(state) = state else {
        return Verdict::Wait;
    };
    let fail = |why: String| {
        Verdict::Failed(format!(
            "Container '{dependent}' could not start: its dependency '{dep}' {why} (condition {}).",
            condition.as_str()
        ))
    };
    let exited = match state.status {
        ContainerStatus::Exited(code) => Some(code),
        ContainerStatus::Missing => return fail("is gone".into()),
        _ => None,
    };
    match condition {
        ContainerCondition::Start => Verdict::Met,
        ContainerCondition::Complete => match exited {
            Some(_) => Verdict::Met,
            None => Verdict::Wait,
        },
        ContainerCondition::Success => match exited {
            Some(Some(0)) => Verdict::Met,
            Some(Some(code)) => fail(format!("exited with code {code}")),
            Some(None) => fail("exited".into()),
            None => Verdict::Wait,
        },
        ContainerCondition::Healthy => match (state.health, exited) {
            (Some(HealthStatus::Healthy), _) => Verdict::Met,
            (Some(HealthStatus::Unhealthy), _) => fail("is unhealthy".into()),
            (_, Some(_)) => fail("exited before it was healthy".into()),
            _ => Verdict::Wait,
        },
    }
}

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

fn definition<'t>(td: &'t TaskDefinition, name: &str) -> Option<&'t ContainerDefinition> {
    td.container_definitions
        .iter()
        .flatten()
        .find(|d| d.name.as_deref() == Some(name))
}

impl Kecs {
    /// Starts the containers of the PROVISIONING task `task_arn` and records each step.
    pub(super) async fn launch(&self, task_arn: &str) {
        let found = self.read(|state| {
            let task = state.tasks.get(task_arn)?.task.clone();
            let td = state
                .task_definitions
                .get(task.task_definition_arn.as_deref()?)?
                .clone();
            Some((task, td))
        });
        let Some((task, td)) = found else { return };
        if task.last_status.as_deref() != Some(PROVISIONING) || stop_requested(&task) {
            return;
        }
        match self.start_containers(&task, &td).await {
            Ok(()) => {}
            Err(Abort::Stopped) => {
                // Whatever started after the stop looked for containers is stopped here.
                let _ = self.runtime.stop_task(&task).await;
            }
            Err(Abort::Failed(reason)) => {
                let _ = self.runtime.stop_task(&task).await;
                let now = self.now();
                self.update_task(task_arn, |t| {
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
    async fn advance(&self, task_arn: &str, change: impl FnOnce(&mut Task)) -> Result<(), Abort> {
        self.update_task(task_arn, |t| {
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

    async fn start_containers(&self, task: &Task, td: &TaskDefinition) -> Result<(), Abort> {
        let arn = task.task_arn.clone().unwrap_or_default();
        self.runtime.prepare_task(task, td).await?;
        let now = self.now();
        self.advance(&arn, |t| {
            task_state::set_status(t, PENDING);
            t.pull_started_at = Some(now);
        })
        .await?;
        let order = start_order(td).map_err(Abort::Failed)?;
        let mut created: Vec<StartedContainer> = vec![];
        for name in &order {
            let c = self
                .runtime
                .create_container(task, td, name, &created)
                .await?;
            created.push(c);
        }
        let now = self.now();
        self.advance(&arn, |t| {
            t.pull_stopped_at = Some(now);
            task_state::record_created(t, &created);
        })
        .await?;
        let started = self.start_in_order(task, td, created).await?;
        let now = self.now();
        let private_ip = started.iter().find_map(|s| s.private_ipv4.clone());
        if td.network_mode == Some(NetworkMode::Awsvpc) {
            self.advance(&arn, |t| {
                task_state::set_status(t, task_state::ACTIVATING);
                task_state::set_eni(t, "ATTACHED", private_ip.as_deref());
            })
            .await?;
        }
        self.advance(&arn, |t| task_state::mark_running(t, now))
            .await
    }

    /// Starts the created containers as their dependencies allow; returns them started.
    async fn start_in_order(
        &self,
        task: &Task,
        td: &TaskDefinition,
        created: Vec<StartedContainer>,
    ) -> Result<Vec<StartedContainer>, Abort> {
        let arn = task.task_arn.clone().unwrap_or_default();
        let begun = self.now();
        let mut started: Vec<StartedContainer> = vec![];
        let mut waiting = created;
        let mut pause = Duration::from_millis(50);
        while !waiting.is_empty() {
            if self.read(|s| s.tasks.get(&arn).is_none_or(|t| stop_requested(&t.task))) {
                return Err(Abort::Stopped);
            }
            let mut ready = vec![];
            // Each dependency's state is asked of the engine once per look, however many
            // containers wait on it.
            let mut looked: std::collections::HashMap<String, ContainerState> =
                std::collections::HashMap::new();
            for (i, c) in waiting.iter().enumerate() {
                let def = definition(td, &c.name);
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
                                let state = self.runtime.container_state(id).await?;
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
                    let checked =
                        definition(td, &dep_name).is_some_and(|d| d.health_check.is_some());
                    if condition == ContainerCondition::Healthy && !checked {
                        return Err(Abort::Failed(format!(
                            "Container '{}' depends on '{dep_name}' being HEALTHY, but '{dep_name}' has no healthCheck.",
                            c.name
                        )));
                    }
                    match judge(&c.name, &dep_name, condition, state) {
                        Verdict::Met => {}
                        Verdict::Wait => met = false,
                        Verdict::Failed(why) => return Err(Abort::Failed(why)),
                    }
                }
                let timeout = def
                    .and_then(|d| d.start_timeout)
                    .unwrap_or(DEFAULT_START_TIMEOUT_SECS);
                if !met && self.now() - begun > f64::from(timeout) {
                    return Err(Abort::Failed(format!(
                        "Container '{}' could not start: its dependencies were not met within its startTimeout of {timeout} s.",
                        c.name
                    )));
                }
                if met {
                    ready.push(i);
                }
            }
            if ready.is_empty() {
                self.runtime.pause(pause).await;
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
            for (_, c) in now_ready {
                if self.read(|s| s.tasks.get(&arn).is_none_or(|t| stop_requested(&t.task))) {
                    return Err(Abort::Stopped);
                }
                batch.push(self.runtime.start_container(task, &c).await?);
            }
            self.advance(&arn, |t| task_state::record_started(t, &batch))
                .await?;
            started.extend(batch);
        }
        Ok(started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ContainerDependency;

    fn def(name: &str, deps: &[&str]) -> ContainerDefinition {
        ContainerDefinition {
            name: Some(name.into()),
            depends_on: Some(
                deps.iter()
                    .map(|d| ContainerDependency {
                        container_name: Some((*d).into()),
                        condition: Some(ContainerCondition::Start),
                    })
                    .collect(),
            ),
            ..ContainerDefinition::default()
        }
    }

    fn td(defs: Vec<ContainerDefinition>) -> TaskDefinition {
        TaskDefinition {
            container_definitions: Some(defs),
            ..TaskDefinition::default()
        }
    }

    #[test]
    fn dependencies_start_first_and_definition_order_is_kept_otherwise() {
        let order = start_order(&td(vec![
            def("app", &["db", "init"]),
            def("side", &[]),
            def("db", &["init"]),
            def("init", &[]),
        ]))
        .unwrap();
        assert_eq!(order, ["side", "init", "db", "app"]);
    }

    #[test]
    fn a_cycle_has_no_order() {
        assert!(start_order(&td(vec![def("a", &["b"]), def("b", &["a"])])).is_err());
    }

    fn state(status: ContainerStatus, health: Option<HealthStatus>) -> Option<ContainerState> {
        Some(ContainerState { status, health })
    }

    #[test]
    fn conditions_as_ecs_defines_them() {
        use ContainerCondition::*;
        use ContainerStatus::*;
        let v = |c, s| judge("app", "dep", c, s);
        assert_eq!(v(Start, None), Verdict::Wait);
        assert_eq!(v(Start, state(Running, None)), Verdict::Met);
        assert_eq!(v(Start, state(Exited(Some(1)), None)), Verdict::Met);
        assert_eq!(v(Complete, state(Running, None)), Verdict::Wait);
        assert_eq!(v(Complete, state(Exited(Some(1)), None)), Verdict::Met);
        assert_eq!(v(Success, state(Exited(Some(0)), None)), Verdict::Met);
        assert!(matches!(
            v(Success, state(Exited(Some(2)), None)),
            Verdict::Failed(m) if m.contains("exited with code 2")
        ));
        assert_eq!(v(Healthy, state(Running, None)), Verdict::Wait);
        assert_eq!(
            v(Healthy, state(Running, Some(HealthStatus::Unknown))),
            Verdict::Wait
        );
        assert_eq!(
            v(Healthy, state(Running, Some(HealthStatus::Healthy))),
            Verdict::Met
        );
        assert!(matches!(
            v(Healthy, state(Running, Some(HealthStatus::Unhealthy))),
            Verdict::Failed(_)
        ));
        assert!(matches!(
            v(Healthy, state(Exited(Some(0)), None)),
            Verdict::Failed(_)
        ));
        assert!(matches!(v(Start, state(Missing, None)), Verdict::Failed(_)));
    }
}
