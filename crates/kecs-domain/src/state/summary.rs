//! What walks over many tasks or services read without unpacking them: the fields ListTasks,
//! ListServices, the cluster counts, retention and RunTask's idempotency filter on.

use std::borrow::Cow;
use std::hash::{Hash, Hasher};

use serde::Deserialize;

use super::table::Row;
use super::{StoredService, StoredTask};
use crate::model::{LaunchType, SchedulingStrategy, ServiceDeployment, ServiceRevision};
use crate::status::{ServiceStatus, TaskStatus};

fn boxed(s: Option<Cow<'_, str>>) -> Option<Box<str>> {
    s.map(|s| Box::from(s.as_ref()))
}

fn borrowed(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(Cow::Borrowed)
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
    /// The CPU units and MiB of memory it reserves, when its task-level `cpu` and `memory`
    /// say (they do for the tasks KECS starts): what placing on an instance sums without
    /// unpacking the instance's tasks.
    pub reserved: Option<(i32, i32)>,
}

impl TaskSummary {
    /// Whether its `lastStatus` is `s`.
    pub fn last_is(&self, s: TaskStatus) -> bool {
        self.last_status == Some(s)
    }

    /// The ARN of the service that started the task `task_arn` (its group is `service:<name>`).
    pub fn service_arn(&self, task_arn: &str) -> Option<String> {
        let group = self
            .group
            .as_deref()
            .filter(|g| g.starts_with("service:"))?;
        let (cluster, _) = crate::arn::split_in_cluster(task_arn)?;
        super::service_in(&cluster, group)
    }
}

/// What a task's summary is made of, read from a typed task or straight from its stored
/// document (the members not named here are skipped, never decoded: a start-up reads every
/// task's document this way). `StoredTask`'s and `Task`'s member names.
#[derive(Deserialize)]
struct TaskFields<'a> {
    #[serde(borrow)]
    task: TaskMembers<'a>,
    #[serde(default, borrow)]
    client_token: Option<Cow<'a, str>>,
    #[serde(default)]
    protected_until: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskMembers<'a> {
    #[serde(default, borrow)]
    last_status: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    desired_status: Option<Cow<'a, str>>,
    #[serde(default)]
    stopped_at: Option<f64>,
    #[serde(default, borrow)]
    task_definition_arn: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    started_by: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    group: Option<Cow<'a, str>>,
    #[serde(default)]
    launch_type: Option<LaunchType>,
    #[serde(default, borrow)]
    container_instance_arn: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    cpu: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    memory: Option<Cow<'a, str>>,
}

impl TaskFields<'_> {
    fn summary(self) -> TaskSummary {
        let t = self.task;
        let units = |v: Option<Cow<str>>| v?.parse::<i32>().ok();
        let reserved = units(t.cpu).zip(units(t.memory));
        TaskSummary {
            last_status: TaskStatus::of(t.last_status.as_deref()),
            desired_status: TaskStatus::of(t.desired_status.as_deref()),
            stopped_at: t.stopped_at,
            family: crate::arn::family_of(t.task_definition_arn.as_deref())
                .map(String::into_boxed_str),
            started_by: boxed(t.started_by),
            group: boxed(t.group),
            launch_type: t.launch_type,
            container_instance_arn: boxed(t.container_instance_arn),
            client_token: self.client_token.as_deref().map(token_hash),
            protected_until: self.protected_until,
            reserved,
        }
    }
}

impl Row for StoredTask {
    type Summary = TaskSummary;
    const MEMBER: Option<&'static str> = Some("task");

    fn summarize(&self) -> TaskSummary {
        let t = &self.task;
        TaskFields {
            task: TaskMembers {
                last_status: borrowed(&t.last_status),
                desired_status: borrowed(&t.desired_status),
                stopped_at: t.stopped_at,
                task_definition_arn: borrowed(&t.task_definition_arn),
                started_by: borrowed(&t.started_by),
                group: borrowed(&t.group),
                launch_type: t.launch_type,
                container_instance_arn: borrowed(&t.container_instance_arn),
                cpu: borrowed(&t.cpu),
                memory: borrowed(&t.memory),
            },
            client_token: borrowed(&self.client_token),
            protected_until: self.protected_until,
        }
        .summary()
    }

    fn summarize_document(doc: &str) -> Result<TaskSummary, serde_json::Error> {
        serde_json::from_str::<TaskFields>(doc).map(TaskFields::summary)
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

/// What a service's summary is made of (see [`TaskFields`]).
#[derive(Deserialize)]
struct ServiceFields<'a> {
    #[serde(borrow)]
    service: ServiceMembers<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceMembers<'a> {
    #[serde(default, borrow)]
    status: Option<Cow<'a, str>>,
    #[serde(default)]
    launch_type: Option<LaunchType>,
    #[serde(default)]
    scheduling_strategy: Option<SchedulingStrategy>,
}

impl ServiceFields<'_> {
    fn summary(self) -> ServiceSummary {
        let s = self.service;
        ServiceSummary {
            status: ServiceStatus::of(s.status.as_deref()),
            launch_type: s.launch_type,
            scheduling_strategy: s.scheduling_strategy,
        }
    }
}

impl Row for StoredService {
    type Summary = ServiceSummary;
    const MEMBER: Option<&'static str> = Some("service");

    fn summarize(&self) -> ServiceSummary {
        let s = &self.service;
        ServiceFields {
            service: ServiceMembers {
                status: borrowed(&s.status),
                launch_type: s.launch_type,
                scheduling_strategy: s.scheduling_strategy,
            },
        }
        .summary()
    }

    fn summarize_document(doc: &str) -> Result<ServiceSummary, serde_json::Error> {
        serde_json::from_str::<ServiceFields>(doc).map(ServiceFields::summary)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Service, Task};
    use crate::state::table::Table;

    fn task() -> StoredTask {
        StoredTask {
            task: Task {
                task_arn: Some("arn:aws:ecs:us-east-1:000000000000:task/c/1".into()),
                last_status: Some("RUNNING".into()),
                desired_status: Some("STOPPED".into()),
                stopped_at: Some(1_700_000_000.5),
                task_definition_arn: Some(
                    "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3".into(),
                ),
                started_by: Some("ecs-svc/\"quoted\"".into()),
                group: Some("service:web".into()),
                launch_type: Some(LaunchType::Fargate),
                container_instance_arn: Some(
                    "arn:aws:ecs:us-east-1:000000000000:container-instance/c/9".into(),
                ),
                cpu: Some("256".into()),
                ..Default::default()
            },
            client_token: Some("token-1".into()),
            protected_until: Some(1_700_000_100.0),
        }
    }

    #[test]
    fn a_task_documents_summary_is_its_values() {
        let stored = task();
        let doc = serde_json::to_string(&stored).unwrap();
        let summary = StoredTask::summarize_document(&doc).unwrap();
        assert_eq!(summary, stored.summarize());
        assert_eq!(summary.family.as_deref(), Some("web"));
        assert_eq!(summary.started_by.as_deref(), Some("ecs-svc/\"quoted\""));
        assert_eq!(summary.client_token, Some(token_hash("token-1")));
        assert_eq!(
            summary.reserved, None,
            "no task-level memory: left to the task"
        );
        let mut sized = task();
        sized.task.memory = Some("512".into());
        let doc = serde_json::to_string(&sized).unwrap();
        let summary = StoredTask::summarize_document(&doc).unwrap();
        assert_eq!(summary, sized.summarize());
        assert_eq!(summary.reserved, Some((256, 512)));

        let bare = StoredTask {
            task: Task::default(),
            client_token: None,
            protected_until: None,
        };
        let doc = serde_json::to_string(&bare).unwrap();
        assert_eq!(
            StoredTask::summarize_document(&doc).unwrap(),
            bare.summarize()
        );
    }

    #[test]
    fn a_service_documents_summary_is_its_values() {
        let mut stored = StoredService::new(
            Service {
                status: Some("DRAINING".into()),
                launch_type: Some(LaunchType::Ec2),
                scheduling_strategy: Some(SchedulingStrategy::Daemon),
                service_name: Some("web".into()),
                ..Default::default()
            },
            Some("t".into()),
        );
        stored.current_deployment = Some("arn:d".into());
        let doc = serde_json::to_string(&stored).unwrap();
        assert_eq!(
            StoredService::summarize_document(&doc).unwrap(),
            stored.summarize()
        );
        assert!(StoredService::summarize_document("{\"service\":{\"status\":7}}").is_err());
    }

    #[test]
    fn a_kept_task_or_service_knows_where_its_member_lies_in_its_document() {
        let mut tasks = Table::<StoredTask>::default();
        let stored = task();
        let doc = serde_json::to_string(&stored).unwrap();
        tasks.insert("t".into(), &stored, &doc).unwrap();
        let (got, member) = tasks.member("t").unwrap();
        assert_eq!(got, doc.as_bytes());
        assert_eq!(&doc[member], serde_json::to_string(&stored.task).unwrap());
        // A member holding "tags" is not copied (tags are appended): no place is kept.
        let mut tagged = task();
        tagged.task.tags = Some(vec![]);
        let doc = serde_json::to_string(&tagged).unwrap();
        tasks.insert("t".into(), &tagged, &doc).unwrap();
        assert!(tasks.member("t").is_none());
        assert!(tasks.get("t").is_some());
        assert!(tasks.member("other").is_none());

        let mut services = Table::<StoredService>::default();
        let service = StoredService::new(Service::default(), Some("token".into()));
        let doc = serde_json::to_string(&service).unwrap();
        services.load_all(vec![("s".into(), doc.clone())]).unwrap();
        let (_, member) = services.member("s").unwrap();
        assert_eq!(&doc[member], "{}");
    }
}
