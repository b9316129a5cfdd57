//! The task controller's work queue: requests decide and commit, the controller does the slow
//! engine work (starting containers in dependency order, stopping them) outside any request.
//!
//! The queue is a plain channel, so the domain needs no async runtime: whoever embeds [`Kecs`]
//! with a real container runtime runs [`Kecs::drive_tasks`] on theirs (kecs-server spawns it).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures::StreamExt;

use super::Kecs;

/// How many tasks may be starting or stopping at once.
const CONCURRENT_WORK: usize = 64;

/// Engine work for one task.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskWork {
    /// Start the containers of a PROVISIONING task.
    Launch(String),
    /// Stop the containers of a task whose desired status is STOPPED, then record it STOPPED.
    Stop(String),
}

/// Both ends of the queue; the receiving end is taken once by the controller. Work queued or
/// running is remembered, so the periodic resync does not queue the same stop again.
pub(super) struct WorkQueue {
    sender: UnboundedSender<TaskWork>,
    receiver: Mutex<Option<UnboundedReceiver<TaskWork>>>,
    busy: Mutex<HashSet<TaskWork>>,
}

impl WorkQueue {
    pub(super) fn new() -> Self {
        let (sender, receiver) = unbounded();
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
            busy: Mutex::new(HashSet::new()),
        }
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashSet<TaskWork>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn push(&self, work: TaskWork) {
        if !self.busy().insert(work.clone()) {
            return;
        }
        // Fails only once the receiver is gone (shutting down): nothing is left to do it then.
        let _ = self.sender.unbounded_send(work);
    }

    fn done(&self, work: &TaskWork) {
        self.busy().remove(work);
    }

    /// Whether `work` is queued or running.
    pub(super) fn is_busy(&self, work: &TaskWork) -> bool {
        self.busy().contains(work)
    }
}

impl Kecs {
    pub(super) fn enqueue(&self, work: TaskWork) {
        self.work.push(work);
    }

    /// Runs the task controller's queued work until the queue closes: launches and stops, up to
    /// 64 tasks at once. Call it once (a second call returns at once), on the embedding application's async runtime.
    pub async fn drive_tasks(self: Arc<Self>) {
        let Some(receiver) = self
            .work
            .receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            // Already driven by an earlier call.
            return;
        };
        receiver
            .for_each_concurrent(CONCURRENT_WORK, |work| {
                let kecs = self.clone();
                async move {
                    match &work {
                        TaskWork::Launch(arn) => kecs.launch(arn).await,
                        TaskWork::Stop(arn) => kecs.finish_stop(arn).await,
                    }
                    kecs.work.done(&work);
                }
            })
            .await;
    }
}
