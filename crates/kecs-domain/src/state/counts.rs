//! Derived (not stored): each cluster's running and pending tasks and ACTIVE services, kept as
//! tasks and services change, so that describing a cluster does not walk all its tasks.

use std::collections::HashMap;

use super::{Change, State};
use crate::status::{ServiceStatus, TaskStatus};
use crate::EcsError;

/// What a cluster's description counts.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClusterCounts {
    /// Tasks whose lastStatus is RUNNING.
    pub running_tasks: i32,
    /// Tasks neither RUNNING nor STOPPED.
    pub pending_tasks: i32,
    /// Services whose status is ACTIVE.
    pub active_services: i32,
}

/// The counts of every cluster with tasks or services, by cluster ARN.
#[derive(Debug, Default, Clone)]
pub struct Counts(HashMap<String, ClusterCounts>);

/// The cluster ARN of a task or service ARN in the long format (`...:<kind>/<cluster>/<id>`).
fn cluster_of(arn: &str) -> Option<String> {
    crate::arn::split_in_cluster(arn).map(|(cluster, _)| cluster)
}

impl Counts {
    /// The counts of `cluster_arn` (zero when it has nothing).
    pub fn of(&self, cluster_arn: &str) -> ClusterCounts {
        self.0.get(cluster_arn).copied().unwrap_or_default()
    }

    fn entry(&mut self, arn: &str) -> Option<&mut ClusterCounts> {
        Some(self.0.entry(cluster_of(arn)?).or_default())
    }

    /// The task `arn` went from lastStatus `before` (None: it was not there) to `after` (None:
    /// it is gone).
    pub(super) fn task(
        &mut self,
        arn: &str,
        before: Option<TaskStatus>,
        after: Option<TaskStatus>,
    ) {
        if before.map(task_class) == after.map(task_class) {
            return;
        }
        if let Some(c) = self.entry(arn) {
            c.task(before, after);
        }
    }

    /// The service `arn` went from status `before` to `after` (None: not there).
    pub(super) fn service(
        &mut self,
        arn: &str,
        before: Option<ServiceStatus>,
        after: Option<ServiceStatus>,
    ) {
        if active(before) == active(after) {
            return;
        }
        if let Some(c) = self.entry(arn) {
            c.service(before, after);
        }
    }
}

/// How a task of lastStatus `s` counts: (running, pending).
fn task_class(s: TaskStatus) -> (i32, i32) {
    match s {
        TaskStatus::Running => (1, 0),
        TaskStatus::Stopped => (0, 0),
        _ => (0, 1),
    }
}

/// How a service of status `s` counts: 1 when ACTIVE.
fn active(s: Option<ServiceStatus>) -> i32 {
    i32::from(s == Some(ServiceStatus::Active))
}

impl ClusterCounts {
    fn task(&mut self, before: Option<TaskStatus>, after: Option<TaskStatus>) {
        let class = |s: Option<TaskStatus>| s.map(task_class).unwrap_or_default();
        let ((br, bp), (ar, ap)) = (class(before), class(after));
        self.running_tasks += ar - br;
        self.pending_tasks += ap - bp;
    }

    fn service(&mut self, before: Option<ServiceStatus>, after: Option<ServiceStatus>) {
        self.active_services += active(after) - active(before);
    }
}

/// The clusters of resources met in ARN order. A cluster's resources are next to each other
/// and share their ARN up to its last `/`, so a run of them works out the cluster's ARN once
/// (a load counts 100k tasks without an allocation each).
#[derive(Default)]
struct ClusterRuns<'a> {
    prefix: Option<&'a str>,
    cluster: Option<String>,
}

impl<'a> ClusterRuns<'a> {
    /// The counts, in `counts`, of the cluster of `arn`.
    fn counts<'c>(
        &mut self,
        counts: &'c mut Counts,
        arn: &'a str,
    ) -> Option<&'c mut ClusterCounts> {
        let prefix = arn.rsplit_once('/').map(|(p, _)| p);
        if prefix != self.prefix {
            self.prefix = prefix;
            self.cluster = cluster_of(arn);
        }
        let cluster = self.cluster.as_deref()?;
        if !counts.0.contains_key(cluster) {
            counts
                .0
                .insert(cluster.to_string(), ClusterCounts::default());
        }
        counts.0.get_mut(cluster)
    }
}

impl State {
    /// Applies `change` to the task `arn` and counts its status change.
    pub(super) fn counting_task(
        &mut self,
        arn: &str,
        change: impl FnOnce(&mut Self) -> Result<Change, EcsError>,
    ) -> Result<Change, EcsError> {
        let status = |s: &Self, arn: &str| s.tasks.summary(arn).and_then(|t| t.last_status);
        self.counting(arn, status, Counts::task, change)
    }

    /// Applies `change` to the service `arn` and counts its status change.
    pub(super) fn counting_service(
        &mut self,
        arn: &str,
        change: impl FnOnce(&mut Self) -> Result<Change, EcsError>,
    ) -> Result<Change, EcsError> {
        let status = |s: &Self, arn: &str| s.services.summary(arn).and_then(|v| v.status);
        self.counting(arn, status, Counts::service, change)
    }

    /// Reads `arn`'s status with `status` before and after `change`, and hands both to `count`.
    fn counting<S>(
        &mut self,
        arn: &str,
        status: impl Fn(&Self, &str) -> Option<S>,
        count: fn(&mut Counts, &str, Option<S>, Option<S>),
        change: impl FnOnce(&mut Self) -> Result<Change, EcsError>,
    ) -> Result<Change, EcsError> {
        let before = status(self, arn);
        let changed = change(self)?;
        let after = status(self, arn);
        count(&mut self.counts, arn, before, after);
        Ok(changed)
    }

    /// Counts every task and service held (after a load).
    pub(super) fn count_all(&mut self) {
        let mut counts = Counts::default();
        let mut runs = ClusterRuns::default();
        for (arn, t) in self.tasks.summaries() {
            if let Some(c) = runs.counts(&mut counts, arn) {
                c.task(None, t.last_status);
            }
        }
        let mut runs = ClusterRuns::default();
        for (arn, s) in self.services.summaries() {
            if let Some(c) = runs.counts(&mut counts, arn) {
                c.service(None, s.status);
            }
        }
        self.counts = counts;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: &str = "arn:aws:ecs:us-east-1:000000000000:task/c1/t1";
    const C1: &str = "arn:aws:ecs:us-east-1:000000000000:cluster/c1";

    #[test]
    fn tasks_move_between_the_counts_as_their_status_changes() {
        let mut counts = Counts::default();
        counts.task(T1, None, Some(TaskStatus::Provisioning));
        assert_eq!(counts.of(C1).pending_tasks, 1);
        counts.task(
            T1,
            Some(TaskStatus::Provisioning),
            Some(TaskStatus::Running),
        );
        assert_eq!(
            (counts.of(C1).running_tasks, counts.of(C1).pending_tasks),
            (1, 0)
        );
        counts.task(T1, Some(TaskStatus::Running), Some(TaskStatus::Stopped));
        counts.task(T1, Some(TaskStatus::Stopped), None);
        assert_eq!(counts.of(C1), ClusterCounts::default());
        let svc = "arn:aws:ecs:us-east-1:000000000000:service/c1/web";
        counts.service(svc, None, Some(ServiceStatus::Active));
        counts.service(
            svc,
            Some(ServiceStatus::Active),
            Some(ServiceStatus::Active),
        );
        assert_eq!(counts.of(C1).active_services, 1);
        counts.service(
            svc,
            Some(ServiceStatus::Active),
            Some(ServiceStatus::Draining),
        );
        assert_eq!(counts.of(C1).active_services, 0);
        assert_eq!(
            counts.of("arn:aws:ecs:us-east-1:000000000000:cluster/other"),
            ClusterCounts::default()
        );
    }

    #[test]
    fn counting_everything_at_once_agrees_with_counting_as_tasks_change() {
        use crate::model::Task;
        use crate::state::{Mutation, StoredTask};
        let mut state = State::default();
        let clusters = [
            "arn:aws:ecs:us-east-1:000000000000:cluster/a",
            "arn:aws:ecs:us-east-1:000000000000:cluster/b",
            "arn:aws:ecs:eu-west-1:000000000000:cluster/a",
        ];
        for i in 0..60 {
            let cluster = clusters[i % 3];
            let arn = cluster.replace(":cluster/", ":task/") + &format!("/{i:03}");
            let task = Task {
                task_arn: Some(arn),
                cluster_arn: Some(cluster.into()),
                last_status: Some(["PENDING", "RUNNING", "STOPPED", "RUNNING"][i % 4].into()),
                ..Task::default()
            };
            let stored = StoredTask {
                task,
                client_token: None,
                protected_until: None,
            };
            state.apply(Mutation::PutTask(stored)).unwrap();
        }
        let incremental: Vec<ClusterCounts> = clusters.iter().map(|c| state.counts.of(c)).collect();
        assert_eq!(
            incremental[0],
            ClusterCounts {
                running_tasks: 10,
                pending_tasks: 5,
                active_services: 0
            }
        );
        state.counts = Counts::default();
        state.count_all();
        let all: Vec<ClusterCounts> = clusters.iter().map(|c| state.counts.of(c)).collect();
        assert_eq!(all, incremental);
    }
}
