//! The checks RunTask's input gets before any task is placed: its overrides against the task
//! definition, and where it may run (launch type or capacity provider, network configuration).

use crate::model::*;
use crate::EcsError;

pub(super) fn check_overrides(
    td: &TaskDefinition,
    overrides: &TaskOverride,
) -> Result<(), EcsError> {
    let names: Vec<&str> = td
        .container_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.name.as_deref())
        .collect();
    for o in overrides.container_overrides.as_deref().unwrap_or_default() {
        let name = o.name.as_deref().unwrap_or_default();
        if !names.contains(&name) {
            return Err(EcsError::invalid(format!(
                "Override for container named {name} is not a container in the TaskDefinition."
            )));
        }
    }
    Ok(())
}

/// Where a RunTask places its tasks: the launch type, or the capacity provider it picked.
pub(super) fn placement(
    input: &RunTaskRequest,
    cluster: &Cluster,
    td: &TaskDefinition,
) -> Result<(Option<LaunchType>, Option<String>), EcsError> {
    if input.propagate_tags == Some(PropagateTags::Service) {
        return Err(EcsError::invalid(
            "propagateTags SERVICE is only valid for tasks a service starts.",
        ));
    }
    if let Some(item) = input
        .capacity_provider_strategy
        .iter()
        .flatten()
        .find(|item| {
            let name = item.capacity_provider.as_deref().unwrap_or_default();
            !cluster
                .capacity_providers
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|p| p == name)
        })
    {
        return Err(EcsError::invalid(format!(
            "The specified capacity provider '{}' is not associated with the cluster.",
            item.capacity_provider.as_deref().unwrap_or_default()
        )));
    }
    if input.launch_type.is_some() && input.capacity_provider_strategy.is_some() {
        return Err(EcsError::invalid(
            "Specifying both a launch type and capacity provider strategy is not supported.",
        ));
    }
    let strategy = input
        .capacity_provider_strategy
        .clone()
        .or_else(|| cluster.default_capacity_provider_strategy.clone())
        .unwrap_or_default();
    let (launch_type, provider) = match (input.launch_type, strategy.first()) {
        (Some(lt), _) => (Some(lt), None),
        (None, Some(item)) => {
            let name = item.capacity_provider.clone().unwrap_or_default();
            let lt = match name.as_str() {
                "FARGATE" | "FARGATE_SPOT" => Some(LaunchType::Fargate),
                _ => None,
            };
            (lt, Some(name))
        }
        (None, None) => (Some(LaunchType::Ec2), None),
    };
    let compatible = |c: Compatibility| {
        td.compatibilities
            .as_deref()
            .unwrap_or_default()
            .contains(&c)
    };
    match launch_type {
        Some(LaunchType::Fargate) if !compatible(Compatibility::Fargate) => {
            return Err(EcsError::invalid(
                "Task definition does not support launch_type FARGATE.",
            ))
        }
        Some(LaunchType::External) if !compatible(Compatibility::External) => {
            return Err(EcsError::invalid(
                "Task definition does not support launch_type EXTERNAL.",
            ))
        }
        _ => {}
    }
    let awsvpc_config = input
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration.as_ref());
    match (td.network_mode == Some(NetworkMode::Awsvpc), awsvpc_config) {
        (true, None) => {
            return Err(EcsError::invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ))
        }
        (false, Some(_)) => return Err(EcsError::invalid(
            "Network Configuration is not valid for the given networkMode of this task definition.",
        )),
        _ => {}
    }
    Ok((launch_type, provider))
}
