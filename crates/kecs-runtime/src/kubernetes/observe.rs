//! Reading pods as the domain's observations: container states, exits with the reasons ECS
//! gives (OOMKilled -> `OutOfMemoryError`, image pull failures -> `CannotPullContainerError`),
//! and readiness as health.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{ContainerStatus as K8sStatus, Pod, Probe};
use kecs_domain::model::HealthStatus;
use kecs_domain::ports::runtime::{
    ContainerExit, ContainerState, ContainerStatus, ObservedContainer, RuntimeEvent,
};

use super::names::{runtime_id, ANNOTATION_CONTAINERS, ANNOTATION_TASK_ARN};

/// What ECS says of a container the kernel killed for its memory.
pub const OUT_OF_MEMORY: &str = "OutOfMemoryError: Container killed due to memory usage";

/// Waiting reasons after which a container will never start.
const PULL_FAILURES: &[&str] = &[
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
];
const CREATE_FAILURES: &[&str] = &[
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
];

/// The task ARN a pod runs.
pub fn task_arn(pod: &Pod) -> Option<&str> {
    pod.metadata
        .annotations
        .as_ref()?
        .get(ANNOTATION_TASK_ARN)
        .map(String::as_str)
}

/// The ECS name of each of a pod's containers, by Kubernetes name.
pub fn ecs_names(pod: &Pod) -> BTreeMap<String, String> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_CONTAINERS))
        .and_then(|m| serde_json::from_str(m).ok())
        .unwrap_or_default()
}

/// Every container status of a pod, init containers (and sidecars) first.
pub fn statuses(pod: &Pod) -> impl Iterator<Item = &K8sStatus> {
    let status = pod.status.as_ref();
    status
        .and_then(|s| s.init_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .chain(
            status
                .and_then(|s| s.container_statuses.as_ref())
                .into_iter()
                .flatten(),
        )
}

/// The status of the container `name` (Kubernetes name).
pub fn status_of<'p>(pod: &'p Pod, name: &str) -> Option<&'p K8sStatus> {
    statuses(pod).find(|s| s.name == name)
}

/// The readiness probe (its health check) of the container `name`.
fn probe_of<'p>(pod: &'p Pod, name: &str) -> Option<&'p Probe> {
    let spec = pod.spec.as_ref()?;
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .find(|c| c.name == name)?
        .readiness_probe
        .as_ref()
}

/// Seconds since the epoch.
fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A running container that has never been ready although its probe had all its chances
/// (initial delay, then `failureThreshold` periods) is UNHEALTHY, as ECS says after `retries`.
fn never_ready(status: &K8sStatus, probe: &Probe, now: i64) -> bool {
    let Some(started) = status
        .state
        .as_ref()
        .and_then(|s| s.running.as_ref())
        .and_then(|r| r.started_at.as_ref())
    else {
        return false;
    };
    let chances = i64::from(probe.initial_delay_seconds.unwrap_or(0))
        + i64::from(probe.period_seconds.unwrap_or(10))
            * i64::from(probe.failure_threshold.unwrap_or(3));
    !status.ready && now - started.0.as_second() > chances
}

/// The ECS reason for a terminated container, when there is one to give.
fn exit_reason(status: &K8sStatus) -> Option<String> {
    let terminated = status.state.as_ref()?.terminated.as_ref()?;
    match terminated.reason.as_deref() {
        Some("OOMKilled") => Some(OUT_OF_MEMORY.into()),
        _ => None,
    }
}

/// Why a waiting container will never start, as ECS words it; `None` while it may still start.
pub fn start_failure(status: &K8sStatus, image: &str) -> Option<String> {
    let waiting = status.state.as_ref()?.waiting.as_ref()?;
    let reason = waiting.reason.as_deref()?;
    let message = waiting.message.clone().unwrap_or_default();
    if PULL_FAILURES.contains(&reason) {
        Some(format!(
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: {reason}: {message}"
        ))
    } else if CREATE_FAILURES.contains(&reason) {
        Some(format!("CannotCreateContainerError: {reason}: {message}"))
    } else {
        None
    }
}

/// A container status as the domain's container state. Health: HEALTHY once ready; before,
/// UNKNOWN (readiness alone cannot tell "not yet" from "failing": the watch tells readiness
/// lost, see [`Tracker`], and [`container_state`] a probe that never passed).
pub fn state_of(status: &K8sStatus, probed: bool) -> ContainerState {
    let state = status.state.as_ref();
    let kind = if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        ContainerStatus::Exited(Some(t.exit_code))
    } else if state.and_then(|s| s.running.as_ref()).is_some() {
        ContainerStatus::Running
    } else {
        ContainerStatus::Created
    };
    let health = probed.then_some(if status.ready {
        HealthStatus::Healthy
    } else {
        HealthStatus::Unknown
    });
    ContainerState {
        status: kind,
        health,
    }
}

/// The state of the container `name` of `pod`: created until the kubelet reports it.
pub fn container_state(pod: &Pod, name: &str) -> ContainerState {
    let Some(status) = status_of(pod, name) else {
        return ContainerState::default();
    };
    let probe = probe_of(pod, name);
    let mut state = state_of(status, probe.is_some());
    if probe.is_some_and(|p| never_ready(status, p, now_secs())) {
        state.health = Some(HealthStatus::Unhealthy);
    }
    state
}

/// A pod's containers as observations (start-up recovery and resync).
pub fn observed(pod: &Pod) -> Vec<ObservedContainer> {
    let Some(task_arn) = task_arn(pod) else {
        return vec![];
    };
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    ecs_names(pod)
        .into_iter()
        .map(|(k8s, ecs)| ObservedContainer {
            task_arn: task_arn.to_string(),
            container: ecs,
            runtime_id: runtime_id(&ns, &name, &k8s),
            state: container_state(pod, &k8s),
        })
        .collect()
}

/// What was last reported of one container.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Reported {
    exited: bool,
    health: Option<HealthStatus>,
}

/// Turns successive versions of pods (from the watch) into exits and health verdicts, each
/// reported once: a container that becomes terminated exited; readiness gained is HEALTHY,
/// readiness lost after that is UNHEALTHY.
#[derive(Debug, Default)]
pub struct Tracker {
    seen: HashMap<(String, String), Reported>,
}

impl Tracker {
    /// What changed in `pod` since its last version.
    pub fn applied(&mut self, pod: &Pod) -> Vec<RuntimeEvent> {
        let Some(task_arn) = task_arn(pod) else {
            return vec![];
        };
        let names = ecs_names(pod);
        let mut events = vec![];
        for status in statuses(pod) {
            let Some(ecs) = names.get(&status.name) else {
                continue;
            };
            let key = (task_arn.to_string(), ecs.clone());
            let before = self.seen.get(&key).copied().unwrap_or_default();
            let mut now = before;
            let state = state_of(status, probe_of(pod, &status.name).is_some());
            if let ContainerStatus::Exited(code) = state.status {
                if !before.exited {
                    now.exited = true;
                    events.push(RuntimeEvent::Exited(ContainerExit {
                        task_arn: task_arn.to_string(),
                        container: ecs.clone(),
                        exit_code: code,
                        reason: exit_reason(status),
                    }));
                }
            } else if let Some(health) = state.health {
                let verdict = match (health, before.health) {
                    (HealthStatus::Healthy, _) => Some(HealthStatus::Healthy),
                    (_, Some(HealthStatus::Healthy | HealthStatus::Unhealthy)) => {
                        Some(HealthStatus::Unhealthy)
                    }
                    _ => None,
                };
                if let Some(verdict) = verdict.filter(|v| Some(*v) != before.health) {
                    now.health = Some(verdict);
                    events.push(RuntimeEvent::Health {
                        task_arn: task_arn.to_string(),
                        container: ecs.clone(),
                        status: verdict,
                    });
                }
            }
            self.seen.insert(key, now);
        }
        events
    }

    /// A pod is gone: its containers not reported exited have exited (their code unknown).
    pub fn deleted(&mut self, pod: &Pod) -> Vec<RuntimeEvent> {
        let mut events = self.applied(pod);
        let Some(task_arn) = task_arn(pod) else {
            return events;
        };
        for ecs in ecs_names(pod).into_values() {
            let key = (task_arn.to_string(), ecs.clone());
            if self.seen.remove(&key).is_none_or(|r| !r.exited) {
                events.push(RuntimeEvent::Exited(ContainerExit {
                    task_arn: task_arn.to_string(),
                    container: ecs,
                    exit_code: None,
                    reason: None,
                }));
            }
        }
        events
    }
}
