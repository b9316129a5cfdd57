//! The application service: one [`Kecs`] implementing [`EcsApi`], its operations split by area.
//!
//! Reads take a shared lock on the in-memory [`State`]. A write validates and decides under the
//! exclusive lock, applies its mutations, queues their changes with the store (in lock order, so
//! the store sees writes in the order memory did), releases the lock, and only then waits for the
//! durable commit before answering: an acknowledged write is a committed write, and many writers
//! waiting at once share one commit.

mod account_settings;
mod attributes;
mod capacity_providers;
mod census;
mod clusters;
mod deployment_history;
pub mod launch;
pub mod lifecycle;
mod logs;
pub mod recovery;
mod retention;
pub mod scheduler;
mod service_controller;
mod service_deployments;
mod services;
mod tags;
mod task_definitions;
mod task_set_scheduling;
mod task_sets;
pub mod task_state;
mod tasks;
pub mod work;

pub use census::Census;

use std::sync::{Arc, RwLock};

use crate::api::EcsApi;
use crate::clock::Clock;
use crate::events::{EventBus, NoEvents, OrderedRelease};
use crate::model::*;
use crate::runtime::ContainerRuntime;
use crate::state::{Mutation, State};
use crate::store::{Store, StoreError};
use crate::{EcsError, RequestContext};

/// KECS's ECS service over a store and a clock.
pub struct Kecs {
    state: RwLock<State>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    runtime: Arc<dyn ContainerRuntime>,
    work: work::WorkQueue,
    events: OrderedRelease,
}

/// The failure a Describe operation reports for a resource it does not find.
pub(crate) fn missing(arn: String) -> Failure {
    Failure {
        arn: Some(arn),
        reason: Some("MISSING".into()),
        detail: None,
    }
}

/// The family of a task definition ARN (`.../task-definition/<family>:<revision>`).
pub(crate) fn family_of(task_definition_arn: Option<&str>) -> Option<String> {
    let rest = task_definition_arn?.split(":task-definition/").nth(1)?;
    rest.split(':').next().map(str::to_string)
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
        // Batch by batch: each batch's documents are dropped once decoded, so a large store
        // is never held twice in memory.
        let mut state = State::default();
        let mut batches = store.load_batches();
        while let Some(batch) = futures::StreamExt::next(&mut batches).await {
            state.load(batch?)?;
        }
        state.index_service_tasks();
        Ok(Self {
            state: RwLock::new(state),
            store,
            clock,
            runtime,
            work: work::WorkQueue::new(),
            events: OrderedRelease::new(Arc::new(NoEvents)),
        })
    }

    /// Publishes every state change on `bus` from now on (see [`crate::events`]).
    pub fn with_events(mut self, bus: Arc<dyn EventBus>) -> Self {
        self.events = OrderedRelease::new(bus);
        self
    }

    /// Checks that the store answers.
    pub async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// Wipes every resource (admin reset).
    pub async fn reset(&self) -> Result<(), EcsError> {
        self.write(|_| Ok(((), vec![Mutation::Reset]))).await
    }

    fn now(&self) -> f64 {
        self.clock.now()
    }

    fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        f(&state)
    }

    /// Runs `decide` under the write lock; applies the mutations it returns and waits for
    /// their commit. A decision that fails changes nothing.
    async fn write<R>(
        &self,
        decide: impl FnOnce(&State) -> Result<(R, Vec<Mutation>), EcsError>,
    ) -> Result<R, EcsError> {
        let commit = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            let (result, mutations) = decide(&state)?;
            if mutations.is_empty() {
                return Ok(result);
            }
            let touched: Vec<String> = mutations
                .iter()
                .filter_map(services::service_of_task_change)
                .collect();
            let now = self.now();
            let mut events = vec![];
            let mut changes = Vec::with_capacity(mutations.len());
            for m in mutations {
                events.extend(crate::events::derive(&state, &m, now));
                changes.push(state.apply(m)?);
            }
            let ticket = self.events.ticket();
            (result, self.store.commit(changes), touched, ticket, events)
        };
        let (result, durable, touched, ticket, events) = commit;
        let committed = durable.await;
        // Only a committed change is announced; a failed one still releases its place.
        self.events
            .finish(ticket, if committed.is_ok() { events } else { vec![] });
        committed.map_err(|e| EcsError::Internal(format!("commit failed: {e}")))?;
        // A service's task changed: its scheduler looks again (cost follows changes, not tasks).
        for service in touched {
            self.enqueue(work::TaskWork::Schedule(service));
        }
        Ok(result)
    }
}

#[async_trait::async_trait]
impl EcsApi for Kecs {
    async fn create_cluster(
        &self,
        ctx: &RequestContext,
        input: CreateClusterRequest,
    ) -> Result<CreateClusterResponse, EcsError> {
        self.create_cluster_op(ctx, input).await
    }
    async fn describe_clusters(
        &self,
        ctx: &RequestContext,
        input: DescribeClustersRequest,
    ) -> Result<DescribeClustersResponse, EcsError> {
        self.describe_clusters_op(ctx, input)
    }
    async fn list_clusters(
        &self,
        ctx: &RequestContext,
        input: ListClustersRequest,
    ) -> Result<ListClustersResponse, EcsError> {
        self.list_clusters_op(ctx, input)
    }
    async fn update_cluster(
        &self,
        ctx: &RequestContext,
        input: UpdateClusterRequest,
    ) -> Result<UpdateClusterResponse, EcsError> {
        self.update_cluster_op(ctx, input).await
    }
    async fn update_cluster_settings(
        &self,
        ctx: &RequestContext,
        input: UpdateClusterSettingsRequest,
    ) -> Result<UpdateClusterSettingsResponse, EcsError> {
        self.update_cluster_settings_op(ctx, input).await
    }
    async fn put_cluster_capacity_providers(
        &self,
        ctx: &RequestContext,
        input: PutClusterCapacityProvidersRequest,
    ) -> Result<PutClusterCapacityProvidersResponse, EcsError> {
        self.put_cluster_capacity_providers_op(ctx, input).await
    }
    async fn delete_cluster(
        &self,
        ctx: &RequestContext,
        input: DeleteClusterRequest,
    ) -> Result<DeleteClusterResponse, EcsError> {
        self.delete_cluster_op(ctx, input).await
    }
    async fn register_task_definition(
        &self,
        ctx: &RequestContext,
        input: RegisterTaskDefinitionRequest,
    ) -> Result<RegisterTaskDefinitionResponse, EcsError> {
        self.register_task_definition_op(ctx, input).await
    }
    async fn describe_task_definition(
        &self,
        ctx: &RequestContext,
        input: DescribeTaskDefinitionRequest,
    ) -> Result<DescribeTaskDefinitionResponse, EcsError> {
        self.describe_task_definition_op(ctx, input)
    }
    async fn list_task_definitions(
        &self,
        ctx: &RequestContext,
        input: ListTaskDefinitionsRequest,
    ) -> Result<ListTaskDefinitionsResponse, EcsError> {
        self.list_task_definitions_op(ctx, input)
    }
    async fn list_task_definition_families(
        &self,
        ctx: &RequestContext,
        input: ListTaskDefinitionFamiliesRequest,
    ) -> Result<ListTaskDefinitionFamiliesResponse, EcsError> {
        self.list_task_definition_families_op(ctx, input)
    }
    async fn deregister_task_definition(
        &self,
        ctx: &RequestContext,
        input: DeregisterTaskDefinitionRequest,
    ) -> Result<DeregisterTaskDefinitionResponse, EcsError> {
        self.deregister_task_definition_op(ctx, input).await
    }
    async fn delete_task_definitions(
        &self,
        ctx: &RequestContext,
        input: DeleteTaskDefinitionsRequest,
    ) -> Result<DeleteTaskDefinitionsResponse, EcsError> {
        self.delete_task_definitions_op(ctx, input).await
    }
    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse, EcsError> {
        self.tag_resource_op(ctx, input).await
    }
    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse, EcsError> {
        self.untag_resource_op(ctx, input).await
    }
    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse, EcsError> {
        self.list_tags_for_resource_op(ctx, input)
    }
    async fn put_account_setting(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingRequest,
    ) -> Result<PutAccountSettingResponse, EcsError> {
        self.put_account_setting_op(ctx, input).await
    }
    async fn put_account_setting_default(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingDefaultRequest,
    ) -> Result<PutAccountSettingDefaultResponse, EcsError> {
        self.put_account_setting_default_op(ctx, input).await
    }
    async fn delete_account_setting(
        &self,
        ctx: &RequestContext,
        input: DeleteAccountSettingRequest,
    ) -> Result<DeleteAccountSettingResponse, EcsError> {
        self.delete_account_setting_op(ctx, input).await
    }
    async fn list_account_settings(
        &self,
        ctx: &RequestContext,
        input: ListAccountSettingsRequest,
    ) -> Result<ListAccountSettingsResponse, EcsError> {
        self.list_account_settings_op(ctx, input)
    }
    async fn put_attributes(
        &self,
        ctx: &RequestContext,
        input: PutAttributesRequest,
    ) -> Result<PutAttributesResponse, EcsError> {
        self.put_attributes_op(ctx, input).await
    }
    async fn delete_attributes(
        &self,
        ctx: &RequestContext,
        input: DeleteAttributesRequest,
    ) -> Result<DeleteAttributesResponse, EcsError> {
        self.delete_attributes_op(ctx, input).await
    }
    async fn list_attributes(
        &self,
        ctx: &RequestContext,
        input: ListAttributesRequest,
    ) -> Result<ListAttributesResponse, EcsError> {
        self.list_attributes_op(ctx, input)
    }
    async fn create_capacity_provider(
        &self,
        ctx: &RequestContext,
        input: CreateCapacityProviderRequest,
    ) -> Result<CreateCapacityProviderResponse, EcsError> {
        self.create_capacity_provider_op(ctx, input).await
    }
    async fn describe_capacity_providers(
        &self,
        ctx: &RequestContext,
        input: DescribeCapacityProvidersRequest,
    ) -> Result<DescribeCapacityProvidersResponse, EcsError> {
        self.describe_capacity_providers_op(ctx, input)
    }
    async fn update_capacity_provider(
        &self,
        ctx: &RequestContext,
        input: UpdateCapacityProviderRequest,
    ) -> Result<UpdateCapacityProviderResponse, EcsError> {
        self.update_capacity_provider_op(ctx, input).await
    }
    async fn delete_capacity_provider(
        &self,
        ctx: &RequestContext,
        input: DeleteCapacityProviderRequest,
    ) -> Result<DeleteCapacityProviderResponse, EcsError> {
        self.delete_capacity_provider_op(ctx, input).await
    }
    async fn run_task(
        &self,
        ctx: &RequestContext,
        input: RunTaskRequest,
    ) -> Result<RunTaskResponse, EcsError> {
        self.run_task_op(ctx, input).await
    }
    async fn create_service(
        &self,
        ctx: &RequestContext,
        input: CreateServiceRequest,
    ) -> Result<CreateServiceResponse, EcsError> {
        self.create_service_op(ctx, input).await
    }
    async fn update_service(
        &self,
        ctx: &RequestContext,
        input: UpdateServiceRequest,
    ) -> Result<UpdateServiceResponse, EcsError> {
        self.update_service_op(ctx, input).await
    }
    async fn delete_service(
        &self,
        ctx: &RequestContext,
        input: DeleteServiceRequest,
    ) -> Result<DeleteServiceResponse, EcsError> {
        self.delete_service_op(ctx, input).await
    }
    async fn describe_services(
        &self,
        ctx: &RequestContext,
        input: DescribeServicesRequest,
    ) -> Result<DescribeServicesResponse, EcsError> {
        self.describe_services_op(ctx, input)
    }
    async fn list_services(
        &self,
        ctx: &RequestContext,
        input: ListServicesRequest,
    ) -> Result<ListServicesResponse, EcsError> {
        self.list_services_op(ctx, input)
    }
    async fn start_task(
        &self,
        ctx: &RequestContext,
        input: StartTaskRequest,
    ) -> Result<StartTaskResponse, EcsError> {
        self.start_task_op(ctx, input).await
    }
    async fn stop_task(
        &self,
        ctx: &RequestContext,
        input: StopTaskRequest,
    ) -> Result<StopTaskResponse, EcsError> {
        self.stop_task_op(ctx, input).await
    }
    async fn describe_tasks(
        &self,
        ctx: &RequestContext,
        input: DescribeTasksRequest,
    ) -> Result<DescribeTasksResponse, EcsError> {
        self.describe_tasks_op(ctx, input)
    }
    async fn list_tasks(
        &self,
        ctx: &RequestContext,
        input: ListTasksRequest,
    ) -> Result<ListTasksResponse, EcsError> {
        self.list_tasks_op(ctx, input)
    }
    async fn list_service_deployments(
        &self,
        ctx: &RequestContext,
        input: ListServiceDeploymentsRequest,
    ) -> Result<ListServiceDeploymentsResponse, EcsError> {
        self.list_service_deployments_op(ctx, input)
    }
    async fn describe_service_deployments(
        &self,
        ctx: &RequestContext,
        input: DescribeServiceDeploymentsRequest,
    ) -> Result<DescribeServiceDeploymentsResponse, EcsError> {
        self.describe_service_deployments_op(ctx, input)
    }
    async fn describe_service_revisions(
        &self,
        ctx: &RequestContext,
        input: DescribeServiceRevisionsRequest,
    ) -> Result<DescribeServiceRevisionsResponse, EcsError> {
        self.describe_service_revisions_op(ctx, input)
    }
    async fn stop_service_deployment(
        &self,
        ctx: &RequestContext,
        input: StopServiceDeploymentRequest,
    ) -> Result<StopServiceDeploymentResponse, EcsError> {
        self.stop_service_deployment_op(ctx, input).await
    }
    async fn create_task_set(
        &self,
        ctx: &RequestContext,
        input: CreateTaskSetRequest,
    ) -> Result<CreateTaskSetResponse, EcsError> {
        self.create_task_set_op(ctx, input).await
    }
    async fn update_task_set(
        &self,
        ctx: &RequestContext,
        input: UpdateTaskSetRequest,
    ) -> Result<UpdateTaskSetResponse, EcsError> {
        self.update_task_set_op(ctx, input).await
    }
    async fn delete_task_set(
        &self,
        ctx: &RequestContext,
        input: DeleteTaskSetRequest,
    ) -> Result<DeleteTaskSetResponse, EcsError> {
        self.delete_task_set_op(ctx, input).await
    }
    async fn describe_task_sets(
        &self,
        ctx: &RequestContext,
        input: DescribeTaskSetsRequest,
    ) -> Result<DescribeTaskSetsResponse, EcsError> {
        self.describe_task_sets_op(ctx, input)
    }
    async fn update_service_primary_task_set(
        &self,
        ctx: &RequestContext,
        input: UpdateServicePrimaryTaskSetRequest,
    ) -> Result<UpdateServicePrimaryTaskSetResponse, EcsError> {
        self.update_service_primary_task_set_op(ctx, input).await
    }
    async fn list_services_by_namespace(
        &self,
        ctx: &RequestContext,
        input: ListServicesByNamespaceRequest,
    ) -> Result<ListServicesByNamespaceResponse, EcsError> {
        self.list_services_by_namespace_op(ctx, input)
    }
}
