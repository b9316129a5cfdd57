//! A daemon's parts as the state holds them, shared by the daemon operations and the daemon
//! scheduler: the daemon an ARN names, its container instances (by capacity provider), its
//! tasks, and its running counts per revision.
//!
//! A daemon task is a task of the daemon's cluster whose group is `daemon:<name>` and whose
//! `startedBy` is the ID of the daemon revision it was started for.

use std::collections::BTreeMap;

use crate::arn;
use crate::model::*;
use crate::rules::daemon::{DaemonTask, Host};
use crate::state::{prefixed, State, StoredDaemon};
use crate::status::TaskStatus;
use crate::EcsError;

/// The group of a daemon's tasks.
pub(crate) fn group(daemon_name: &str) -> String {
    format!("daemon:{daemon_name}")
}

/// The ID (last part) of a daemon revision ARN: what its tasks' `startedBy` says.
pub(crate) fn revision_id(revision_arn: &str) -> &str {
    revision_arn.rsplit('/').next().unwrap_or(revision_arn)
}

/// The daemon `daemon_arn` names, or DaemonNotFoundException.
pub(crate) fn find<'s>(state: &'s State, daemon_arn: &str) -> Result<&'s StoredDaemon, EcsError> {
    state
        .daemons
        .get(daemon_arn)
        .ok_or(EcsError::DaemonNotFound)
}

/// The daemon's container instances that are registered (ACTIVE, or DRAINING), each with the
/// capacity provider it counts under: its own when it names one of the daemon's, else the
/// daemon's first (KECS's instances belong to no Auto Scaling group or managed pool).
pub(crate) fn hosts(state: &State, daemon: &StoredDaemon) -> Vec<(Host, String)> {
    let names: Vec<&str> = daemon
        .capacity_provider_arns
        .iter()
        .map(|a| a.rsplit('/').next().unwrap_or(a))
        .collect();
    let first = daemon.capacity_provider_arns.first().cloned();
    let prefix = arn::in_cluster(&daemon.cluster_arn, "container-instance", "");
    prefixed(&state.container_instances, prefix)
        .filter_map(|(key, i)| {
            let status = i.status.as_deref();
            if !matches!(status, Some("ACTIVE" | "DRAINING")) {
                return None;
            }
            let provider = match i.capacity_provider_name.as_deref() {
                Some(own) => {
                    let at = names.iter().position(|n| *n == own)?;
                    daemon.capacity_provider_arns.get(at).cloned()
                }
                None => first.clone(),
            }?;
            let host = Host {
                arn: key.clone(),
                active: status == Some("ACTIVE"),
            };
            Some((host, provider))
        })
        .collect()
}

/// The daemon's tasks that have not stopped, with the ARN of the revision each runs.
pub(crate) fn tasks(state: &State, daemon: &StoredDaemon) -> Vec<DaemonTask> {
    let group = group(&daemon.daemon_name);
    let revision_of = |id: &str| {
        daemon
            .revisions
            .iter()
            .filter_map(|r| r.daemon_revision_arn.as_deref())
            .find(|r| revision_id(r) == id)
            .unwrap_or_default()
            .to_string()
    };
    state
        .tasks
        .prefixed(arn::in_cluster(&daemon.cluster_arn, "task", ""))
        .filter(|(_, t)| t.group.as_deref() == Some(group.as_str()))
        .filter(|(_, t)| !t.last_is(TaskStatus::Stopped))
        .map(|(task_arn, t)| DaemonTask {
            arn: task_arn.clone(),
            instance: t
                .container_instance_arn
                .as_deref()
                .unwrap_or_default()
                .into(),
            revision: revision_of(t.started_by.as_deref().unwrap_or_default()),
            running: t.last_is(TaskStatus::Running),
            stopping: t.desired_status == Some(TaskStatus::Stopped),
        })
        .collect()
}

/// A daemon's container instances and tasks, read from the state once for what is counted
/// from them.
pub(crate) struct Seen {
    /// Its instances, each with the capacity provider it counts under ([`hosts`]).
    pub(crate) hosts: Vec<(Host, String)>,
    /// Its tasks not stopped ([`tasks`]).
    pub(crate) tasks: Vec<DaemonTask>,
}

impl Seen {
    pub(crate) fn of(state: &State, daemon: &StoredDaemon) -> Self {
        Self {
            hosts: hosts(state, daemon),
            tasks: tasks(state, daemon),
        }
    }

    /// The capacity provider the instance `instance` counts under.
    fn provider(&self, instance: &str) -> Option<&str> {
        self.hosts
            .iter()
            .find(|(h, _)| h.arn == instance)
            .map(|(_, p)| p.as_str())
    }

    /// Running tasks by revision ARN, then by capacity provider ARN.
    fn running_counts(&self) -> BTreeMap<&str, BTreeMap<&str, i32>> {
        let mut counts: BTreeMap<&str, BTreeMap<&str, i32>> = BTreeMap::new();
        for t in self.tasks.iter().filter(|t| t.running) {
            let provider = self.provider(&t.instance).unwrap_or_default();
            *counts
                .entry(t.revision.as_str())
                .or_default()
                .entry(provider)
                .or_default() += 1;
        }
        counts
    }
}

/// DescribeDaemon's view: the revisions that run tasks (and the target, even with none).
pub(crate) fn detail(state: &State, daemon: &StoredDaemon) -> DaemonDetail {
    let seen = Seen::of(state, daemon);
    let counts = seen.running_counts();
    let target = daemon.target().and_then(|r| r.daemon_revision_arn.clone());
    let current = daemon
        .revisions
        .iter()
        .filter_map(|r| r.daemon_revision_arn.clone())
        .filter(|r| counts.contains_key(r.as_str()) || Some(r) == target.as_ref())
        .map(|r| {
            let per_provider = counts.get(r.as_str()).cloned().unwrap_or_default();
            let providers: Vec<DaemonCapacityProvider> = daemon
                .capacity_provider_arns
                .iter()
                .map(|p| DaemonCapacityProvider {
                    arn: Some(p.clone()),
                    running_count: Some(per_provider.get(p.as_str()).copied().unwrap_or(0)),
                })
                .collect();
            DaemonRevisionDetail {
                total_running_count: Some(per_provider.values().sum()),
                capacity_providers: Some(providers),
                arn: Some(r),
            }
        })
        .collect();
    DaemonDetail {
        daemon_arn: Some(daemon.daemon_arn.clone()),
        cluster_arn: Some(daemon.cluster_arn.clone()),
        status: Some(daemon.status),
        current_revisions: Some(current),
        deployment_arn: daemon
            .deployment()
            .and_then(|d| d.daemon_deployment_arn.clone()),
        created_at: Some(daemon.created_at),
        updated_at: Some(daemon.updated_at),
    }
}

/// A revision's instance counts as a deployment reports them: instances running it, and
/// instances still running an older revision (being replaced), per capacity provider.
pub(crate) fn deployment_counts(
    daemon: &StoredDaemon,
    seen: &Seen,
    revision_arn: &str,
) -> DaemonDeploymentRevisionDetail {
    let mut per: BTreeMap<&str, (i32, i32)> = daemon
        .capacity_provider_arns
        .iter()
        .map(|p| (p.as_str(), (0, 0)))
        .collect();
    for t in seen.tasks.iter().filter(|t| !t.stopping) {
        let Some(entry) = seen.provider(&t.instance).and_then(|p| per.get_mut(p)) else {
            continue;
        };
        if t.revision == revision_arn {
            entry.0 += i32::from(t.running);
        } else {
            entry.1 += 1;
        }
    }
    DaemonDeploymentRevisionDetail {
        arn: Some(revision_arn.to_string()),
        total_running_instance_count: Some(per.values().map(|c| c.0).sum()),
        total_draining_instance_count: Some(per.values().map(|c| c.1).sum()),
        capacity_providers: Some(
            per.into_iter()
                .map(
                    |(p, (running, draining))| DaemonDeploymentCapacityProvider {
                        arn: Some(p.to_string()),
                        running_instance_count: Some(running),
                        draining_instance_count: Some(draining),
                    },
                )
                .collect(),
        ),
    }
}
