//! The names a service's tasks answer to on their cluster's network, as ECS gives them:
//! - Service Connect: each service's client aliases (`dnsName`; by default
//!   `<discoveryName>.<namespace>`), its discovery name (by default its `portName`) and that
//!   name in its namespace, on the container whose port mapping has that `portName`;
//! - service registries (Cloud Map): `<Cloud Map service>.<namespace>`, on the registry's
//!   `containerName`;
//! - the service's own name.
//!
//! A name with no container of its own goes to the container that publishes the task's ports
//! (the first with a port mapping, else the first).

use std::collections::BTreeMap;

use crate::model::{ServiceConnectConfiguration, ServiceRegistry, TaskDefinition};
use crate::ports::runtime::NetworkNames;

/// What the names of a service's task are made of.
#[derive(Clone, Copy)]
pub struct NamesInput<'a> {
    /// The service's name.
    pub service_name: &'a str,
    /// Its Service Connect configuration, when it has one.
    pub service_connect: Option<&'a ServiceConnectConfiguration>,
    /// Its cluster's default Service Connect namespace, when it has one.
    pub cluster_namespace: Option<&'a str>,
    /// Its service registries (Cloud Map).
    pub registries: &'a [ServiceRegistry],
    /// The Cloud Map name (`<service>.<namespace>`) of each registry known, by its ARN.
    pub registry_names: &'a BTreeMap<String, String>,
    /// The task's definition.
    pub definition: &'a TaskDefinition,
}

/// A namespace as names are made of it: its name, or nothing for an ARN (whose name only Cloud
/// Map knows).
fn namespace_name(namespace: &str) -> Option<&str> {
    (!namespace.is_empty() && !namespace.starts_with("arn:")).then_some(namespace)
}

/// The container that publishes the task's ports: the first with a port mapping, else the first.
fn default_container(definition: &TaskDefinition) -> Option<&str> {
    let containers = definition
        .container_definitions
        .as_deref()
        .unwrap_or_default();
    containers
        .iter()
        .find(|c| c.port_mappings.as_ref().is_some_and(|p| !p.is_empty()))
        .or_else(|| containers.first())
        .and_then(|c| c.name.as_deref())
}

/// The container whose port mapping is named `port_name`.
fn container_with_port<'d>(definition: &'d TaskDefinition, port_name: &str) -> Option<&'d str> {
    definition
        .container_definitions
        .iter()
        .flatten()
        .find(|c| {
            c.port_mappings
                .iter()
                .flatten()
                .any(|p| p.name.as_deref() == Some(port_name))
        })
        .and_then(|c| c.name.as_deref())
}

/// The names of a task of the service `input` describes.
pub fn network_names(input: &NamesInput<'_>) -> NetworkNames {
    let mut names = NetworkNames::default();
    let Some(fallback) = default_container(input.definition) else {
        return names;
    };
    names.add(fallback, input.service_name);
    if let Some(config) = input.service_connect.filter(|c| c.enabled == Some(true)) {
        let namespace = config
            .namespace
            .as_deref()
            .or(input.cluster_namespace)
            .and_then(namespace_name);
        for service in config.services.iter().flatten() {
            let Some(port_name) = service.port_name.as_deref() else {
                continue;
            };
            let Some(container) = container_with_port(input.definition, port_name) else {
                continue;
            };
            let discovery = service.discovery_name.as_deref().unwrap_or(port_name);
            let qualified = namespace.map(|ns| format!("{discovery}.{ns}"));
            names.add(container, discovery);
            if let Some(q) = &qualified {
                names.add(container, q);
            }
            for alias in service.client_aliases.iter().flatten() {
                match (alias.dns_name.as_deref(), &qualified) {
                    (Some(dns), _) => names.add(container, dns),
                    (None, Some(q)) => names.add(container, q),
                    (None, None) => {}
                }
            }
        }
    }
    for registry in input.registries {
        let Some(name) = registry
            .registry_arn
            .as_deref()
            .and_then(|arn| input.registry_names.get(arn))
        else {
            continue;
        };
        let container = registry.container_name.as_deref().unwrap_or(fallback);
        names.add(container, name);
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{
        ContainerDefinition, PortMapping, ServiceConnectClientAlias, ServiceConnectService,
    };

    fn definition() -> TaskDefinition {
        let port = |name: &str, port: i32| PortMapping {
            name: Some(name.into()),
            container_port: Some(port),
            ..Default::default()
        };
        TaskDefinition {
            container_definitions: Some(vec![
                ContainerDefinition {
                    name: Some("log".into()),
                    ..Default::default()
                },
                ContainerDefinition {
                    name: Some("api".into()),
                    port_mappings: Some(vec![port("http", 8080)]),
                    ..Default::default()
                },
                ContainerDefinition {
                    name: Some("admin".into()),
                    port_mappings: Some(vec![port("mgmt", 9090)]),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }
    }

    fn connect(services: Vec<ServiceConnectService>) -> ServiceConnectConfiguration {
        ServiceConnectConfiguration {
            enabled: Some(true),
            services: Some(services),
            ..Default::default()
        }
    }

    fn names_of(config: Option<&ServiceConnectConfiguration>, ns: Option<&str>) -> NetworkNames {
        network_names(&NamesInput {
            service_name: "Backend",
            service_connect: config,
            cluster_namespace: ns,
            registries: &[],
            registry_names: &BTreeMap::new(),
            definition: &definition(),
        })
    }

    #[test]
    fn a_service_is_named_on_the_container_that_publishes_its_ports() {
        let names = names_of(None, None);
        assert_eq!(names.of("api"), ["backend"]);
        assert!(names.of("log").is_empty());
    }

    #[test]
    fn service_connect_names_go_to_the_container_of_the_port_name() {
        let config = connect(vec![
            ServiceConnectService {
                port_name: Some("mgmt".into()),
                client_aliases: Some(vec![ServiceConnectClientAlias {
                    port: Some(80),
                    dns_name: Some("Admin.Internal".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            ServiceConnectService {
                port_name: Some("http".into()),
                discovery_name: Some("api-svc".into()),
                client_aliases: Some(vec![ServiceConnectClientAlias {
                    port: Some(8080),
                    ..Default::default()
                }]),
                ..Default::default()
            },
        ]);
        let names = names_of(Some(&config), Some("local"));
        assert_eq!(names.of("admin"), ["mgmt", "mgmt.local", "admin.internal"]);
        assert_eq!(names.of("api"), ["backend", "api-svc", "api-svc.local"]);
        // Without a namespace's name (an ARN), only the names given outright.
        let arn = "arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-1";
        let names = names_of(Some(&config), Some(arn));
        assert_eq!(names.of("api"), ["backend", "api-svc"]);
        // Disabled, or naming no port of the definition: nothing more than the service's name.
        let mut off = config.clone();
        off.enabled = Some(false);
        assert_eq!(names_of(Some(&off), None).all(), ["backend"]);
        let stray = connect(vec![ServiceConnectService {
            port_name: Some("nope".into()),
            ..Default::default()
        }]);
        assert_eq!(names_of(Some(&stray), None).all(), ["backend"]);
    }

    #[test]
    fn a_registry_is_named_by_cloud_map_on_its_container() {
        let registries = [
            ServiceRegistry {
                registry_arn: Some("srv-a".into()),
                container_name: Some("admin".into()),
                ..Default::default()
            },
            ServiceRegistry {
                registry_arn: Some("srv-b".into()),
                ..Default::default()
            },
            ServiceRegistry {
                registry_arn: Some("srv-unknown".into()),
                ..Default::default()
            },
        ];
        let names = network_names(&NamesInput {
            service_name: "backend",
            service_connect: None,
            cluster_namespace: None,
            registries: &registries,
            registry_names: &BTreeMap::from([
                ("srv-a".to_string(), "ops.local".to_string()),
                ("srv-b".to_string(), "backend.local".to_string()),
            ]),
            definition: &definition(),
        });
        assert_eq!(names.of("admin"), ["ops.local"]);
        assert_eq!(names.of("api"), ["backend", "backend.local"]);
        assert_eq!(names.all(), ["backend", "backend.local", "ops.local"]);
    }
}
