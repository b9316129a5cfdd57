//! Daemons and daemon task definitions in the state. A daemon keeps its revisions and
//! deployments in its own record (a few per update, read by the daemon's ARN); a daemon task
//! definition is also kept as the task definition its tasks launch with, so that the launcher,
//! the task endpoints and the logs find it as they find any task's definition.

use serde::{Deserialize, Serialize};

use super::holds::{delete, load_into, put};
use super::{Mutation, State};
use crate::model::{
    DaemonDeployment, DaemonDeploymentConfiguration, DaemonRevision, DaemonStatus,
    DaemonTaskDefinition, TaskDefinition,
};
use crate::ports::store::{Change, Index, Kind, Record, StoreError};
use crate::rules::daemon::launch_definition;
use crate::EcsError;

/// A daemon: what DescribeDaemon shows, its settings, its revisions and its deployments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredDaemon {
    /// `arn:...:daemon/<cluster>/<name>`.
    pub daemon_arn: String,
    /// The cluster it runs in.
    pub cluster_arn: String,
    /// Its name.
    pub daemon_name: String,
    /// ACTIVE, or DELETE_IN_PROGRESS until its last task stopped.
    pub status: DaemonStatus,
    /// Epoch seconds.
    pub created_at: f64,
    /// Epoch seconds of the last update.
    pub updated_at: f64,
    /// The capacity providers whose container instances run it.
    pub capacity_provider_arns: Vec<String>,
    /// How its deployments roll (drainPercent defaulted).
    pub deployment_configuration: DaemonDeploymentConfiguration,
    /// Its revisions, oldest first; the last is the one it deploys.
    pub revisions: Vec<DaemonRevision>,
    /// Its deployments, oldest first; the last is the current one.
    pub deployments: Vec<DaemonDeployment>,
    /// The `clientToken` of the CreateDaemon call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

impl StoredDaemon {
    /// The revision it deploys.
    pub fn target(&self) -> Option<&DaemonRevision> {
        self.revisions.last()
    }

    /// Its current deployment.
    pub fn deployment(&self) -> Option<&DaemonDeployment> {
        self.deployments.last()
    }
}

impl State {
    /// The daemons whose scheduler must look again after `m`: a daemon task's, or every
    /// daemon of the cluster whose container instance changed.
    pub(crate) fn daemons_touched(&self, m: &Mutation) -> Vec<String> {
        match m {
            Mutation::PutTask(t) => {
                let (Some(cluster), Some(name)) = (
                    t.task.cluster_arn.as_deref(),
                    t.task
                        .group
                        .as_deref()
                        .and_then(|g| g.strip_prefix("daemon:")),
                ) else {
                    return vec![];
                };
                vec![crate::arn::in_cluster(cluster, "daemon", name)]
            }
            Mutation::PutContainerInstance(i) => {
                let Some((cluster, _)) = i
                    .container_instance_arn
                    .as_deref()
                    .and_then(crate::arn::split_in_cluster)
                else {
                    return vec![];
                };
                let prefix = crate::arn::in_cluster(&cluster, "daemon", "");
                super::prefixed(&self.daemons, prefix)
                    .map(|(arn, _)| arn.clone())
                    .collect()
            }
            _ => vec![],
        }
    }

    /// The task definition a task launches with: a task definition, or the launch form of a
    /// daemon task definition.
    pub fn task_definition(&self, arn: &str) -> Option<&TaskDefinition> {
        self.task_definitions
            .get(arn)
            .or_else(|| self.daemon_launch_definitions.get(arn))
    }

    pub(super) fn load_daemon_record(&mut self, r: Record) -> Result<(), StoreError> {
        match r.kind {
            Kind::DaemonTaskDefinition => {
                let key = r.key.clone();
                load_into(&mut self.daemon_task_definitions, r)?;
                if let Some(td) = self.daemon_task_definitions.get(&key) {
                    self.note_launch_definition(td.clone());
                }
                Ok(())
            }
            _ => load_into(&mut self.daemons, r),
        }
    }

    fn note_launch_definition(&mut self, td: DaemonTaskDefinition) {
        let key = td.daemon_task_definition_arn.clone().unwrap_or_default();
        match launch_definition(&td) {
            Some(launch) => {
                self.daemon_launch_definitions.insert(key, launch);
            }
            None => tracing::warn!(arn = %key, "a daemon task definition has no launch form"),
        }
    }

    pub(super) fn put_daemon_task_definition(
        &mut self,
        td: DaemonTaskDefinition,
    ) -> Result<Change, EcsError> {
        let key = td.daemon_task_definition_arn.clone().unwrap_or_default();
        self.note_launch_definition(td.clone());
        let index = Index {
            family: td.family.clone(),
            revision: td.revision.map(i64::from),
            status: td.status.map(|s| s.as_str().to_string()),
            created_at: td.registered_at,
            ..Index::default()
        };
        put(
            &mut self.daemon_task_definitions,
            Kind::DaemonTaskDefinition,
            key,
            td,
            index,
        )
    }

    pub(super) fn put_daemon(&mut self, d: StoredDaemon) -> Result<Change, EcsError> {
        let key = d.daemon_arn.clone();
        let index = Index {
            cluster: Some(d.cluster_arn.clone()),
            status: Some(d.status.as_str().to_string()),
            created_at: Some(d.created_at),
            ..Index::default()
        };
        put(&mut self.daemons, Kind::Daemon, key, d, index)
    }

    pub(super) fn delete_daemon(&mut self, key: String) -> Change {
        delete(&mut self.daemons, Kind::Daemon, key)
    }
}
