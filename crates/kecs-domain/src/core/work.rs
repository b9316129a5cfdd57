//! The task controller's work queue: requests decide and commit, the controller does the slow
//! engine work (starting containers in dependency order, stopping them) outside any request.
//!
//! The queue is a plain channel, so the domain needs no async runtime: whoever embeds [`Kecs`]
//! with a real container runtime runs [`Kecs::drive_tasks`] on theirs (kecs-server spawns it).

use std::collections::HashMap;
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
    /// Run the scheduler for a service (its tasks or its settings changed).
    Schedule(String),
    /// Remove what the runtime keeps of a deleted cluster: its stopped tasks' containers.
    ForgetCluster(String),
}

/// Both ends of the queue; the receiving end is taken once by the controller. Work queued or
/// running is remembered, so the same work is not queued twice; a scheduler pass asked for
/// while one is queued or running runs once more after it (it may have missed the change).
pub(super) struct WorkQueue {
    sender: UnboundedSender<TaskWork>,
    receiver: Mutex<Option<UnboundedReceiver<TaskWork>>>,
    /// Queued or running work, and whether it must run again when done.
    busy: Mutex<HashMap<TaskWork, bool>>,
}

impl WorkQueue {
    pub(super) fn new() -> Self {
        let (sender, receiver) = unbounded();
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
            busy: Mutex::new(HashMap::new()),
        }
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashMap<TaskWork, bool>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn push(&self, work: TaskWork) {
        {
            let mut busy = self.busy();
            if let Some(again) = busy.get_mut(&work) {
                *again = matches!(work, TaskWork::Schedule(_));
                return;
            }
            busy.insert(work.clone(), false);
        }
        // Fails only once the receiver is gone (shutting down): nothing is left to do it then.
        let _ = self.sender.unbounded_send(work);
    }

    fn done(&self, work: &TaskWork) {
        let again = self.busy().remove(work).unwrap_or(false);
        if again {
            self.push(work.clone());
        }
    }

    /// Whether `work` is queued or running.
    pub(super) fn is_busy(&self, work: &TaskWork) -> bool {
        self.busy().contains_key(work)
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
                        TaskWork::Schedule(arn) => kecs.schedule(arn).await,
                        TaskWork::ForgetCluster(arn) => kecs.forget_cluster(arn).await,
                    }
                    kecs.work.done(&work);
                }
            })
            .await;
    }
}
