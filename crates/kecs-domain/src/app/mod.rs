//! [`Kecs`]: the facade that kecs-api, kecs-server and embedders hold. The ECS operations reach
//! `ops` through its generated `EcsApi` implementation; the rest are the hooks a host calls to
//! run the controllers and read what the admin port shows.

mod generated;
mod logs_generated;

use std::sync::Arc;
use std::time::Duration;

use crate::control::{
    daemon_scheduler, lifecycle, reconciler, retention, service_scheduler, Controller,
};
use crate::core::Core;
use crate::model::HealthStatus;
use crate::ops::{agent_endpoints, census, execute_command, logs, task_metadata};
use crate::ports::clock::Clock;
use crate::ports::credentials::CredentialSource;
use crate::ports::events::EventBus;
use crate::ports::ids::{Ids, RandomIds};
use crate::ports::runtime::{
    ContainerExit, ContainerRuntime, ExecProcess, ObservedContainer, RuntimeEvent,
};
use crate::ports::secrets::SecretSource;
use crate::ports::store::{Store, StoreError};
use crate::ports::traces::Traces;
use crate::ports::traffic::TrafficRouter;
use crate::rules::container_policy::ContainerPolicy;
use crate::rules::task_endpoints::TaskEndpoints;
use crate::state::Mutation;
use crate::{Census, EcsError, EndpointError, MetadataVersion};
use serde_json::Value;

/// KECS's ECS service over a store, a clock and a container runtime.
pub struct Kecs {
    core: Arc<Core>,
}

impl std::fmt::Debug for Kecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kecs").finish_non_exhaustive()
    }
}

impl Kecs {
    /// Loads the state from `store` and serves from it, running tasks on `runtime`.
    pub async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        runtime: Arc<dyn ContainerRuntime>,
    ) -> Result<Self, StoreError> {
        Self::open_with_ids(store, clock, runtime, Arc::new(RandomIds)).await
    }

    /// [`Kecs::open`], with new IDs (tasks, deployments, events) taken from `ids` instead of
    /// random ones.
    pub async fn open_with_ids(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        runtime: Arc<dyn ContainerRuntime>,
        ids: Arc<dyn Ids>,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            core: Arc::new(Core::open(store, clock, runtime, ids).await?),
        })
    }

    /// Publishes every state change on `bus` from now on (see [`crate::ports::events`]).
    pub fn with_events(self, bus: Arc<dyn EventBus>) -> Self {
        self.core.publish_to(bus);
        self
    }

    /// Applies `policy` to the task definitions registered and the tasks run from now on
    /// (permissive by default).
    pub fn with_container_policy(self, policy: ContainerPolicy) -> Self {
        self.core.set_container_policy(policy);
        self
    }

    /// Resolves tasks' `secrets`, `environmentFiles` and `repositoryCredentials` through
    /// `source` from now on (by default, none: a task that has any fails to start, saying so).
    pub fn with_secrets(self, source: Arc<dyn SecretSource>) -> Self {
        self.core.set_secrets(source);
        self
    }

    /// Tells the containers of tasks launched from now on where the task endpoints are served
    /// (metadata, credentials, agent API); by default they are not told.
    pub fn with_task_endpoints(self, endpoints: Option<TaskEndpoints>) -> Self {
        self.core.set_endpoints(endpoints);
        self
    }

    /// Answers task-role credentials requests from `source` (static test credentials by default).
    pub fn with_task_credentials(self, source: Arc<dyn CredentialSource>) -> Self {
        self.core.set_credentials(source);
        self
    }

    /// Sends services' load balancer traffic through `router` from now on; a task that stops
    /// while it is a target drains for `deregistration_delay` first (by default nothing listens
    /// and nothing drains).
    pub fn with_load_balancers(
        self,
        router: Arc<dyn TrafficRouter>,
        deregistration_delay: std::time::Duration,
    ) -> Self {
        self.core.set_traffic(crate::core::Traffic {
            router,
            deregistration_delay,
        });
        self
    }

    /// Carries traces from the requests and passes that queue work to the controller passes
    /// that do it, through `traces` (by default nothing is carried).
    pub fn with_traces(self, traces: Arc<dyn Traces>) -> Self {
        self.core.set_traces(traces);
        self
    }

    /// Task metadata: the container an endpoint ID names (`${ECS_CONTAINER_METADATA_URI_V4}`),
    /// or its whole task (`/task`).
    pub fn task_metadata(
        &self,
        id: &str,
        version: MetadataVersion,
        whole_task: bool,
    ) -> Result<Value, EndpointError> {
        if whole_task {
            task_metadata::task(&self.core, id, version)
        } else {
            task_metadata::container(&self.core, id, version)
        }
    }

    /// The engine's statistics of the container an endpoint ID names (`/stats`), or of each
    /// container of its task by Docker ID (`/task/stats`).
    pub async fn task_stats(&self, id: &str, whole_task: bool) -> Result<Value, EndpointError> {
        if whole_task {
            task_metadata::task_stats(&self.core, id).await
        } else {
            task_metadata::container_stats(&self.core, id).await
        }
    }

    /// Task-role credentials for a credentials ID (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) and the
    /// request's `Authorization` header.
    pub async fn task_credentials(
        &self,
        id: &str,
        authorization: Option<&str>,
    ) -> Result<Value, EndpointError> {
        agent_endpoints::credentials(&self.core, id, authorization).await
    }

    /// The agent API's task protection (`${ECS_AGENT_URI}/task-protection/v1/state`): read with
    /// no `body`, changed with one.
    pub async fn agent_task_protection(
        &self,
        id: &str,
        body: Option<&[u8]>,
    ) -> Result<Value, EndpointError> {
        agent_endpoints::task_protection(&self.core, id, body).await
    }

    /// Checks that the store answers.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.core.ready().await
    }

    /// Wipes every resource (admin reset).
    pub async fn reset(&self) -> Result<(), EcsError> {
        self.core.write(|_| Ok(((), vec![Mutation::Reset]))).await
    }

    /// Counts the services and tasks of every region and account.
    pub fn census(&self) -> Census {
        census::census(&self.core)
    }

    /// The last `tail` lines (at most 10,000) the container `container` of the task `task` (its
    /// ARN, or its ID when unique) wrote.
    pub async fn container_logs(
        &self,
        task: &str,
        container: &str,
        tail: usize,
    ) -> Result<Vec<String>, EcsError> {
        logs::container_logs(&self.core, task, container, tail).await
    }

    /// Runs every queue-driven controller (task launcher, service scheduler, cluster cleanup)
    /// until their queues close, on the embedding application's async runtime. Call it once (a
    /// second call returns at once); a host that supervises them one by one uses
    /// [`Kecs::controllers`] instead.
    pub async fn drive_tasks(self: Arc<Self>) {
        crate::control::drive(self.core.clone()).await
    }

    /// The queue-driven controllers, each to run (and restart if it ends) on its own.
    pub fn controllers(&self) -> Vec<Controller> {
        Controller::all(&self.core)
    }

    /// Applies what the runtime observed about a container.
    pub async fn on_runtime_event(&self, event: RuntimeEvent) -> Result<(), EcsError> {
        lifecycle::on_runtime_event(&self.core, event).await
    }

    /// Records a container's exit (see [`Kecs::on_runtime_event`]).
    pub async fn on_container_exit(&self, exit: ContainerExit) -> Result<(), EcsError> {
        lifecycle::on_container_exit(&self.core, exit).await
    }

    /// Records a container's health verdict (see [`Kecs::on_runtime_event`]).
    pub async fn on_health(
        &self,
        task_arn: &str,
        container: &str,
        status: HealthStatus,
    ) -> Result<(), EcsError> {
        lifecycle::on_health(&self.core, task_arn, container, status).await
    }

    /// Brings the state in line with what the runtime holds (`startup`: the first look after a
    /// restart adopts, relaunches and removes; later looks report what they see).
    pub async fn reconcile_with(
        &self,
        observed: &[ObservedContainer],
        startup: bool,
    ) -> Result<(), EcsError> {
        reconciler::reconcile_with(&self.core, observed, startup).await
    }

    /// Forgets the tasks stopped longer than `retention` ago; answers how many.
    pub async fn forget_stopped_tasks(&self, retention: Duration) -> Result<usize, EcsError> {
        retention::forget_stopped_tasks(&self.core, retention).await
    }

    /// Opens the stream of an ExecuteCommand session: takes the session (once, with its token)
    /// and starts its command in the task's container (with a terminal when `tty`).
    pub async fn open_exec(
        &self,
        session_id: &str,
        token: &str,
        tty: bool,
    ) -> Result<ExecProcess, EndpointError> {
        execute_command::open(&self.core, session_id, token, tty).await
    }

    /// Queues a scheduler pass for every service that is not INACTIVE, and for every daemon.
    pub fn resync_services(&self) {
        service_scheduler::resync_services(&self.core);
        daemon_scheduler::resync_daemons(&self.core);
    }
}
