//! The background controllers: the task launcher and stopper, the runtime's reports
//! (lifecycle), the service scheduler (task sets included), the reconciler (start-up recovery
//! and the resync), the retention sweeper and the cleanup of deleted clusters. Requests decide
//! and commit; these do the slow work outside any request.

pub(crate) mod cluster_cleanup;
pub(crate) mod launcher;
pub(crate) mod lifecycle;
pub(crate) mod reconciler;
pub(crate) mod retention;
pub(crate) mod service_pass;
pub(crate) mod service_scheduler;
mod task_set_scheduling;

use std::sync::Arc;

use futures::StreamExt;

use crate::core::work::TaskWork;
use crate::core::Core;

/// How many tasks may be starting or stopping at once.
const CONCURRENT_WORK: usize = 64;

/// Runs the queued work until the queue closes: launches, stops, scheduler passes and cluster
/// cleanups, up to 64 at once. A second call returns at once (the queue has one consumer).
pub(crate) async fn drive(core: Arc<Core>) {
    let Some(receiver) = core.work.take_receiver() else {
        return;
    };
    receiver
        .for_each_concurrent(CONCURRENT_WORK, |work| {
            let core = core.clone();
            async move {
                match &work {
                    TaskWork::Launch(arn) => launcher::launch(&core, arn).await,
                    TaskWork::Stop(arn) => lifecycle::finish_stop(&core, arn).await,
                    TaskWork::Schedule(arn) => service_scheduler::schedule(&core, arn).await,
                    TaskWork::ForgetCluster(arn) => {
                        cluster_cleanup::forget_cluster(&core, arn).await
                    }
                }
                core.work.done(&work);
            }
        })
        .await;
}
