//! The in-memory state every read is answered from, and the mutations that change it. Each
//! mutation becomes one [`Change`] for the store, so memory and store never disagree on order.

mod counts;
mod daemons;
mod families;
mod holds;
mod load;
mod packed;
mod records;
mod summary;
mod table;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::logs::LogGroup;
use crate::model::{
    Attribute, CapacityProvider, Cluster, ContainerInstance, DaemonTaskDefinition,
    ServiceDeployment, ServiceRevision, Setting, Tag, Task, TaskDefinition,
};
use crate::ports::store::{Change, Index, Kind};
use crate::status::{ClusterStatus, HasStatus};
use crate::EcsError;

pub use counts::{ClusterCounts, Counts};
pub use daemons::StoredDaemon;
pub use families::Families;
use holds::{delete, put};
pub use packed::{PackError, Packed};
pub use records::{StoredService, StoredTask};
pub use summary::{token_hash, ServiceSummary, TaskSummary};
pub use table::{Row, Table};

/// A custom attribute and the cluster it was put in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterAttribute {
    /// The ARN of the cluster.
    pub cluster: String,
    /// The attribute.
    pub attribute: Attribute,
}

/// Everything KECS knows, keyed as in the store.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// Clusters by ARN.
    pub clusters: BTreeMap<String, Cluster>,
    /// Task definition revisions by ARN.
    pub task_definitions: BTreeMap<String, TaskDefinition>,
    /// Tags by resource ARN.
    pub tags: BTreeMap<String, Vec<Tag>>,
    /// Capacity providers by ARN.
    pub capacity_providers: BTreeMap<String, CapacityProvider>,
    /// Account settings by `region|principal|name`.
    pub account_settings: BTreeMap<String, Setting>,
    /// Attributes by `cluster|targetType|targetId|name`.
    pub attributes: BTreeMap<String, ClusterAttribute>,
    /// Tasks by ARN (`.../task/<cluster>/<id>`, so one cluster's tasks are one range), packed:
    /// they are most of what KECS holds.
    pub tasks: Table<StoredTask>,
    /// Services by ARN (`.../service/<cluster>/<name>`), packed.
    pub services: Table<StoredService>,
    /// Service deployments by ARN (`.../service-deployment/<cluster>/<service>/<id>`), packed.
    pub service_deployments: Table<ServiceDeployment>,
    /// Service revisions by ARN (`.../service-revision/<cluster>/<service>/<id>`), packed.
    pub service_revisions: Table<ServiceRevision>,
    /// Container instances by ARN (`.../container-instance/<cluster>/<id>`).
    pub container_instances: BTreeMap<String, ContainerInstance>,
    /// CloudWatch Logs log groups by ARN (`arn:aws:logs:<region>:<account>:log-group:<name>`).
    pub log_groups: BTreeMap<String, LogGroup>,
    /// Daemon task definition revisions by ARN (`.../daemon-task-definition/<family>:<n>`).
    pub daemon_task_definitions: BTreeMap<String, DaemonTaskDefinition>,
    /// Derived (not stored): each daemon task definition as the task definition its tasks
    /// launch with, by the same ARN.
    pub daemon_launch_definitions: BTreeMap<String, TaskDefinition>,
    /// Daemons by ARN (`.../daemon/<cluster>/<name>`), with their revisions and deployments.
    pub daemons: BTreeMap<String, StoredDaemon>,
    /// Derived index (not stored): the ARNs of each service's tasks, so that a scheduler pass
    /// reads its own tasks rather than its whole cluster's.
    pub service_tasks: BTreeMap<String, BTreeSet<String>>,
    /// Derived index (not stored): each family's last revision number and ACTIVE revisions.
    pub families: Families,
    /// Derived (not stored): each cluster's task and service counts.
    pub counts: Counts,
    /// When each INACTIVE cluster was deleted (epoch seconds; stored as its record's time
    /// column), so that it is forgotten a while later, as ECS forgets deleted clusters.
    pub retired_clusters: BTreeMap<String, f64>,
}

/// The ARN of the service that started `task` (its group is `service:<name>`), if any.
pub fn service_of(task: &Task) -> Option<String> {
    service_in(task.cluster_arn.as_deref()?, task.group.as_deref()?)
}

/// The ARN of the service of `cluster_arn` a task's `group` names (`service:<name>`), if any.
pub(crate) fn service_in(cluster_arn: &str, group: &str) -> Option<String> {
    let name = group.strip_prefix("service:")?;
    Some(crate::arn::in_cluster(cluster_arn, "service", name))
}

/// One change to the state. Short-lived (built and applied within one write), so the size
/// difference between variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Insert or replace a cluster.
    PutCluster(Cluster),
    /// Record a cluster INACTIVE, deleted at the given time (epoch seconds).
    RetireCluster(Cluster, f64),
    /// Forget an INACTIVE cluster (past its retention).
    DeleteCluster(String),
    /// Insert or replace a task definition revision.
    PutTaskDefinition(TaskDefinition),
    /// Set a resource's tags (empty removes them).
    PutTags(String, Vec<Tag>),
    /// Insert or replace a capacity provider.
    PutCapacityProvider(CapacityProvider),
    /// Set an account setting under its key.
    PutSetting(String, Setting),
    /// Remove an account setting.
    DeleteSetting(String),
    /// Put an attribute under its key.
    PutAttribute(String, ClusterAttribute),
    /// Remove an attribute.
    DeleteAttribute(String),
    /// Insert or replace a task.
    PutTask(StoredTask),
    /// Insert or replace a service.
    PutService(StoredService),
    /// Insert or replace a service deployment.
    PutServiceDeployment(ServiceDeployment),
    /// Insert a service revision.
    PutServiceRevision(ServiceRevision),
    /// Remove a service deployment.
    DeleteServiceDeployment(String),
    /// Remove a service revision.
    DeleteServiceRevision(String),
    /// Insert or replace a container instance.
    PutContainerInstance(ContainerInstance),
    /// Forget a container instance (its cluster is forgotten).
    DeleteContainerInstance(String),
    /// Insert or replace a log group.
    PutLogGroup(LogGroup),
    /// Remove a log group.
    DeleteLogGroup(String),
    /// Insert or replace a daemon task definition revision.
    PutDaemonTaskDefinition(DaemonTaskDefinition),
    /// Insert or replace a daemon.
    PutDaemon(StoredDaemon),
    /// Forget a daemon (deleted, its tasks stopped).
    DeleteDaemon(String),
    /// Forget a task (a stopped one past its retention).
    DeleteTask(String),
    /// Wipe everything.
    Reset,
}

/// The entries of `map` whose key starts with `prefix`, in key order: ARN keys put one region's,
/// one cluster's or one family's resources in one range.
pub fn prefixed<'a, T>(
    map: &'a BTreeMap<String, T>,
    prefix: String,
) -> impl Iterator<Item = (&'a String, &'a T)> + 'a {
    map.range(prefix.clone()..)
        .take_while(move |(k, _)| k.starts_with(&prefix))
}

impl State {
    /// Whether `m` would change nothing: no tags put on a resource that has none (every new
    /// task untagged: a delete per RunTask the journal and DuckDB would have to carry).
    pub fn changes_nothing(&self, m: &Mutation) -> bool {
        matches!(m, Mutation::PutTags(arn, tags) if tags.is_empty() && !self.tags.contains_key(arn))
    }

    /// Applies one mutation and returns the store change that records it.
    pub fn apply(&mut self, m: Mutation) -> Result<Change, EcsError> {
        match m {
            Mutation::PutCluster(c) => {
                let key = c.cluster_arn.clone().unwrap_or_default();
                self.retired_clusters.remove(&key);
                let index = Index {
                    status: c.status.clone(),
                    ..Index::default()
                };
                put(&mut self.clusters, Kind::Cluster, key, c, index)
            }
            Mutation::RetireCluster(mut c, at) => {
                let key = c.cluster_arn.clone().unwrap_or_default();
                c.set_status(ClusterStatus::Inactive);
                self.retired_clusters.insert(key.clone(), at);
                let index = Index {
                    status: c.status.clone(),
                    created_at: Some(at),
                    ..Index::default()
                };
                put(&mut self.clusters, Kind::Cluster, key, c, index)
            }
            Mutation::DeleteCluster(key) => {
                self.retired_clusters.remove(&key);
                Ok(delete(&mut self.clusters, Kind::Cluster, key))
            }
            Mutation::PutTaskDefinition(td) => {
                self.families.note(&td);
                let key = td.task_definition_arn.clone().unwrap_or_default();
                let index = Index {
                    family: td.family.clone(),
                    revision: td.revision.map(i64::from),
                    status: td.status.map(|s| s.as_str().to_string()),
                    created_at: td.registered_at,
                    ..Index::default()
                };
                put(
                    &mut self.task_definitions,
                    Kind::TaskDefinition,
                    key,
                    td,
                    index,
                )
            }
            Mutation::PutTags(arn, tags) if tags.is_empty() => {
                Ok(delete(&mut self.tags, Kind::Tags, arn))
            }
            Mutation::PutTags(arn, tags) => {
                put(&mut self.tags, Kind::Tags, arn, tags, Index::default())
            }
            Mutation::PutCapacityProvider(cp) => {
                let key = cp.capacity_provider_arn.clone().unwrap_or_default();
                let index = Index {
                    status: cp.status.map(|s| s.as_str().to_string()),
                    ..Index::default()
                };
                put(
                    &mut self.capacity_providers,
                    Kind::CapacityProvider,
                    key,
                    cp,
                    index,
                )
            }
            Mutation::PutSetting(key, s) => put(
                &mut self.account_settings,
                Kind::AccountSetting,
                key,
                s,
                Index::default(),
            ),
            Mutation::DeleteSetting(key) => Ok(delete(
                &mut self.account_settings,
                Kind::AccountSetting,
                key,
            )),
            Mutation::PutAttribute(key, a) => {
                let index = Index {
                    cluster: Some(a.cluster.clone()),
                    ..Index::default()
                };
                put(&mut self.attributes, Kind::Attribute, key, a, index)
            }
            Mutation::DeleteAttribute(key) => {
                Ok(delete(&mut self.attributes, Kind::Attribute, key))
            }
            Mutation::PutTask(mut t) => {
                // Its tags live in `tags`: a document without them can be spliced.
                t.task.tags = None;
                let key = t.task.task_arn.clone().unwrap_or_default();
                let group = t.task.group.as_deref().unwrap_or_default();
                let index = Index {
                    cluster: t.task.cluster_arn.clone(),
                    family: crate::arn::family_of(t.task.task_definition_arn.as_deref()),
                    status: t.task.last_status.clone(),
                    service: group.strip_prefix("service:").map(str::to_string),
                    started_by: t.task.started_by.clone(),
                    created_at: t.task.created_at,
                    ..Index::default()
                };
                if let Some(service) = service_of(&t.task) {
                    self.service_tasks
                        .entry(service)
                        .or_default()
                        .insert(key.clone());
                }
                self.counting_task(&key.clone(), |s| {
                    put(&mut s.tasks, Kind::Task, key, t, index)
                })
            }
            Mutation::DeleteTask(arn) => {
                let service = self.tasks.summary(&arn).and_then(|t| t.service_arn(&arn));
                if let Some(tasks) = service.and_then(|s| self.service_tasks.get_mut(&s)) {
                    tasks.remove(&arn);
                }
                self.counting_task(&arn.clone(), |s| Ok(delete(&mut s.tasks, Kind::Task, arn)))
            }
            Mutation::PutService(mut svc) => {
                svc.service.tags = None;
                let key = svc.service.service_arn.clone().unwrap_or_default();
                let index = Index {
                    cluster: svc.service.cluster_arn.clone(),
                    status: svc.service.status.clone(),
                    service: svc.service.service_name.clone(),
                    created_at: svc.service.created_at,
                    ..Index::default()
                };
                self.counting_service(&key.clone(), |s| {
                    put(&mut s.services, Kind::Service, key, svc, index)
                })
            }
            Mutation::PutServiceDeployment(d) => {
                let key = d.service_deployment_arn.clone().unwrap_or_default();
                let index = Index {
                    cluster: d.cluster_arn.clone(),
                    status: d.status.map(|s| s.as_str().to_string()),
                    created_at: d.created_at,
                    ..Index::default()
                };
                put(
                    &mut self.service_deployments,
                    Kind::ServiceDeployment,
                    key,
                    d,
                    index,
                )
            }
            Mutation::PutServiceRevision(r) => {
                let key = r.service_revision_arn.clone().unwrap_or_default();
                let index = Index {
                    cluster: r.cluster_arn.clone(),
                    created_at: r.created_at,
                    ..Index::default()
                };
                put(
                    &mut self.service_revisions,
                    Kind::ServiceRevision,
                    key,
                    r,
                    index,
                )
            }
            Mutation::DeleteServiceDeployment(key) => Ok(delete(
                &mut self.service_deployments,
                Kind::ServiceDeployment,
                key,
            )),
            Mutation::DeleteServiceRevision(key) => Ok(delete(
                &mut self.service_revisions,
                Kind::ServiceRevision,
                key,
            )),
            Mutation::PutContainerInstance(i) => {
                let key = i.container_instance_arn.clone().unwrap_or_default();
                let index = Index {
                    status: i.status.clone(),
                    created_at: i.registered_at,
                    ..Index::default()
                };
                put(
                    &mut self.container_instances,
                    Kind::ContainerInstance,
                    key,
                    i,
                    index,
                )
            }
            Mutation::DeleteContainerInstance(key) => Ok(delete(
                &mut self.container_instances,
                Kind::ContainerInstance,
                key,
            )),
            Mutation::PutLogGroup(g) => {
                let key = g.log_group_arn.clone().unwrap_or_default();
                put(
                    &mut self.log_groups,
                    Kind::LogGroup,
                    key,
                    g,
                    Index::default(),
                )
            }
            Mutation::DeleteLogGroup(key) => Ok(delete(&mut self.log_groups, Kind::LogGroup, key)),
            Mutation::PutDaemonTaskDefinition(td) => self.put_daemon_task_definition(td),
            Mutation::PutDaemon(d) => self.put_daemon(d),
            Mutation::DeleteDaemon(key) => Ok(self.delete_daemon(key)),
            Mutation::Reset => {
                *self = State::default();
                Ok(Change::Truncate)
            }
        }
    }

    /// The tags of a resource (empty when it has none).
    pub fn tags_of(&self, arn: &str) -> Vec<Tag> {
        self.tags.get(arn).cloned().unwrap_or_default()
    }
}

/// The service whose task a mutation changes, if it is a service's task.
pub(crate) fn service_of_task_change(m: &Mutation) -> Option<String> {
    let Mutation::PutTask(t) = m else { return None };
    service_of(&t.task)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, group: &str) -> StoredTask {
        StoredTask {
            task: Task {
                task_arn: Some(format!("arn:aws:ecs:us-east-1:1:task/c/{id}")),
                cluster_arn: Some("arn:aws:ecs:us-east-1:1:cluster/c".into()),
                group: Some(group.into()),
                ..Task::default()
            },
            client_token: None,
            protected_until: None,
        }
    }

    #[test]
    fn service_tasks_are_indexed_when_applied_and_when_loaded() {
        let mut s = State::default();
        let mut records = vec![];
        for t in [
            task("a", "service:web"),
            task("b", "family:x"),
            task("c", "service:web"),
        ] {
            if let Change::Put(r) = s.apply(Mutation::PutTask(t)).unwrap() {
                records.push(r);
            }
        }
        let web = "arn:aws:ecs:us-east-1:1:service/c/web";
        let expected: Vec<&str> = vec![
            "arn:aws:ecs:us-east-1:1:task/c/a",
            "arn:aws:ecs:us-east-1:1:task/c/c",
        ];
        let indexed = |s: &State| -> Vec<String> { s.service_tasks[web].iter().cloned().collect() };
        assert_eq!(indexed(&s), expected);
        assert_eq!(s.service_tasks.len(), 1);
        // Loaded in two batches, as a store hands them over.
        let mut loaded = State::default();
        let second = records.split_off(records.len() / 2);
        loaded.load(records).unwrap();
        loaded.load(second).unwrap();
        loaded.index_service_tasks();
        assert_eq!(indexed(&loaded), expected);
        s.apply(Mutation::Reset).unwrap();
        assert!(s.service_tasks.is_empty());
    }
}
