//! Pods read as observations (`kecs_runtime::kubernetes::observe`): states, reasons, and the
//! tracker's one report per change.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerState as K8sState, ContainerStateRunning, ContainerStateTerminated,
    ContainerStateWaiting, ContainerStatus as K8sStatus, Pod, PodSpec, PodStatus, Probe,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kecs_domain::model::HealthStatus;
use kecs_domain::ports::runtime::{ContainerExit, ContainerState, ContainerStatus, RuntimeEvent};
use kecs_runtime::kubernetes::names::{ANNOTATION_CONTAINERS, ANNOTATION_TASK_ARN};
use kecs_runtime::kubernetes::observe::{
    container_state, observed, start_failure, Tracker, OUT_OF_MEMORY,
};

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const TASK: &str = "arn:aws:ecs:us-east-1:000000000000:task/c/abc";

fn status(name: &str, state: K8sState, ready: bool) -> K8sStatus {
    K8sStatus {
        name: name.into(),
        state: Some(state),
        ready,
        ..K8sStatus::default()
    }
}

fn running() -> K8sState {
    K8sState {
        running: Some(ContainerStateRunning::default()),
        ..K8sState::default()
    }
}

fn terminated(code: i32, reason: Option<&str>) -> K8sState {
    K8sState {
        terminated: Some(ContainerStateTerminated {
            exit_code: code,
            reason: reason.map(String::from),
            ..ContainerStateTerminated::default()
        }),
        ..K8sState::default()
    }
}

fn waiting(reason: &str) -> K8sState {
    K8sState {
        waiting: Some(ContainerStateWaiting {
            reason: Some(reason.into()),
            message: Some("not found".into()),
        }),
        ..K8sState::default()
    }
}

fn pod(statuses: Vec<K8sStatus>) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some("abc".into()),
            namespace: Some("ns".into()),
            annotations: Some(BTreeMap::from([
                (ANNOTATION_TASK_ARN.to_string(), TASK.to_string()),
                (
                    ANNOTATION_CONTAINERS.to_string(),
                    r#"{"app":"App","web":"web"}"#.to_string(),
                ),
            ])),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![
                Container {
                    name: "app".into(),
                    ..Container::default()
                },
                Container {
                    name: "web".into(),
                    readiness_probe: Some(Probe::default()),
                    ..Container::default()
                },
            ],
            ..PodSpec::default()
        }),
        status: Some(PodStatus {
            container_statuses: Some(statuses),
            ..PodStatus::default()
        }),
    }
}

fn exit(container: &str, code: Option<i32>, reason: Option<&str>) -> RuntimeEvent {
    RuntimeEvent::Exited(ContainerExit {
        task_arn: TASK.into(),
        container: container.into(),
        exit_code: code,
        reason: reason.map(String::from),
    })
}

fn health(container: &str, status: HealthStatus) -> RuntimeEvent {
    RuntimeEvent::Health {
        task_arn: TASK.into(),
        container: container.into(),
        status,
    }
}

#[test]
fn states_of_containers() {
    let p = pod(vec![
        status("app", terminated(3, None), false),
        status("web", running(), true),
    ]);
    assert_eq!(
        container_state(&p, "app"),
        ContainerState {
            status: ContainerStatus::Exited(Some(3)),
            health: None
        }
    );
    assert_eq!(
        container_state(&p, "web"),
        ContainerState {
            status: ContainerStatus::Running,
            health: Some(HealthStatus::Healthy)
        }
    );
    let pending = pod(vec![]);
    assert_eq!(
        container_state(&pending, "app").status,
        ContainerStatus::Created
    );
}

#[test]
fn observed_names_containers_as_ecs_does() {
    let p = pod(vec![status("app", running(), false)]);
    let seen = observed(&p);
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].task_arn, TASK);
    assert_eq!(seen[0].container, "App");
    assert_eq!(seen[0].runtime_id, "ns/abc/app");
    assert_eq!(seen[0].state.status, ContainerStatus::Running);
    assert_eq!(seen[1].state.status, ContainerStatus::Created);
}

#[test]
fn pull_and_create_failures_are_named_as_ecs_names_them() {
    let s = status("app", waiting("ErrImagePull"), false);
    let reason = start_failure(&s, "nope:1").unwrap();
    assert!(reason.starts_with("CannotPullContainerError: "), "{reason}");
    assert!(reason.contains("nope:1"), "{reason}");
    let s = status("app", waiting("ImagePullBackOff"), false);
    assert!(start_failure(&s, "x").is_some());
    let s = status("app", waiting("CreateContainerConfigError"), false);
    assert!(start_failure(&s, "x")
        .unwrap()
        .starts_with("CannotCreateContainerError: "));
    let s = status("app", waiting("ContainerCreating"), false);
    assert_eq!(start_failure(&s, "x"), None);
}

#[test]
fn the_tracker_reports_each_exit_once_with_its_reason() {
    let mut t = Tracker::default();
    assert_eq!(
        t.applied(&pod(vec![status("app", running(), false)])),
        vec![]
    );
    let oom = pod(vec![status(
        "app",
        terminated(137, Some("OOMKilled")),
        false,
    )]);
    assert_eq!(
        t.applied(&oom),
        vec![exit("App", Some(137), Some(OUT_OF_MEMORY))]
    );
    assert_eq!(t.applied(&oom), vec![], "reported once");
    // The pod goes: only the container not reported yet exits, its code unknown.
    assert_eq!(t.deleted(&oom), vec![exit("web", None, None)]);
}

#[test]
fn readiness_is_health_and_losing_it_is_unhealthy() {
    let mut t = Tracker::default();
    assert_eq!(
        t.applied(&pod(vec![status("web", running(), false)])),
        vec![],
        "not yet"
    );
    assert_eq!(
        t.applied(&pod(vec![status("web", running(), true)])),
        vec![health("web", HealthStatus::Healthy)]
    );
    assert_eq!(
        t.applied(&pod(vec![status("web", running(), true)])),
        vec![]
    );
    assert_eq!(
        t.applied(&pod(vec![status("web", running(), false)])),
        vec![health("web", HealthStatus::Unhealthy)]
    );
    assert_eq!(
        t.applied(&pod(vec![status("web", running(), true)])),
        vec![health("web", HealthStatus::Healthy)]
    );
}

#[test]
fn a_probe_that_never_passed_is_unhealthy_once_its_chances_are_spent() {
    let started = |ago: i64| K8sState {
        running: Some(ContainerStateRunning {
            started_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::from_second(now_secs() - ago).unwrap(),
            )),
        }),
        ..K8sState::default()
    };
    // The default probe: 10 s period, 3 failures.
    let young = pod(vec![status("web", started(5), false)]);
    assert_eq!(
        container_state(&young, "web").health,
        Some(HealthStatus::Unknown)
    );
    let old = pod(vec![status("web", started(60), false)]);
    assert_eq!(
        container_state(&old, "web").health,
        Some(HealthStatus::Unhealthy)
    );
    let fine = pod(vec![status("web", started(60), true)]);
    assert_eq!(
        container_state(&fine, "web").health,
        Some(HealthStatus::Healthy)
    );
    assert_eq!(
        container_state(&old, "app").health,
        None,
        "no probe, no health"
    );
}
