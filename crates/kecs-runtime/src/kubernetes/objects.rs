//! The objects KECS keeps on the cluster beside pods: a namespace per ECS cluster, a Service per
//! ECS service with port mappings (so its tasks are reachable by name), and an image pull
//! secret per task with `repositoryCredentials`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kecs_domain::model::{TaskDefinition, TransportProtocol};
use kecs_domain::ports::runtime::{NetworkNames, RegistryAuth, RuntimeError};
use kube::api::{Api, DeleteParams, ListParams, PostParams};

use super::names::{
    dns_label, namespace, ANNOTATION_CLUSTER_ARN, LABEL_CLUSTER, LABEL_INSTANCE, LABEL_SERVICE,
    LABEL_TASK_ID,
};
use super::{failed, is_code, KubernetesRuntime};

/// The name of the image pull secret of the pod `pod_name`.
pub(super) fn pull_secret_name(pod_name: &str) -> String {
    format!("{pod_name}-registry")
}

impl KubernetesRuntime {
    /// The image pull secret (`kubernetes.io/dockerconfigjson`) holding a task's
    /// `repositoryCredentials`, by registry; returns its name.
    pub(super) async fn create_pull_secret(
        &self,
        ns: &str,
        pod_name: &str,
        auths: &[(String, RegistryAuth)],
    ) -> Result<String, RuntimeError> {
        let name = pull_secret_name(pod_name);
        let config: serde_json::Map<String, serde_json::Value> = auths
            .iter()
            .map(|(registry, a)| {
                let entry = serde_json::json!({"username": a.username, "password": a.password});
                (registry.clone(), entry)
            })
            .collect();
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([
                    (LABEL_INSTANCE.to_string(), self.instance.clone()),
                    (LABEL_TASK_ID.to_string(), pod_name.to_string()),
                ])),
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/dockerconfigjson".into()),
            string_data: Some(BTreeMap::from([(
                ".dockerconfigjson".to_string(),
                serde_json::json!({ "auths": config }).to_string(),
            )])),
            ..Secret::default()
        };
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        match api.create(&PostParams::default(), &secret).await {
            Ok(_) => Ok(name),
            Err(e) if is_code(&e, 409) => Ok(name),
            Err(e) => Err(failed(format_args!("creating secret {ns}/{name}"), e)),
        }
    }

    /// Deletes a task's image pull secret, if it has one.
    pub(super) async fn delete_pull_secret(
        &self,
        ns: &str,
        pod_name: &str,
    ) -> Result<(), RuntimeError> {
        let name = pull_secret_name(pod_name);
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, 404) => Ok(()),
            Err(e) => Err(failed(format_args!("deleting secret {ns}/{name}"), e)),
        }
    }

    pub(super) async fn ensure_namespace(&self, cluster_arn: &str) -> Result<String, RuntimeError> {
        let name = namespace(cluster_arn);
        let api: Api<Namespace> = Api::all(self.client.clone());
        if api
            .get_opt(&name)
            .await
            .map_err(|e| failed(format_args!("reading namespace {name}"), e))?
            .is_some()
        {
            return Ok(name);
        }
        let cluster = cluster_arn.rsplit('/').next().unwrap_or_default();
        let ns = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(BTreeMap::from([(
                    LABEL_CLUSTER.to_string(),
                    dns_label(cluster, 63),
                )])),
                annotations: Some(BTreeMap::from([(
                    ANNOTATION_CLUSTER_ARN.to_string(),
                    cluster_arn.to_string(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => Ok(name),
            Err(e) if is_code(&e, 409) => Ok(name),
            Err(e) => Err(failed(format_args!("creating namespace {name}"), e)),
        }
    }

    /// The Kubernetes Service `object` (by default named after it) of the ECS service
    /// `service` whose tasks have port mappings: its pods on their ports. A task's other names
    /// (Service Connect aliases, Cloud Map) are Services of their own, labelled with the ECS
    /// service's.
    pub(super) async fn ensure_service(
        &self,
        ns: &str,
        service: &str,
        object: Option<&str>,
        td: &TaskDefinition,
    ) -> Result<(), RuntimeError> {
        let mut ports: Vec<ServicePort> = vec![];
        for p in td
            .container_definitions
            .iter()
            .flatten()
            .flat_map(|d| d.port_mappings.iter().flatten())
        {
            let Some(port) = p.container_port else {
                continue;
            };
            let protocol = match p.protocol {
                Some(TransportProtocol::Udp) => "UDP",
                _ => "TCP",
            };
            if ports
                .iter()
                .any(|s| s.port == port && s.protocol.as_deref() == Some(protocol))
            {
                continue;
            }
            ports.push(ServicePort {
                name: Some(format!("{}-{port}", protocol.to_lowercase())),
                port,
                target_port: Some(IntOrString::Int(port)),
                protocol: Some(protocol.into()),
                ..ServicePort::default()
            });
        }
        if ports.is_empty() {
            return Ok(());
        }
        let label = dns_label(service, 63);
        let name = object.map_or_else(|| label.clone(), str::to_string);
        let selector = BTreeMap::from([
            (LABEL_INSTANCE.to_string(), self.instance.clone()),
            (LABEL_SERVICE.to_string(), label),
        ]);
        let object = Service {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some(selector.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(ServiceSpec {
                selector: Some(selector),
                ports: Some(ports),
                ..ServiceSpec::default()
            }),
            ..Service::default()
        };
        let api: Api<Service> = Api::namespaced(self.client.clone(), ns);
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => Ok(()),
            Err(e) if is_code(&e, 409) => Ok(()),
            Err(e) => Err(failed(format_args!("creating service {ns}/{name}"), e)),
        }
    }

    /// The Services of a task's other names (`names`) besides its ECS service's own: a name
    /// that is a DNS label is a Service's name; a dotted one cannot be.
    pub(super) async fn ensure_aliases(
        &self,
        ns: &str,
        service: &str,
        td: &TaskDefinition,
        names: &NetworkNames,
    ) -> Result<(), RuntimeError> {
        for alias in names.all() {
            if dns_label(&alias, 63) == alias && alias != dns_label(service, 63) {
                self.ensure_service(ns, service, Some(&alias), td).await?;
            }
        }
        Ok(())
    }

    /// Deletes the Services of the ECS service labelled `label`: its own and its names'.
    pub(super) async fn remove_services(&self, ns: &str, label: &str) -> Result<(), RuntimeError> {
        let api: Api<Service> = Api::namespaced(self.client.clone(), ns);
        let selector = format!("{LABEL_SERVICE}={label}");
        let listed = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| failed(format_args!("listing services of {ns}"), e))?;
        let mut names: Vec<String> = listed
            .items
            .into_iter()
            .filter(|s| {
                let labels = s.metadata.labels.as_ref();
                labels
                    .and_then(|l| l.get(LABEL_SERVICE))
                    .map(String::as_str)
                    == Some(label)
            })
            .filter_map(|s| s.metadata.name)
            .collect();
        if !names.iter().any(|n| n == label) {
            names.push(label.to_string());
        }
        for name in names {
            match api.delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if is_code(&e, 404) => {}
                Err(e) => return Err(failed(format_args!("deleting service {ns}/{name}"), e)),
            }
        }
        Ok(())
    }
}
