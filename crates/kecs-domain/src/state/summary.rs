//! What walks over many tasks or services read without unpacking them: the fields ListTasks,
//! ListServices, the cluster counts, retention and RunTask's idempotency filter on.

use std::hash::{Hash, Hasher};

use super::table::Row;
use super::{StoredService, StoredTask};
use crate::model::{LaunchType, SchedulingStrategy, ServiceDeployment, ServiceRevision};
use crate::status::{ServiceStatus, TaskStatus};

fn boxed(s: Option<&str>) -> Option<Box<str>> {
    s.map(Box::from)
}

/// The hash a task's `clientToken` is found by (the token itself stays packed).
pub fn token_hash(token: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

/// A task's fields that walks filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskSummary {
    /// `lastStatus`.
    pub last_status: Option<TaskStatus>,
    /// `desiredStatus`.
    pub desired_status: Option<TaskStatus>,
    /// `stoppedAt` (epoch seconds).
    pub stopped_at: Option<f64>,
    /// The family of its task definition.
    pub family: Option<Box<str>>,
    /// `startedBy`.
    pub started_by: Option<Box<str>>,
    /// `group` (`service:<name>` for a service's task).
    pub group: Option<Box<str>>,
    /// `launchType`.
    pub launch_type: Option<LaunchType>,
    /// `containerInstanceArn`.
    pub container_instance_arn: Option<Box<str>>,
    /// The [`token_hash`] of the RunTask `clientToken` that started it.
    pub client_token: Option<u64>,
    /// Until when its scale-in protection holds (epoch seconds).
    pub protected_until: Option<f64>,
}

impl TaskSummary {
    /// Whether its `lastStatus` is `s`.
    pub fn last_is(&self, s: TaskStatus) -> bool {
        self.last_status == Some(s)
    }

    /// The ARN of the service that started the task `task_arn` (its group is `service:<name>`).
    pub fn service_arn(&self, task_arn: &str) -> Option<String> {
        let (cluster, _) = crate::arn::split_in_cluster(task_arn)?;
        super::service_in(&cluster, self.group.as_deref()?)
    }
}

impl Row for StoredTask {
    type Summary = TaskSummary;

    fn summarize(&self) -> TaskSummary {
        let t = &self.task;
        TaskSummary {
            last_status: TaskStatus::of(t.last_status.as_deref()),
            desired_status: TaskStatus::of(t.desired_status.as_deref()),
            stopped_at: t.stopped_at,
            family: boxed(crate::arn::family_of(t.task_definition_arn.as_deref()).as_deref()),
            started_by: boxed(t.started_by.as_deref()),
            group: boxed(t.group.as_deref()),
            launch_type: t.launch_type,
            container_instance_arn: boxed(t.container_instance_arn.as_deref()),
            client_token: self.client_token.as_deref().map(token_hash),
            protected_until: self.protected_until,
        }
    }
}

/// A service's fields that walks filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSummary {
    /// `status`.
    pub status: Option<ServiceStatus>,
    /// `launchType`.
    pub launch_type: Option<LaunchType>,
    /// `schedulingStrategy`.
    pub scheduling_strategy: Option<SchedulingStrategy>,
}

impl ServiceSummary {
    /// Whether its status is `s`.
    pub fn status_is(&self, s: ServiceStatus) -> bool {
        self.status == Some(s)
    }
}

impl Row for StoredService {
    type Summary = ServiceSummary;

    fn summarize(&self) -> ServiceSummary {
        let s = &self.service;
        ServiceSummary {
            status: ServiceStatus::of(s.status.as_deref()),
            launch_type: s.launch_type,
            scheduling_strategy: s.scheduling_strategy,
        }
    }
}

/// Service deployments are read one service at a time: no summary.
impl Row for ServiceDeployment {
    type Summary = ();

    fn summarize(&self) {}
}

/// Service revisions are read by ARN: no summary.
impl Row for ServiceRevision {
    type Summary = ();

    fn summarize(&self) {}
}
