//! What CreateService and UpdateService check of a service before it is recorded: its name,
//! its deployment configuration, and that its load balancers and registries name containers
//! and ports of its task definition (as ECS refuses them).

use super::blue_green::check_configuration;
use super::validate;
use crate::model::{
    DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, LoadBalancer,
    ServiceRegistry, TaskDefinition,
};
use crate::EcsError;

/// Checks a deployment configuration and fills in ECS's defaults (a daemon's differ).
pub fn deployment_configuration(
    given: Option<DeploymentConfiguration>,
    daemon: bool,
) -> Result<DeploymentConfiguration, EcsError> {
    let mut c = given.unwrap_or_default();
    check_configuration(&c, daemon)?;
    let max = c
        .maximum_percent
        .get_or_insert(if daemon { 100 } else { 200 });
    if *max < 100 && !daemon {
        return Err(EcsError::invalid(
            "maximumPercent must be at least 100 for services using the rolling update (ECS) deployment controller.",
        ));
    }
    let max = *max;
    validate::maximum_percent(max)?;
    let min = c
        .minimum_healthy_percent
        .get_or_insert(if daemon { 0 } else { 100 });
    if *min < 0 || *min > 100 || *min >= max && max > 100 {
        return Err(EcsError::invalid(
            "minimumHealthyPercent must be between 0 and 100 and below maximumPercent.",
        ));
    }
    c.deployment_circuit_breaker
        .get_or_insert(DeploymentCircuitBreaker {
            enable: Some(false),
            rollback: Some(false),
        });
    c.alarms.get_or_insert(DeploymentAlarms {
        alarm_names: Some(vec![]),
        enable: Some(false),
        rollback: Some(false),
    });
    Ok(c)
}

/// A service name ECS takes: 1 to 255 letters, digits, hyphens and underscores.
pub fn check_name(name: &str) -> Result<(), EcsError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EcsError::invalid(
            "Service names may contain up to 255 letters (uppercase and lowercase), numbers, hyphens and underscores.",
        ))
    }
}

/// The load balancers and service registries of a service with the definition `td` name its
/// containers, and a load balancer a port of that container.
pub fn check_wiring(
    td: &TaskDefinition,
    load_balancers: &Option<Vec<LoadBalancer>>,
    registries: &Option<Vec<ServiceRegistry>>,
) -> Result<(), EcsError> {
    let container = |name: &str| {
        td.container(name).ok_or_else(|| {
            EcsError::invalid(format!(
                "The container {name} does not exist in the task definition."
            ))
        })
    };
    for lb in load_balancers.iter().flatten() {
        let Some(name) = lb.container_name.as_deref().filter(|n| !n.is_empty()) else {
            return Err(EcsError::invalid("Container Name can not be blank."));
        };
        let def = container(name)?;
        let port = lb.container_port.unwrap_or_default();
        let mapped = def
            .port_mappings
            .iter()
            .flatten()
            .any(|p| p.container_port == Some(port));
        if !mapped {
            return Err(EcsError::invalid(format!(
                "The container {name} did not have a container port {port} defined."
            )));
        }
    }
    for registry in registries.iter().flatten() {
        if let Some(name) = registry.container_name.as_deref() {
            container(name)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerDefinition, PortMapping};

    fn td() -> TaskDefinition {
        TaskDefinition {
            container_definitions: Some(vec![ContainerDefinition {
                name: Some("web".into()),
                port_mappings: Some(vec![PortMapping {
                    container_port: Some(80),
                    ..Default::default()
                }]),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn lb(container: &str, port: i32) -> Option<Vec<LoadBalancer>> {
        Some(vec![LoadBalancer {
            target_group_arn: Some("tg".into()),
            container_name: Some(container.into()),
            container_port: Some(port),
            ..Default::default()
        }])
    }

    fn message(r: Result<(), EcsError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn load_balancers_name_a_container_and_one_of_its_ports() {
        assert!(check_wiring(&td(), &lb("web", 80), &None).is_ok());
        assert!(message(check_wiring(&td(), &lb("api", 80), &None))
            .contains("The container api does not exist in the task definition."));
        assert!(message(check_wiring(&td(), &lb("web", 8080), &None))
            .contains("The container web did not have a container port 8080 defined."));
        assert!(message(check_wiring(&td(), &lb("", 80), &None))
            .contains("Container Name can not be blank."));
        let registry = Some(vec![ServiceRegistry {
            container_name: Some("db".into()),
            ..Default::default()
        }]);
        assert!(message(check_wiring(&td(), &None, &registry)).contains("The container db"));
    }
}
