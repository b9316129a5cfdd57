//! The task controller's decisions through the public API, on a scripted runtime: dependsOn
//! order, the lifecycle states, a failed start, and a stop that records exit codes.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::runtime::{
    ContainerExit, ContainerRuntime, ContainerState, ContainerStatus, NetworkNames, RegistryAuth,
    RuntimeError, RuntimeEvent, StartedContainer,
};
use kecs_domain::Kecs;
use support::{ctx, kecs_on};

/// A runtime that logs what it is asked and reports containers by script: a container listed in
/// `exits` has exited with that code once started; every other started one runs, healthy.
#[derive(Default)]
struct Scripted {
    calls: Mutex<Vec<String>>,
    started: Mutex<Vec<String>>,
    exits: HashMap<String, i32>,
    missing_image: Option<String>,
    stopped: Mutex<bool>,
    /// The engine no longer has any container (removed, or lost in an engine restart).
    gone: Mutex<bool>,
}

impl Scripted {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait::async_trait]
impl ContainerRuntime for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }
    async fn prepare_task(&self, _: &Task, _: &TaskDefinition) -> Result<(), RuntimeError> {
        self.log("prepare".into());
        Ok(())
    }
    async fn create_container(
        &self,
        _: &Task,
        td: &TaskDefinition,
        name: &str,
        _: &[StartedContainer],
        _: Option<&RegistryAuth>,
        _: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        let image = td.container(name).and_then(|d| d.image.clone());
        if image.is_some() && image == self.missing_image {
            return Err(RuntimeError::engine(
                "CannotPullContainerError: no such image",
            ));
        }
        self.log(format!("create {name}"));
        Ok(StartedContainer {
            name: name.into(),
            runtime_id: Some(format!("id-{name}")),
            ..StartedContainer::default()
        })
    }
    async fn start_container(
        &self,
        _: &Task,
        c: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        self.log(format!("start {}", c.name));
        self.started.lock().unwrap().push(c.name.clone());
        Ok(c.clone())
    }
    async fn container_state(&self, id: &str) -> Result<ContainerState, RuntimeError> {
        let name = id.trim_start_matches("id-");
        let started = self.started.lock().unwrap().iter().any(|s| s == name);
        let stopped = *self.stopped.lock().unwrap();
        if *self.gone.lock().unwrap() {
            return Ok(ContainerState {
                status: ContainerStatus::Missing,
                health: None,
            });
        }
        let status = match (started, self.exits.get(name)) {
            (false, _) => ContainerStatus::Created,
            // One that exited keeps its code when the task is stopped afterwards.
            (true, Some(code)) => ContainerStatus::Exited(Some(*code)),
            (true, _) if stopped => ContainerStatus::Exited(Some(143)),
            (true, None) => ContainerStatus::Running,
        };
        Ok(ContainerState {
            status,
            health: Some(HealthStatus::Healthy),
        })
    }
    async fn stop_task(&self, _: &Task) -> Result<(), RuntimeError> {
        self.log("stop".into());
        *self.stopped.lock().unwrap() = true;
        Ok(())
    }
}

fn container(name: &str, deps: &[(&str, ContainerCondition)]) -> ContainerDefinition {
    ContainerDefinition {
        name: Some(name.into()),
        image: Some(format!("image-{name}")),
        memory: Some(32),
        essential: Some(!name.starts_with("init")),
        depends_on: Some(
            deps.iter()
                .map(|(on, condition)| ContainerDependency {
                    container_name: Some((*on).into()),
                    condition: Some(*condition),
                })
                .collect(),
        ),
        health_check: name.starts_with("db").then(|| HealthCheck {
            command: Some(vec!["CMD-SHELL".into(), "true".into()]),
            ..HealthCheck::default()
        }),
        ..ContainerDefinition::default()
    }
}

async fn setup(
    runtime: Scripted,
    containers: Vec<ContainerDefinition>,
) -> (Arc<Kecs>, Arc<Scripted>) {
    let runtime = Arc::new(runtime);
    let kecs = kecs_on(runtime.clone()).await;
    kecs.register_task_definition(
        &ctx(),
        RegisterTaskDefinitionRequest {
            family: Some("f".into()),
            container_definitions: Some(containers),
            ..RegisterTaskDefinitionRequest::default()
        },
    )
    .await
    .unwrap();
    (kecs, runtime)
}

async fn run(kecs: &Kecs) -> Task {
    kecs.run_task(
        &ctx(),
        RunTaskRequest {
            task_definition: Some("f".into()),
            ..RunTaskRequest::default()
        },
    )
    .await
    .unwrap()
    .tasks
    .unwrap()
    .remove(0)
}

async fn describe(kecs: &Kecs, arn: &str) -> Task {
    kecs.describe_tasks(
        &ctx(),
        DescribeTasksRequest {
            tasks: Some(vec![arn.into()]),
            ..DescribeTasksRequest::default()
        },
    )
    .await
    .unwrap()
    .tasks
    .unwrap()
    .remove(0)
    .into_value()
    .unwrap()
}

async fn wait_for(kecs: &Kecs, arn: &str, status: &str) -> Task {
    for _ in 0..500 {
        let t = describe(kecs, arn).await;
        if t.last_status.as_deref() == Some(status) {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("never {status}: {:#?}", describe(kecs, arn).await)
}

#[tokio::test]
async fn containers_start_in_dependency_order() {
    use ContainerCondition::*;
    let runtime = Scripted {
        exits: HashMap::from([("init".to_string(), 0)]),
        ..Scripted::default()
    };
    let (kecs, runtime) = setup(
        runtime,
        vec![
            container("app", &[("init", Success), ("db", Healthy)]),
            container("db", &[]),
            container("init", &[]),
        ],
    )
    .await;
    let task = run(&kecs).await;
    assert_eq!(task.last_status.as_deref(), Some("PROVISIONING"));
    let arn = task.task_arn.unwrap();
    let running = wait_for(&kecs, &arn, "RUNNING").await;
    let calls = runtime.calls.lock().unwrap().clone();
    assert_eq!(
        calls,
        [
            "prepare",
            "create db",
            "create init",
            "create app",
            "start db",
            "start init",
            "start app"
        ]
    );
    assert!(running.pull_started_at.is_some() && running.started_at.is_some());
    let ids: Vec<_> = running
        .containers
        .iter()
        .flatten()
        .map(|c| c.runtime_id.clone().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["id-app", "id-db", "id-init"]);
}

#[tokio::test]
async fn a_missing_image_fails_the_start() {
    let runtime = Scripted {
        missing_image: Some("image-app".into()),
        ..Scripted::default()
    };
    let (kecs, runtime) = setup(runtime, vec![container("app", &[])]).await;
    let arn = run(&kecs).await.task_arn.unwrap();
    let stopped = wait_for(&kecs, &arn, "STOPPED").await;
    assert_eq!(stopped.stop_code, Some(TaskStopCode::TaskFailedToStart));
    assert_eq!(
        stopped.stopped_reason.as_deref(),
        Some("CannotPullContainerError: no such image")
    );
    assert!(!runtime
        .calls
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.starts_with("start")));
}

#[tokio::test]
async fn a_stop_goes_through_stopping_and_records_exit_codes() {
    let runtime = Scripted::default();
    let (kecs, runtime) = setup(runtime, vec![container("app", &[])]).await;
    let arn = run(&kecs).await.task_arn.unwrap();
    wait_for(&kecs, &arn, "RUNNING").await;
    let answer = kecs
        .stop_task(
            &ctx(),
            StopTaskRequest {
                task: Some(arn.clone()),
                reason: Some("enough".into()),
                ..StopTaskRequest::default()
            },
        )
        .await
        .unwrap()
        .task
        .unwrap();
    assert_eq!(answer.desired_status.as_deref(), Some("STOPPED"));
    assert_eq!(answer.last_status.as_deref(), Some("RUNNING"));
    let stopped = wait_for(&kecs, &arn, "STOPPED").await;
    assert_eq!(stopped.stopped_reason.as_deref(), Some("enough"));
    assert_eq!(stopped.stop_code, Some(TaskStopCode::UserInitiated));
    assert!(runtime.calls.lock().unwrap().contains(&"stop".to_string()));
    let app = &stopped.containers.as_ref().unwrap()[0];
    assert_eq!(
        (app.last_status.as_deref(), app.exit_code),
        (Some("STOPPED"), Some(143))
    );
}

#[tokio::test]
async fn the_resync_stops_a_task_whose_containers_the_engine_lost() {
    let (kecs, runtime) = setup(Scripted::default(), vec![container("app", &[])]).await;
    let arn = run(&kecs).await.task_arn.unwrap();
    wait_for(&kecs, &arn, "RUNNING").await;
    // Missing from a list, but the engine still has it (created after the list was taken).
    kecs.reconcile_with(&[], false).await.unwrap();
    assert_eq!(
        describe(&kecs, &arn).await.last_status.as_deref(),
        Some("RUNNING")
    );
    // Gone for good.
    *runtime.gone.lock().unwrap() = true;
    kecs.reconcile_with(&[], false).await.unwrap();
    let stopped = wait_for(&kecs, &arn, "STOPPED").await;
    assert_eq!(
        stopped.stop_code,
        Some(TaskStopCode::EssentialContainerExited)
    );
    let app = &stopped.containers.as_ref().unwrap()[0];
    assert_eq!(
        (app.last_status.as_deref(), app.exit_code),
        (Some("STOPPED"), None)
    );
}

#[tokio::test]
async fn an_exit_reason_from_the_runtime_is_the_containers_reason() {
    let runtime = Scripted {
        exits: HashMap::from([("app".to_string(), 137)]),
        ..Scripted::default()
    };
    let (kecs, _runtime) = setup(runtime, vec![container("app", &[])]).await;
    let arn = run(&kecs).await.task_arn.unwrap();
    wait_for(&kecs, &arn, "RUNNING").await;
    kecs.on_runtime_event(RuntimeEvent::Exited(ContainerExit {
        task_arn: arn.clone(),
        container: "app".into(),
        exit_code: Some(137),
        reason: Some("OutOfMemoryError: Container killed due to memory usage".into()),
    }))
    .await
    .unwrap();
    let stopped = wait_for(&kecs, &arn, "STOPPED").await;
    let app = &stopped.containers.as_ref().unwrap()[0];
    assert_eq!(app.exit_code, Some(137));
    assert_eq!(
        app.reason.as_deref(),
        Some("OutOfMemoryError: Container killed due to memory usage")
    );
    assert_eq!(
        stopped.stop_code,
        Some(TaskStopCode::EssentialContainerExited)
    );
}
