//! The order a task's containers start in (dependsOn) and whether a dependency's condition
//! holds, as ECS defines the conditions.

use crate::model::{ContainerCondition, HealthStatus, TaskDefinition};
use crate::ports::runtime::{ContainerState, ContainerStatus};

/// The containers of `td` in an order that starts every dependency before its dependents
/// (definition order otherwise), or why there is none.
pub fn start_order(td: &TaskDefinition) -> Result<Vec<String>, DependencyCycle> {
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
            None => return Err(DependencyCycle),
        }
    }
    Ok(order)
}

/// The containers' `dependsOn` form a cycle: no order starts every dependency first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The dependsOn of the task definition's containers form a cycle.")]
pub struct DependencyCycle;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerDefinition, ContainerDependency};

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
