//! The container runtime with its failures counted (`kecs_runtime_errors_total`) and each call
//! in a span (`docker create_container`, with the engine's error): every runtime call goes
//! through here, so every engine call is counted and traced once, whichever adapter runs.

use std::future::Future;
use std::sync::Arc;

use futures::stream::BoxStream;
use futures::StreamExt;
use kecs_domain::model::{Task, TaskDefinition};
use kecs_domain::ports::runtime::{
    ContainerRuntime, ContainerState, LogLine, NetworkNames, ObservedContainer, RegistryAuth,
    RuntimeError, RuntimeEvent, StartedContainer,
};
use prometheus::IntCounter;
use tracing::Instrument;

/// A runtime whose failed calls increment a counter.
pub struct CountedRuntime {
    inner: Arc<dyn ContainerRuntime>,
    errors: IntCounter,
}

impl CountedRuntime {
    /// Counts `inner`'s failures into `errors`.
    pub fn new(inner: Arc<dyn ContainerRuntime>, errors: IntCounter) -> Self {
        Self { inner, errors }
    }

    /// Runs the runtime call `call` in its span; a failure is counted and recorded on the span.
    async fn call<T>(
        &self,
        call: &'static str,
        work: impl Future<Output = Result<T, RuntimeError>>,
    ) -> Result<T, RuntimeError> {
        let runtime = self.inner.name();
        let span = tracing::debug_span!(
            "runtime call",
            otel.name = %format!("{runtime} {call}"),
            runtime,
            call,
            error = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        let result = work.instrument(span.clone()).await;
        if let Err(e) = &result {
            self.errors.inc();
            span.record("error", tracing::field::display(e));
            span.record("otel.status_code", "ERROR");
        }
        result
    }
}

#[async_trait::async_trait]
impl ContainerRuntime for CountedRuntime {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn is_emulated(&self) -> bool {
        self.inner.is_emulated()
    }

    fn events(&self) -> BoxStream<'static, Result<RuntimeEvent, RuntimeError>> {
        let errors = self.errors.clone();
        Box::pin(self.inner.events().inspect(move |e| {
            if e.is_err() {
                errors.inc();
            }
        }))
    }

    async fn prepare_task(
        &self,
        task: &Task,
        definition: &TaskDefinition,
    ) -> Result<(), RuntimeError> {
        self.call("prepare_task", self.inner.prepare_task(task, definition))
            .await
    }

    async fn create_container(
        &self,
        task: &Task,
        definition: &TaskDefinition,
        name: &str,
        created: &[StartedContainer],
        auth: Option<&RegistryAuth>,
        names: &NetworkNames,
    ) -> Result<StartedContainer, RuntimeError> {
        self.call(
            "create_container",
            self.inner
                .create_container(task, definition, name, created, auth, names),
        )
        .await
    }

    async fn start_container(
        &self,
        task: &Task,
        container: &StartedContainer,
    ) -> Result<StartedContainer, RuntimeError> {
        self.call(
            "start_container",
            self.inner.start_container(task, container),
        )
        .await
    }

    async fn container_state(&self, runtime_id: &str) -> Result<ContainerState, RuntimeError> {
        self.call("container_state", self.inner.container_state(runtime_id))
            .await
    }

    async fn stop_task(&self, task: &Task) -> Result<(), RuntimeError> {
        self.call("stop_task", self.inner.stop_task(task)).await
    }

    async fn remove_task(&self, task_arn: &str) -> Result<(), RuntimeError> {
        self.call("remove_task", self.inner.remove_task(task_arn))
            .await
    }

    async fn logs(
        &self,
        task: &Task,
        container: &str,
        tail: Option<usize>,
    ) -> Result<Vec<LogLine>, RuntimeError> {
        self.call("logs", self.inner.logs(task, container, tail))
            .await
    }

    async fn container_stats(
        &self,
        runtime_id: &str,
    ) -> Result<Option<serde_json::Value>, RuntimeError> {
        self.call("container_stats", self.inner.container_stats(runtime_id))
            .await
    }

    fn engine_name(&self, task: &Task, container: &str) -> Option<String> {
        self.inner.engine_name(task, container)
    }

    fn host_resources(&self) -> Option<kecs_domain::ports::runtime::HostResources> {
        self.inner.host_resources()
    }

    async fn inventory(&self) -> Result<Vec<ObservedContainer>, RuntimeError> {
        self.call("inventory", self.inner.inventory()).await
    }

    async fn remove_cluster(&self, cluster_arn: &str) -> Result<(), RuntimeError> {
        self.call("remove_cluster", self.inner.remove_cluster(cluster_arn))
            .await
    }

    async fn remove_service(&self, service_arn: &str) -> Result<(), RuntimeError> {
        self.call("remove_service", self.inner.remove_service(service_arn))
            .await
    }

    async fn exec(
        &self,
        task: &Task,
        container: &str,
        command: &[String],
        tty: bool,
    ) -> Result<kecs_domain::ports::runtime::ExecProcess, RuntimeError> {
        self.call("exec", self.inner.exec(task, container, command, tty))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kecs_domain::ports::runtime::NoneRuntime;

    /// An engine that refuses every task.
    struct Refusing;

    #[async_trait::async_trait]
    impl ContainerRuntime for Refusing {
        fn name(&self) -> &'static str {
            "refusing"
        }
        async fn prepare_task(&self, _: &Task, _: &TaskDefinition) -> Result<(), RuntimeError> {
            Err(RuntimeError::engine("the engine refuses"))
        }
        async fn create_container(
            &self,
            _: &Task,
            _: &TaskDefinition,
            _: &str,
            _: &[StartedContainer],
            _: Option<&RegistryAuth>,
            _: &NetworkNames,
        ) -> Result<StartedContainer, RuntimeError> {
            Err(RuntimeError::engine("the engine refuses"))
        }
        async fn start_container(
            &self,
            _: &Task,
            _: &StartedContainer,
        ) -> Result<StartedContainer, RuntimeError> {
            Err(RuntimeError::engine("the engine refuses"))
        }
        async fn container_state(&self, _: &str) -> Result<ContainerState, RuntimeError> {
            Err(RuntimeError::engine("the engine refuses"))
        }
        async fn stop_task(&self, _: &Task) -> Result<(), RuntimeError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn failures_are_counted_and_successes_are_not() {
        let errors = IntCounter::new("e", "e").unwrap();
        let none = CountedRuntime::new(Arc::new(NoneRuntime), errors.clone());
        none.stop_task(&Task::default()).await.unwrap();
        assert_eq!(errors.get(), 0);
        let refusing = CountedRuntime::new(Arc::new(Refusing), errors.clone());
        assert!(refusing.inventory().await.is_ok());
        assert_eq!(errors.get(), 0);
        let refused = refusing
            .prepare_task(&Task::default(), &TaskDefinition::default())
            .await;
        assert!(refused.is_err());
        assert_eq!(errors.get(), 1);
    }
}
