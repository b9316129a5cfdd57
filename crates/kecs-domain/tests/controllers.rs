//! The queue-driven controllers survive what would otherwise kill them: a job that panics is
//! abandoned and the loop goes on; a loop that is stopped (aborted, or ended by a panic) can be
//! run again and carries on with its queue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kecs_domain::api::EcsApi;
use kecs_domain::model::*;
use kecs_domain::ports::clock::SystemClock;
use kecs_domain::ports::runtime::{
    ContainerRuntime, ContainerState, ContainerStatus, NetworkNames, RegistryAuth, RuntimeError,
    StartedContainer,
};
use kecs_domain::ports::store::MemoryStore;
use kecs_domain::Kecs;

mod support;
use support::{ctx, prepare};

/// An engine whose first `prepare_task` panics; everything after works.
#[derive(Default)]
struct PanicsOnce {
    prepared: AtomicUsize,
}

#[async_trait::async_trait]
impl ContainerRuntime for PanicsOnce {
    fn name(&self) -> &'static str {
        "panics-once"
    }
    async fn prepare_task(&self, _: &Task, _: &TaskDefinition) -> Result<(), RuntimeError> {
        if self.prepared.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("the engine client panicked");
        }
        Ok(())
    }
    async fn create_container(
        &self,
        _: &Task,
        _: &TaskDefinition,
        name: &str,
        _: &[StartedContainer],
        _: Option<&RegistryAuth>,
        _: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
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
        Ok(c.clone())
    }
    async fn container_state(&self, _: &str) -> Result<ContainerState, RuntimeError> {
        Ok(ContainerState {
            status: ContainerStatus::Running,
            health: None,
        })
    }
    async fn stop_task(&self, _: &Task) -> Result<(), RuntimeError> {
        Ok(())
    }
}

/// KECS on `PanicsOnce`, the default cluster and the family `web` registered; no controller runs.
async fn setup() -> Arc<Kecs> {
    let kecs = Arc::new(
        Kecs::open(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            Arc::new(PanicsOnce::default()),
        )
        .await
        .unwrap(),
    );
    prepare(&kecs, &["app"]).await;
    kecs
}

async fn run(kecs: &Kecs) -> String {
    let out = kecs
        .run_task(
            &ctx(),
            RunTaskRequest {
                task_definition: Some("web".into()),
                ..RunTaskRequest::default()
            },
        )
        .await
        .unwrap();
    out.tasks.unwrap()[0].task_arn.clone().unwrap()
}

async fn last_status(kecs: &Kecs, arn: &str) -> Option<String> {
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
    .last_status
}

async fn wait_running(kecs: &Kecs, arn: &str) {
    for _ in 0..400 {
        if last_status(kecs, arn).await.as_deref() == Some("RUNNING") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{arn} never RUNNING: {:?}", last_status(kecs, arn).await);
}

#[tokio::test]
async fn a_job_that_panics_is_abandoned_and_the_launcher_goes_on() {
    let kecs = setup().await;
    let names: Vec<&str> = kecs.controllers().iter().map(|c| c.name()).collect();
    assert_eq!(
        names,
        [
            "task-launcher",
            "service-scheduler",
            "cluster-cleanup",
            "daemon-scheduler",
            "load-balancers"
        ]
    );
    tokio::spawn(kecs.clone().drive_tasks());
    let first = run(&kecs).await;
    let second = run(&kecs).await;
    // The first launch panicked inside the engine: that task is left where it was ...
    wait_running(&kecs, &second).await;
    assert_eq!(
        last_status(&kecs, &first).await.as_deref(),
        Some("PROVISIONING")
    );
    // ... and the loop still takes new work.
    let third = run(&kecs).await;
    wait_running(&kecs, &third).await;
}

#[tokio::test]
async fn a_stopped_controller_runs_again_on_the_same_queue() {
    let kecs = setup().await;
    let launcher = kecs
        .controllers()
        .into_iter()
        .find(|c| c.name() == "task-launcher")
        .unwrap();
    let running = tokio::spawn({
        let launcher = launcher.clone();
        async move { launcher.run().await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await; // the loop takes its queue
                                                         // While one loop holds the queue, a second run of the same controller returns at once.
    tokio::time::timeout(Duration::from_secs(1), launcher.run())
        .await
        .expect("a second run returns at once");
    running.abort();
    let _ = running.await;
    // Work queued while no loop runs waits for the next one.
    let first = run(&kecs).await; // its launch panics: abandoned
    let second = run(&kecs).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        last_status(&kecs, &second).await.as_deref(),
        Some("PROVISIONING"),
        "nothing launches while no loop runs"
    );
    tokio::spawn(async move { launcher.run().await });
    wait_running(&kecs, &second).await;
    assert_eq!(
        last_status(&kecs, &first).await.as_deref(),
        Some("PROVISIONING")
    );
}
