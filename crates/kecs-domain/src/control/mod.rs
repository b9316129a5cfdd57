//! The background controllers. Requests decide and commit; these do the slow work outside any
//! request, each from its own queue in its own loop:
//!
//! - the task launcher ([`launcher`], [`lifecycle`]): starts and stops tasks' containers, with
//!   their secrets and environment files resolved at launch (`task_secrets`);
//! - the service scheduler ([`service_scheduler`], task sets included): one pass per service
//!   that changed;
//! - the cluster cleanup ([`cluster_cleanup`]): what the runtime keeps of a deleted cluster;
//! - the daemon scheduler ([`daemon_scheduler`]): one pass per daemon that changed, or whose
//!   cluster's container instances did.
//!
//! The reconciler ([`reconciler`]: start-up recovery and the resync) and the retention sweeper
//! ([`retention`]) have no queue: the host calls them on its own schedule. A job that panics is
//! logged and abandoned; the loop goes on.

mod blue_green_pass;
pub(crate) mod cluster_cleanup;
pub(crate) mod daemon_scheduler;
pub(crate) mod launcher;
pub(crate) mod lifecycle;
pub(crate) mod reconciler;
pub(crate) mod retention;
pub(crate) mod service_pass;
pub(crate) mod service_scheduler;
pub(crate) mod target_groups;
pub(crate) mod task_endpoints;
mod task_logs;
mod task_names;
mod task_secrets;
mod task_set_scheduling;

use std::future::Future;
use std::hash::Hash;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::channel::mpsc::UnboundedReceiver;
use futures::{FutureExt, StreamExt};
use tracing::Instrument;

use crate::core::work::{TaskJob, WorkQueue};
use crate::core::Core;

/// How many tasks may be starting or stopping at once.
const CONCURRENT_TASKS: usize = 64;
/// How many services may be in a scheduler pass at once.
const CONCURRENT_SERVICES: usize = 16;
/// How many deleted clusters may be cleaned up at once.
const CONCURRENT_CLUSTERS: usize = 4;
/// How many daemons may be in a scheduler pass at once.
const CONCURRENT_DAEMONS: usize = 8;

/// One queue-driven controller: which one, and the core it works on.
#[derive(Clone)]
pub struct Controller {
    kind: Kind,
    core: Arc<Core>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    TaskLauncher,
    ServiceScheduler,
    ClusterCleanup,
    DaemonScheduler,
    LoadBalancers,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("name", &self.name())
            .finish_non_exhaustive()
    }
}

impl Controller {
    /// Every queue-driven controller of `core`.
    pub(crate) fn all(core: &Arc<Core>) -> Vec<Controller> {
        [
            Kind::TaskLauncher,
            Kind::ServiceScheduler,
            Kind::ClusterCleanup,
            Kind::DaemonScheduler,
            Kind::LoadBalancers,
        ]
        .into_iter()
        .map(|kind| Controller {
            kind,
            core: core.clone(),
        })
        .collect()
    }

    /// Its name, for logs and readiness (`task-launcher`, `service-scheduler`, `cluster-cleanup`,
    /// `daemon-scheduler`).
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::TaskLauncher => "task-launcher",
            Kind::ServiceScheduler => "service-scheduler",
            Kind::ClusterCleanup => "cluster-cleanup",
            Kind::DaemonScheduler => "daemon-scheduler",
            Kind::LoadBalancers => "load-balancers",
        }
    }

    /// Does the controller's queued work until the queue closes. While it runs, a second `run`
    /// of the same controller returns at once; once it has ended (even by a panic), `run` may be
    /// called again and carries on with the queue. Each job runs in its own span, continuing the
    /// trace of what asked for it.
    pub async fn run(&self) {
        let core = &self.core;
        match self.kind {
            Kind::TaskLauncher => {
                let span = |job: &TaskJob| match job {
                    TaskJob::Launch(arn) => tracing::info_span!(
                        parent: None,
                        "launch task",
                        task = %arn,
                        last_status = tracing::field::Empty
                    ),
                    TaskJob::Stop(arn) => {
                        tracing::info_span!(parent: None, "stop task", task = %arn)
                    }
                };
                drain(
                    core,
                    &core.work.tasks,
                    CONCURRENT_TASKS,
                    span,
                    |job| async move {
                        match &job {
                            TaskJob::Launch(arn) => launcher::launch(core, arn).await,
                            TaskJob::Stop(arn) => {
                                // A load balancer's target drains before it stops.
                                target_groups::drain(core, arn).await;
                                lifecycle::finish_stop(core, arn).await
                            }
                        }
                    },
                )
                .await
            }
            Kind::ServiceScheduler => {
                let span = |arn: &String| tracing::info_span!(parent: None, "scheduler pass", service = %arn);
                drain(
                    core,
                    &core.work.services,
                    CONCURRENT_SERVICES,
                    span,
                    |arn| async move { service_scheduler::schedule(core, &arn).await },
                )
                .await
            }
            Kind::ClusterCleanup => {
                let span = |arn: &String| tracing::info_span!(parent: None, "cluster cleanup", cluster = %arn);
                drain(
                    core,
                    &core.work.clusters,
                    CONCURRENT_CLUSTERS,
                    span,
                    |arn| async move { cluster_cleanup::forget_cluster(core, &arn).await },
                )
                .await
            }
            Kind::DaemonScheduler => {
                let span =
                    |arn: &String| tracing::info_span!(parent: None, "daemon pass", daemon = %arn);
                drain(
                    core,
                    &core.work.daemons,
                    CONCURRENT_DAEMONS,
                    span,
                    |arn| async move { daemon_scheduler::schedule(core, &arn).await },
                )
                .await
            }
            Kind::LoadBalancers => {
                let span = |arn: &String| tracing::info_span!(parent: None, "load balancer pass", service = %arn);
                drain(
                    core,
                    &core.work.targets,
                    CONCURRENT_SERVICES,
                    span,
                    |arn| async move { target_groups::route(core, &arn).await },
                )
                .await
            }
        }
    }
}

/// Gives the receiver back to its queue when the loop that holds it ends, however it ends.
struct Lease<'q, J: Clone + Eq + Hash> {
    queue: &'q WorkQueue<J>,
    receiver: Option<UnboundedReceiver<J>>,
}

impl<J: Clone + Eq + Hash> Drop for Lease<'_, J> {
    fn drop(&mut self) {
        if let Some(receiver) = self.receiver.take() {
            self.queue.give_back(receiver);
        }
    }
}

/// Runs `job` for each piece of work on `queue`, up to `concurrency` at once, until the queue
/// closes, each in the span `span` makes for it (a child of the trace that asked for the work).
/// A job that panics is logged and marked done, so its work can be asked for again.
async fn drain<'q, J, S, F, Fut>(
    core: &Core,
    queue: &'q WorkQueue<J>,
    concurrency: usize,
    span: S,
    job: F,
) where
    J: Clone + Eq + Hash + std::fmt::Debug + Send + 'q,
    S: Fn(&J) -> tracing::Span,
    F: Fn(J) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(receiver) = queue.take_receiver() else {
        // Another loop holds the queue.
        return;
    };
    let mut lease = Lease {
        queue,
        receiver: Some(receiver),
    };
    let Some(receiver) = lease.receiver.as_mut() else {
        return;
    };
    receiver
        .by_ref()
        .for_each_concurrent(concurrency, |work| {
            let span = span(&work);
            if let Some(origin) = queue.take_origin(&work) {
                core.traces().continue_in(&span, &origin);
            }
            let run = AssertUnwindSafe(job(work.clone()).instrument(span)).catch_unwind();
            async move {
                if run.await.is_err() {
                    tracing::error!(?work, "a controller's job panicked; it is abandoned");
                }
                queue.done(&work);
            }
        })
        .await;
}

/// Runs every queue-driven controller of `core` until their queues close.
pub(crate) async fn drive(core: Arc<Core>) {
    let controllers = Controller::all(&core);
    futures::future::join_all(controllers.iter().map(Controller::run)).await;
}
