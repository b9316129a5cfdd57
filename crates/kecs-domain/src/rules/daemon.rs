//! Daemons' pure decisions: a daemon task definition as the task definition its tasks launch
//! with, the checks of a daemon's settings, and the daemon scheduler's decision — one task of
//! the target revision on every container instance, old revisions replaced a batch of
//! instances at a time (`drainPercent`), the new task RUNNING before the old one stops.

use serde::{de::DeserializeOwned, Serialize};

use crate::model::{
    Compatibility, DaemonDeploymentConfiguration, DaemonTaskDefinition, TaskDefinition,
    TaskDefinitionStatus,
};
use crate::rules::validate;
use crate::EcsError;

/// The share of instances a deployment replaces at once when the daemon names none (ECS's).
pub const DEFAULT_DRAIN_PERCENT: f64 = 25.0;

/// `value` read as another shape with the same member names (a daemon's shapes are subsets of
/// a task definition's); `None` when it does not fit.
pub fn recast<A: Serialize, B: DeserializeOwned>(value: &A) -> Option<B> {
    serde_json::from_value(serde_json::to_value(value).ok()?).ok()
}

/// The task definition a daemon task launches with: the daemon task definition's containers,
/// volumes and size under its own ARN, for the EC2-like instances of KECS.
pub fn launch_definition(td: &DaemonTaskDefinition) -> Option<TaskDefinition> {
    let mut value = serde_json::to_value(td).ok()?;
    let fields = value.as_object_mut()?;
    let arn = fields.remove("daemonTaskDefinitionArn")?;
    fields.insert("taskDefinitionArn".into(), arn);
    fields.remove("status");
    let mut launch: TaskDefinition = serde_json::from_value(value).ok()?;
    launch.status = Some(TaskDefinitionStatus::Active);
    launch.requires_compatibilities = Some(vec![Compatibility::ManagedInstances]);
    launch.compatibilities = Some(vec![Compatibility::Ec2, Compatibility::ManagedInstances]);
    Some(launch)
}

/// A daemon's name: up to 255 letters, numbers, underscores and hyphens.
pub fn check_name(name: &str) -> Result<(), EcsError> {
    if validate::is_name(name, 255) {
        Ok(())
    } else {
        Err(EcsError::invalid(
            "Daemon name must be 1-255 characters: letters, numbers, underscores and hyphens.",
        ))
    }
}

/// The deployment configuration a daemon keeps: the given one, `drainPercent` checked
/// (0 < p <= 100) and defaulted, `bakeTimeInMinutes` within 0..=1440.
pub fn deployment_configuration(
    given: Option<DaemonDeploymentConfiguration>,
) -> Result<DaemonDeploymentConfiguration, EcsError> {
    let mut config = given.unwrap_or_default();
    let drain = *config.drain_percent.get_or_insert(DEFAULT_DRAIN_PERCENT);
    if !(drain > 0.0 && drain <= 100.0) {
        return Err(EcsError::invalid(
            "drainPercent must be greater than 0 and at most 100.",
        ));
    }
    if config
        .bake_time_in_minutes
        .is_some_and(|b| !(0..=1440).contains(&b))
    {
        return Err(EcsError::invalid(
            "bakeTimeInMinutes must be between 0 and 1440.",
        ));
    }
    Ok(config)
}

/// A container instance a daemon may run on.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Its ARN.
    pub arn: String,
    /// ACTIVE: it gets a daemon task. A DRAINING one keeps the task it has and gets none.
    pub active: bool,
}

/// One of the daemon's tasks that has not stopped yet.
#[derive(Debug, Clone, PartialEq)]
pub struct DaemonTask {
    /// Its ARN.
    pub arn: String,
    /// The container instance it runs on.
    pub instance: String,
    /// The ARN of the daemon revision it was started for.
    pub revision: String,
    /// RUNNING.
    pub running: bool,
    /// Asked to stop (desired status STOPPED).
    pub stopping: bool,
}

/// What a scheduler pass does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// Instances that get a task of the target revision.
    pub start_on: Vec<String>,
    /// Tasks to stop.
    pub stop: Vec<String>,
    /// Nothing left to do: every ACTIVE instance runs the target revision and nothing else
    /// runs (for a daemon being deleted: no task left at all).
    pub settled: bool,
}

/// The daemon scheduler's decision for one daemon over its hosts and its tasks not yet
/// stopped. `deleting`: every task stops.
pub fn decide(
    hosts: &[Host],
    tasks: &[DaemonTask],
    target: &str,
    drain_percent: f64,
    deleting: bool,
) -> Plan {
    let live: Vec<&DaemonTask> = tasks.iter().filter(|t| !t.stopping).collect();
    let mut plan = Plan::default();
    if deleting {
        plan.stop = live.iter().map(|t| t.arn.clone()).collect();
        plan.settled = tasks.is_empty();
        return plan;
    }
    let known = |i: &str| hosts.iter().any(|h| h.arn == i);
    plan.stop.extend(
        live.iter()
            .filter(|t| !known(&t.instance))
            .map(|t| t.arn.clone()),
    );
    let active = hosts.iter().filter(|h| h.active).count();
    let batch = ((active as f64 * drain_percent / 100.0).ceil() as usize).max(1);
    let (mut in_flight, mut waiting, mut old_left) = (0, vec![], false);
    for host in hosts {
        let on: Vec<&&DaemonTask> = live.iter().filter(|t| t.instance == host.arn).collect();
        let (new, old): (Vec<&&DaemonTask>, Vec<&&DaemonTask>) =
            on.into_iter().partition(|t| t.revision == target);
        // Keep one task of the target revision, a RUNNING one if there is one.
        let kept = new.iter().find(|t| t.running).or(new.first()).copied();
        plan.stop.extend(
            new.iter()
                .filter(|t| Some(t.arn.as_str()) != kept.map(|k| k.arn.as_str()))
                .map(|t| t.arn.clone()),
        );
        match kept {
            Some(k) if k.running => plan.stop.extend(old.iter().map(|t| t.arn.clone())),
            Some(_) => {
                in_flight += 1;
                old_left |= !old.is_empty();
            }
            None if !host.active => old_left |= !old.is_empty(),
            None if old.is_empty() => plan.start_on.push(host.arn.clone()),
            None => {
                old_left = true;
                waiting.push(host.arn.clone());
            }
        }
    }
    let room = batch.saturating_sub(in_flight);
    plan.start_on.extend(waiting.iter().take(room).cloned());
    plan.settled = plan.start_on.is_empty() && plan.stop.is_empty() && in_flight == 0 && !old_left;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DaemonContainerDefinition;

    fn host(arn: &str) -> Host {
        Host {
            arn: arn.into(),
            active: true,
        }
    }

    fn task(arn: &str, instance: &str, revision: &str, running: bool) -> DaemonTask {
        DaemonTask {
            arn: arn.into(),
            instance: instance.into(),
            revision: revision.into(),
            running,
            stopping: false,
        }
    }

    #[test]
    fn every_active_instance_gets_one_task() {
        let hosts = [
            host("i1"),
            host("i2"),
            Host {
                arn: "i3".into(),
                active: false,
            },
        ];
        let plan = decide(&hosts, &[task("t1", "i1", "r1", true)], "r1", 25.0, false);
        assert_eq!(plan.start_on, vec!["i2".to_string()]);
        assert!(plan.stop.is_empty());
        assert!(!plan.settled);
        let done = decide(
            &hosts,
            &[task("t1", "i1", "r1", true), task("t2", "i2", "r1", true)],
            "r1",
            25.0,
            false,
        );
        assert!(done.settled && done.start_on.is_empty() && done.stop.is_empty());
    }

    #[test]
    fn tasks_on_unknown_instances_and_duplicates_stop() {
        let hosts = [host("i1")];
        let tasks = [
            task("t1", "i1", "r1", true),
            task("t2", "i1", "r1", false),
            task("t3", "gone", "r1", true),
        ];
        let plan = decide(&hosts, &tasks, "r1", 100.0, false);
        assert_eq!(plan.stop, vec!["t3".to_string(), "t2".to_string()]);
        assert!(plan.start_on.is_empty());
    }

    #[test]
    fn a_new_revision_replaces_a_batch_at_a_time_new_before_old() {
        let hosts: Vec<Host> = (1..=4).map(|i| host(&format!("i{i}"))).collect();
        let old: Vec<DaemonTask> = (1..=4)
            .map(|i| task(&format!("o{i}"), &format!("i{i}"), "r1", true))
            .collect();
        // 25 % of 4 instances: one at a time.
        let plan = decide(&hosts, &old, "r2", 25.0, false);
        assert_eq!(plan.start_on, vec!["i1".to_string()]);
        assert!(
            plan.stop.is_empty(),
            "old tasks stop once their successor runs"
        );
        // The successor on i1 is starting: nothing more starts.
        let mut tasks = old.clone();
        tasks.push(task("n1", "i1", "r2", false));
        let plan = decide(&hosts, &tasks, "r2", 25.0, false);
        assert!(plan.start_on.is_empty() && plan.stop.is_empty());
        // It runs: the old task on i1 stops and i2 is next.
        tasks.last_mut().unwrap().running = true;
        let plan = decide(&hosts, &tasks, "r2", 25.0, false);
        assert_eq!(plan.stop, vec!["o1".to_string()]);
        assert_eq!(plan.start_on, vec!["i2".to_string()]);
        assert!(!plan.settled);
        // 50 %: two at a time.
        let plan = decide(&hosts, &old, "r2", 50.0, false);
        assert_eq!(plan.start_on, vec!["i1".to_string(), "i2".to_string()]);
    }

    #[test]
    fn deleting_stops_everything_and_settles_when_none_is_left() {
        let mut stopping = task("t2", "i1", "r1", true);
        stopping.stopping = true;
        let plan = decide(
            &[host("i1")],
            &[task("t1", "i1", "r1", true), stopping],
            "r1",
            25.0,
            true,
        );
        assert_eq!(plan.stop, vec!["t1".to_string()]);
        assert!(!plan.settled);
        assert!(decide(&[host("i1")], &[], "r1", 25.0, true).settled);
    }

    #[test]
    fn settings_are_checked() {
        assert!(check_name("agent_1-x").is_ok());
        assert!(check_name("bad name").is_err());
        assert!(check_name("").is_err());
        let config = deployment_configuration(None).unwrap();
        assert_eq!(config.drain_percent, Some(DEFAULT_DRAIN_PERCENT));
        let bad = DaemonDeploymentConfiguration {
            drain_percent: Some(0.0),
            ..Default::default()
        };
        assert!(deployment_configuration(Some(bad)).is_err());
        let bake = DaemonDeploymentConfiguration {
            bake_time_in_minutes: Some(-1),
            ..Default::default()
        };
        assert!(deployment_configuration(Some(bake)).is_err());
    }

    #[test]
    fn a_daemon_task_definition_launches_as_a_task_definition() {
        let td = DaemonTaskDefinition {
            daemon_task_definition_arn: Some(
                "arn:aws:ecs:us-east-1:1:daemon-task-definition/agent:2".into(),
            ),
            family: Some("agent".into()),
            revision: Some(2),
            memory: Some("128".into()),
            container_definitions: Some(vec![DaemonContainerDefinition {
                name: Some("a".into()),
                image: Some("busybox".into()),
                command: Some(vec!["sleep".into(), "60".into()]),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let launch = launch_definition(&td).unwrap();
        assert_eq!(
            launch.task_definition_arn.as_deref(),
            Some("arn:aws:ecs:us-east-1:1:daemon-task-definition/agent:2")
        );
        assert_eq!(launch.status, Some(TaskDefinitionStatus::Active));
        let containers = launch.container_definitions.unwrap();
        assert_eq!(containers[0].image.as_deref(), Some("busybox"));
        assert_eq!(containers[0].command.as_ref().unwrap()[1], "60");
        assert_eq!(launch.memory.as_deref(), Some("128"));
    }
}
