//! Which of a service's tasks a target group sends traffic to, as ECS registers them: a task
//! is a target while it is RUNNING and nobody asked it to stop (a stopping task goes
//! DEACTIVATING and leaves first), and while the load balancer's container is healthy —
//! HEALTHY, or without a health check to say otherwise.

use crate::model::{HealthStatus, LoadBalancer, Task, TaskDefinition};
use crate::ports::traffic::Target;
use crate::rules::task_state::stop_requested;
use crate::status::{HasLastStatus, TaskStatus};

/// Where the container port `port` of the container `name` of `task` answers, seen from the
/// host: its published host port, or the task's own address (awsvpc).
fn address(task: &Task, name: &str, port: i32) -> Option<String> {
    let container = task
        .containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))?;
    let published = container
        .network_bindings
        .iter()
        .flatten()
        .find(|b| b.container_port == Some(port) && b.host_port.is_some_and(|p| p > 0));
    if let Some(b) = published {
        let ip = match b.bind_ip.as_deref() {
            None | Some("0.0.0.0") | Some("") => "127.0.0.1",
            Some("::") => "[::1]",
            Some(ip) => ip,
        };
        return Some(format!("{ip}:{}", b.host_port.unwrap_or_default()));
    }
    let ip = container
        .network_interfaces
        .iter()
        .flatten()
        .find_map(|i| i.private_ipv4_address.as_deref())?;
    Some(format!("{ip}:{port}"))
}

/// Whether the container `name` of `task` (of the definition `td`) may take traffic.
fn healthy(task: &Task, td: Option<&TaskDefinition>, name: &str) -> bool {
    let health = task
        .containers
        .iter()
        .flatten()
        .find(|c| c.name.as_deref() == Some(name))
        .and_then(|c| c.health_status);
    match health {
        Some(HealthStatus::Healthy) => true,
        Some(HealthStatus::Unhealthy) => false,
        _ => td
            .and_then(|td| td.container(name))
            .is_none_or(|def| def.health_check.is_none()),
    }
}

/// The targets of `lb` among a service's `tasks`, in task order; `definition` finds a task's
/// definition.
pub fn targets<'d>(
    lb: &LoadBalancer,
    tasks: &[Task],
    definition: impl Fn(&Task) -> Option<&'d TaskDefinition>,
) -> Vec<Target> {
    let (Some(name), Some(port)) = (lb.container_name.as_deref(), lb.container_port) else {
        return vec![];
    };
    let mut targets: Vec<Target> = tasks
        .iter()
        .filter(|t| t.last_is(TaskStatus::Running) && !stop_requested(t))
        .filter(|t| healthy(t, definition(t), name))
        .filter_map(|t| {
            Some(Target {
                task_arn: t.task_arn.clone()?,
                address: address(t, name, port)?,
            })
        })
        .collect();
    targets.sort();
    targets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Container, ContainerDefinition, HealthCheck, NetworkBinding};
    use crate::model::{NetworkInterface, TaskDefinition};

    fn task(id: &str, last: &str, health: Option<HealthStatus>) -> Task {
        Task {
            task_arn: Some(format!("arn:t/{id}")),
            last_status: Some(last.into()),
            desired_status: Some("RUNNING".into()),
            containers: Some(vec![Container {
                name: Some("web".into()),
                health_status: health,
                network_bindings: Some(vec![NetworkBinding {
                    bind_ip: Some("0.0.0.0".into()),
                    container_port: Some(80),
                    host_port: Some(32768 + id.len() as i32),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn lb() -> LoadBalancer {
        LoadBalancer {
            target_group_arn: Some("tg".into()),
            container_name: Some("web".into()),
            container_port: Some(80),
            ..Default::default()
        }
    }

    fn arns(targets: &[Target]) -> Vec<&str> {
        targets.iter().map(|t| t.task_arn.as_str()).collect()
    }

    #[test]
    fn running_tasks_not_asked_to_stop_are_targets_at_their_published_port() {
        let mut stopping = task("s", "RUNNING", None);
        stopping.desired_status = Some("STOPPED".into());
        let tasks = [
            task("a", "RUNNING", None),
            task("p", "PENDING", None),
            stopping,
            task("d", "DEACTIVATING", None),
        ];
        let targets = targets(&lb(), &tasks, |_| None);
        assert_eq!(
            targets,
            [Target {
                task_arn: "arn:t/a".into(),
                address: "127.0.0.1:32769".into(),
            }]
        );
    }

    #[test]
    fn a_container_with_a_health_check_takes_traffic_once_healthy() {
        let checked = TaskDefinition {
            container_definitions: Some(vec![ContainerDefinition {
                name: Some("web".into()),
                health_check: Some(HealthCheck::default()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let tasks = [
            task("h", "RUNNING", Some(HealthStatus::Healthy)),
            task("u", "RUNNING", Some(HealthStatus::Unhealthy)),
            task("k", "RUNNING", Some(HealthStatus::Unknown)),
        ];
        assert_eq!(
            arns(&targets(&lb(), &tasks, |_| Some(&checked))),
            ["arn:t/h"]
        );
        // Without a health check, UNKNOWN is as good as it gets.
        assert_eq!(
            arns(&targets(&lb(), &tasks, |_| None)),
            ["arn:t/h", "arn:t/k"]
        );
    }

    #[test]
    fn an_awsvpc_task_is_reached_at_its_own_address() {
        let mut t = task("v", "RUNNING", None);
        let c = &mut t.containers.as_mut().unwrap()[0];
        c.network_bindings = Some(vec![]);
        c.network_interfaces = Some(vec![NetworkInterface {
            private_ipv4_address: Some("172.20.0.5".into()),
            ..Default::default()
        }]);
        assert_eq!(targets(&lb(), &[t], |_| None)[0].address, "172.20.0.5:80");
    }
}
