//! The names a service's task answers to on its cluster's network (`rules::network_names`),
//! from its service and cluster as the state holds them when the task launches.

use crate::model::{Task, TaskDefinition};
use crate::ports::runtime::NetworkNames;
use crate::rules::network_names::{network_names, NamesInput};
use crate::state::{service_of, State};

/// The names of `task` (launched with `td`); none for a task that is not a service's.
pub(crate) fn of(state: &State, task: &Task, td: &TaskDefinition) -> NetworkNames {
    let Some(stored) = service_of(task).and_then(|arn| state.services.get(&arn)) else {
        return NetworkNames::default();
    };
    let cluster_namespace = task
        .cluster_arn
        .as_deref()
        .and_then(|arn| state.clusters.get(arn))
        .and_then(|c| c.service_connect_defaults.as_ref()?.namespace.clone());
    let service_connect = stored.service_connect.as_ref();
    // Without Cloud Map, a registry's service is taken to be named after the ECS service, in
    // the service's Service Connect namespace or its cluster's default one.
    let namespace = service_connect
        .filter(|c| c.enabled == Some(true))
        .and_then(|c| c.namespace.clone())
        .or_else(|| cluster_namespace.clone())
        .filter(|ns| !ns.starts_with("arn:"));
    let service_name = stored.service.service_name.clone().unwrap_or_default();
    let registry_name = match &namespace {
        Some(ns) => format!("{service_name}.{ns}"),
        None => service_name.clone(),
    };
    let registries = stored
        .service
        .service_registries
        .as_deref()
        .unwrap_or_default();
    let registry_names = registries
        .iter()
        .filter_map(|r| Some((r.registry_arn.clone()?, registry_name.clone())))
        .collect();
    network_names(&NamesInput {
        service_name: &service_name,
        service_connect,
        cluster_namespace: cluster_namespace.as_deref(),
        registries,
        registry_names: &registry_names,
        definition: td,
    })
}
