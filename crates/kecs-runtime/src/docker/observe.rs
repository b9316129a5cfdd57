//! Reading Docker's answers (events, container lists, inspections) as the domain's observations.

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary,
    ContainerSummaryStateEnum, EventMessage, HealthStatusEnum,
};
use kecs_domain::model::HealthStatus;
use kecs_domain::ports::runtime::{
    ContainerExit, ContainerState, ContainerStatus, ObservedContainer, RuntimeEvent,
};

use super::{LABEL_CONTAINER, LABEL_TASK};

/// The exit code in a container list's status text, e.g. `Exited (3) 5 seconds ago`.
pub fn exit_code_of_status(status: &str) -> Option<i32> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.parse().ok()
}

/// The health in a container list's status text, e.g. `Up 5 seconds (unhealthy)`.
pub fn health_of_status(status: &str) -> Option<HealthStatus> {
    if status.ends_with("(healthy)") {
        Some(HealthStatus::Healthy)
    } else if status.ends_with("(unhealthy)") {
        Some(HealthStatus::Unhealthy)
    } else if status.ends_with("(health: starting)") {
        Some(HealthStatus::Unknown)
    } else {
        None
    }
}

/// A `die` or `health_status: …` event of one of KECS's containers.
pub fn event(message: EventMessage) -> Option<RuntimeEvent> {
    let action = message.action.clone().unwrap_or_default();
    let attrs = message.actor.and_then(|a| a.attributes).unwrap_or_default();
    let task_arn = attrs.get(LABEL_TASK)?.clone();
    let container = attrs.get(LABEL_CONTAINER)?.clone();
    if action == "die" {
        return Some(RuntimeEvent::Exited(ContainerExit {
            task_arn,
            container,
            exit_code: attrs.get("exitCode").and_then(|c| c.parse().ok()),
            reason: None,
        }));
    }
    let status = match action.strip_prefix("health_status: ")? {
        "healthy" => HealthStatus::Healthy,
        "unhealthy" => HealthStatus::Unhealthy,
        _ => return None,
    };
    Some(RuntimeEvent::Health {
        task_arn,
        container,
        status,
    })
}

/// One of KECS's containers as a container list shows it.
pub fn summary(c: ContainerSummary) -> Option<ObservedContainer> {
    let labels = c.labels.unwrap_or_default();
    let text = c.status.unwrap_or_default();
    let status = match c.state {
        Some(ContainerSummaryStateEnum::RUNNING | ContainerSummaryStateEnum::PAUSED) => {
            ContainerStatus::Running
        }
        Some(ContainerSummaryStateEnum::EXITED | ContainerSummaryStateEnum::DEAD) => {
            ContainerStatus::Exited(exit_code_of_status(&text))
        }
        _ => ContainerStatus::Created,
    };
    Some(ObservedContainer {
        task_arn: labels.get(LABEL_TASK)?.clone(),
        container: labels.get(LABEL_CONTAINER)?.clone(),
        runtime_id: c.id?,
        state: ContainerState {
            status,
            health: health_of_status(&text),
        },
    })
}

/// A container's state from its inspection.
pub fn inspected_state(inspected: &ContainerInspectResponse) -> ContainerState {
    let state = inspected.state.clone().unwrap_or_default();
    let status = match state.status {
        Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::PAUSED) => {
            ContainerStatus::Running
        }
        Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD) => {
            ContainerStatus::Exited(state.exit_code.and_then(|c| i32::try_from(c).ok()))
        }
        _ => ContainerStatus::Created,
    };
    let health = state.health.and_then(|h| h.status).and_then(|s| match s {
        HealthStatusEnum::HEALTHY => Some(HealthStatus::Healthy),
        HealthStatusEnum::UNHEALTHY => Some(HealthStatus::Unhealthy),
        HealthStatusEnum::STARTING => Some(HealthStatus::Unknown),
        _ => None,
    });
    ContainerState { status, health }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn reads_exit_codes_and_health_from_status_text() {
        assert_eq!(exit_code_of_status("Exited (3) 5 seconds ago"), Some(3));
        assert_eq!(
            exit_code_of_status("Exited (137) About a minute ago"),
            Some(137)
        );
        assert_eq!(exit_code_of_status("Up 2 seconds"), None);
        assert_eq!(
            health_of_status("Up 9 seconds (unhealthy)"),
            Some(HealthStatus::Unhealthy)
        );
        assert_eq!(
            health_of_status("Up 9 seconds (healthy)"),
            Some(HealthStatus::Healthy)
        );
        assert_eq!(health_of_status("Up 9 seconds"), None);
    }

    fn message(action: &str, extra: &[(&str, &str)]) -> EventMessage {
        let mut attributes: HashMap<String, String> = HashMap::from([
            (LABEL_TASK.to_string(), "arn:t".to_string()),
            (LABEL_CONTAINER.to_string(), "app".to_string()),
        ]);
        for (k, v) in extra {
            attributes.insert(k.to_string(), v.to_string());
        }
        EventMessage {
            action: Some(action.into()),
            actor: Some(bollard::models::EventActor {
                id: Some("id".into()),
                attributes: Some(attributes),
            }),
            ..EventMessage::default()
        }
    }

    #[test]
    fn reads_die_and_health_events() {
        assert_eq!(
            event(message("die", &[("exitCode", "3")])),
            Some(RuntimeEvent::Exited(ContainerExit {
                task_arn: "arn:t".into(),
                container: "app".into(),
                exit_code: Some(3),
                reason: None,
            }))
        );
        assert_eq!(
            event(message("health_status: unhealthy", &[])),
            Some(RuntimeEvent::Health {
                task_arn: "arn:t".into(),
                container: "app".into(),
                status: HealthStatus::Unhealthy,
            })
        );
        assert_eq!(event(message("start", &[])), None);
    }
}
