//! The core: the in-memory [`State`] and the one write path to it, with the ports every
//! operation and controller shares (store, clock, runtime, event release, the controllers'
//! queues).
//!
//! Reads take a shared lock on the state. A write validates and decides under the exclusive
//! lock, applies its mutations, queues their changes with the store (in lock order, so the store
//! sees writes in the order memory did), releases the lock, and only then waits for the durable
//! commit before answering: an acknowledged write is a committed write, and many writers waiting
//! at once share one commit.
//!
//! A commit that fails leaves its mutations in memory, and writes decided after it may build on
//! them; the store refuses those too. The first failed writer reloads the state from the store
//! (what is durable) and only then lets the store take commits again, so nothing that failed is
//! served for longer than the reload takes, and nothing decided on it becomes durable.

mod events;
pub(crate) mod exec_sessions;
pub(crate) mod work;

pub(crate) use events::{iso8601, OrderedRelease};

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tracing::Instrument;

use crate::rules::container_policy::ContainerPolicy;

use crate::ports::clock::Clock;
use crate::ports::credentials::{CredentialSource, StaticCredentials};
use crate::ports::events::{EventBus, NoEvents};
use crate::ports::ids::Ids;
use crate::ports::runtime::ContainerRuntime;
use crate::ports::secrets::{NoSecrets, SecretSource};
use crate::ports::store::{Store, StoreError};
use crate::ports::traces::{NoTraces, TraceParent, Traces};
use crate::ports::traffic::{NoTraffic, TrafficRouter};
use crate::rules::task_endpoints::TaskEndpoints;
use crate::state::{service_of_task_change, Mutation, State};
use crate::EcsError;
use work::{Queues, TaskWork};

/// The state, its durable write path and the ports; operations and controllers are functions
/// over it.
pub(crate) struct Core {
    state: RwLock<State>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    pub(crate) runtime: Arc<dyn ContainerRuntime>,
    ids: Arc<dyn Ids>,
    policy: RwLock<ContainerPolicy>,
    /// Where tasks' secrets and environment files come from.
    secrets: RwLock<Arc<dyn SecretSource>>,
    /// Where containers reach the metadata and credentials endpoints; none: they are not told.
    endpoints: RwLock<Option<Arc<TaskEndpoints>>>,
    /// Where task-role credentials come from.
    credentials: RwLock<Arc<dyn CredentialSource>>,
    /// Where services' load balancers send traffic (nowhere by default).
    traffic: RwLock<Traffic>,
    /// The tasks each routed service's target groups send traffic to, by service ARN.
    in_service: RwLock<HashMap<String, BTreeSet<String>>>,
    /// Carries traces from what asks for work to the pass that does it (nothing by default).
    traces: RwLock<Arc<dyn Traces>>,
    pub(crate) work: Queues,
    /// ExecuteCommand's sessions not yet opened.
    pub(crate) exec_sessions: exec_sessions::ExecSessions,
    events: OrderedRelease,
    /// How many times the state was reloaded after a failed commit.
    reloads: AtomicU64,
    /// Held while reloading: one reload per failure, however many writers saw it.
    reloading: futures::lock::Mutex<()>,
}

/// Services' local load balancers: the router, and how long a stopping target drains.
#[derive(Clone)]
pub(crate) struct Traffic {
    pub(crate) router: Arc<dyn TrafficRouter>,
    pub(crate) deregistration_delay: std::time::Duration,
}

/// The state as the store holds it.
async fn load_state(store: &dyn Store) -> Result<State, StoreError> {
    // Batch by batch: each batch's documents are dropped once decoded, so a large store is
    // never held twice in memory.
    let mut state = State::default();
    let mut batches = store.load_batches();
    while let Some(batch) = futures::StreamExt::next(&mut batches).await {
        state.load(batch?)?;
    }
    state.index_service_tasks();
    Ok(state)
}

impl Core {
    /// Loads the state from `store` and serves from it, running tasks on `runtime`.
    pub(crate) async fn open(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        runtime: Arc<dyn ContainerRuntime>,
        ids: Arc<dyn Ids>,
    ) -> Result<Self, StoreError> {
        let state = load_state(store.as_ref()).await?;
        Ok(Self {
            state: RwLock::new(state),
            store,
            clock,
            runtime,
            ids,
            policy: RwLock::default(),
            secrets: RwLock::new(Arc::new(NoSecrets)),
            endpoints: RwLock::default(),
            credentials: RwLock::new(Arc::new(StaticCredentials)),
            traffic: RwLock::new(Traffic {
                router: Arc::new(NoTraffic),
                deregistration_delay: std::time::Duration::ZERO,
            }),
            in_service: RwLock::default(),
            traces: RwLock::new(Arc::new(NoTraces)),
            work: Queues::new(),
            exec_sessions: exec_sessions::ExecSessions::default(),
            events: OrderedRelease::new(Arc::new(NoEvents)),
            reloads: AtomicU64::new(0),
            reloading: futures::lock::Mutex::new(()),
        })
    }

    /// Where services' load balancers send traffic, and the deregistration delay.
    pub(crate) fn traffic(&self) -> Traffic {
        self.traffic
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Routes services' load balancers through `traffic` from now on.
    pub(crate) fn set_traffic(&self, traffic: Traffic) {
        *self.traffic.write().unwrap_or_else(|p| p.into_inner()) = traffic;
    }

    /// How traces are carried across the work queues.
    pub(crate) fn traces(&self) -> Arc<dyn Traces> {
        self.traces
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Carries traces through `traces` from now on.
    pub(crate) fn set_traces(&self, traces: Arc<dyn Traces>) {
        *self.traces.write().unwrap_or_else(|p| p.into_inner()) = traces;
    }

    /// The trace context of the current span, for work it queues.
    pub(crate) fn trace_origin(&self) -> Option<TraceParent> {
        self.traces().current()
    }

    /// The tasks the target groups of `service_arn` send traffic to, once it has been routed
    /// (none for a service without a listener).
    pub(crate) fn in_service(&self, service_arn: &str) -> Option<BTreeSet<String>> {
        let all = self.in_service.read().unwrap_or_else(|p| p.into_inner());
        all.get(service_arn).cloned()
    }

    /// Records the tasks the target groups of `service_arn` send traffic to; true when that
    /// changed.
    pub(crate) fn set_in_service(&self, service_arn: &str, tasks: BTreeSet<String>) -> bool {
        let mut all = self.in_service.write().unwrap_or_else(|p| p.into_inner());
        all.insert(service_arn.to_string(), tasks.clone()) != Some(tasks)
    }

    /// Forgets what the target groups of a deleted service sent traffic to.
    pub(crate) fn forget_in_service(&self, service_arn: &str) {
        let mut all = self.in_service.write().unwrap_or_else(|p| p.into_inner());
        all.remove(service_arn);
    }

    /// Publishes every state change on `bus` from now on.
    pub(crate) fn publish_to(&self, bus: Arc<dyn EventBus>) {
        self.events.set_bus(bus);
    }

    /// Checks that the store answers.
    pub(crate) async fn ready(&self) -> Result<(), StoreError> {
        self.store.ping().await
    }

    /// The store's durable groups not yet in its database ([`Store::backlog`]).
    pub(crate) fn store_backlog(&self) -> Option<u64> {
        self.store.backlog()
    }

    /// What task definitions may ask of the machine.
    pub(crate) fn container_policy(&self) -> ContainerPolicy {
        *self.policy.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `policy` to task definitions registered and tasks run from now on.
    pub(crate) fn set_container_policy(&self, policy: ContainerPolicy) {
        *self.policy.write().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// Where tasks' secrets and environment files come from.
    pub(crate) fn secrets(&self) -> Arc<dyn SecretSource> {
        self.secrets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_secrets(&self, source: Arc<dyn SecretSource>) {
        *self.secrets.write().unwrap_or_else(|p| p.into_inner()) = source;
    }

    /// Where containers reach the task endpoints, if they are served.
    pub(crate) fn endpoints(&self) -> Option<Arc<TaskEndpoints>> {
        self.endpoints
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_endpoints(&self, endpoints: Option<TaskEndpoints>) {
        *self.endpoints.write().unwrap_or_else(|p| p.into_inner()) = endpoints.map(Arc::new);
    }

    /// Where task-role credentials come from.
    pub(crate) fn credentials(&self) -> Arc<dyn CredentialSource> {
        self.credentials
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn set_credentials(&self, source: Arc<dyn CredentialSource>) {
        *self.credentials.write().unwrap_or_else(|p| p.into_inner()) = source;
    }

    /// Where new IDs come from.
    pub(crate) fn ids(&self) -> &dyn Ids {
        self.ids.as_ref()
    }

    pub(crate) fn now(&self) -> f64 {
        self.clock.now()
    }

    /// Waits `d` on the clock (a controller looking again at what it waits for).
    pub(crate) async fn sleep(&self, d: std::time::Duration) {
        self.clock.sleep(d).await;
    }

    /// Queues engine or scheduler work for the controllers.
    pub(crate) fn enqueue(&self, work: TaskWork) {
        self.work.push(work, self.trace_origin());
    }

    pub(crate) fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        f(&state)
    }

    /// Runs `decide` under the write lock; applies the mutations it returns and waits for
    /// their commit. A decision that fails changes nothing.
    pub(crate) async fn write<R>(
        &self,
        decide: impl FnOnce(&State) -> Result<(R, Vec<Mutation>), EcsError>,
    ) -> Result<R, EcsError> {
        let commit_span;
        let commit = {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            let (result, mutations) = decide(&state)?;
            if mutations.is_empty() {
                return Ok(result);
            }
            let touched: Vec<String> = mutations
                .iter()
                .filter_map(service_of_task_change)
                .collect();
            let daemons: Vec<String> = mutations
                .iter()
                .flat_map(|m| state.daemons_touched(m))
                .collect();
            let now = self.now();
            let mut events = vec![];
            let mut changes = Vec::with_capacity(mutations.len());
            for m in mutations {
                if state.changes_nothing(&m) {
                    continue;
                }
                events.extend(events::derive(&state, &m, now));
                changes.push(state.apply(m)?);
            }
            for event in &mut events {
                event.id = self.ids.uuid();
            }
            let ticket = self.events.ticket();
            let reloads = self.reloads.load(Ordering::Acquire);
            // The store may record the group the commit shared (`group`).
            commit_span = tracing::debug_span!(
                "commit",
                changes = changes.len(),
                group = tracing::field::Empty
            );
            (
                result,
                commit_span.in_scope(|| self.store.commit(changes)),
                (touched, daemons),
                ticket,
                events,
                reloads,
            )
        };
        let (result, durable, (touched, daemons), ticket, events, reloads) = commit;
        // Should this future be dropped here (the client hung up), the ticket releases its place
        // with no events: the write may still commit, but nothing after it is held back.
        let committed = durable.instrument(commit_span).await;
        // Only a committed change is announced; a failed one still releases its place.
        ticket.finish(if committed.is_ok() { events } else { vec![] });
        if let Err(e) = committed {
            self.reload_after_failure(reloads).await;
            return Err(EcsError::internal("commit failed", e));
        }
        // A service's task changed: its scheduler looks again (cost follows changes, not tasks).
        // The trace context is read once, and only when there is work to queue.
        let origin = match touched.is_empty() {
            true => None,
            false => self.trace_origin(),
        };
        for service in touched {
            self.work
                .push(TaskWork::Route(service.clone()), origin.clone());
            self.work.push(TaskWork::Schedule(service), origin.clone());
        }
        for daemon in daemons {
            self.enqueue(TaskWork::ScheduleDaemon(daemon));
        }
        Ok(result)
    }

    /// A commit decided when the state had been reloaded `seen` times failed: unless that was
    /// done since, reloads the state from the store and lets the store take commits again.
    async fn reload_after_failure(&self, seen: u64) {
        let _one = self.reloading.lock().await;
        if self.reloads.load(Ordering::Acquire) != seen {
            return;
        }
        let state = match load_state(self.store.as_ref()).await {
            Ok(state) => state,
            Err(e) => {
                // Writes stay refused; the next one that fails tries again.
                tracing::error!(error = %e, "reloading the state after a failed commit failed; writes stay refused");
                return;
            }
        };
        let resumed = {
            let mut current = self.state.write().unwrap_or_else(|p| p.into_inner());
            *current = state;
            self.reloads.fetch_add(1, Ordering::AcqRel);
            // Queued under the lock: after every commit decided on the state just replaced.
            self.store.resume()
        };
        match resumed.await {
            Ok(()) => tracing::warn!("the state was reloaded from the store after a failed commit; writes are taken again"),
            Err(e) => tracing::error!(error = %e, "the store did not take writes again"),
        }
    }
}
