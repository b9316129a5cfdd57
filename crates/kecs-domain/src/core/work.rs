//! The task controller's work queue: requests decide and commit, the controller does the slow
//! engine work (starting containers in dependency order, stopping them) outside any request.
//!
//! The queue is a plain channel, so the domain needs no async runtime: whoever embeds
//! [`crate::Kecs`] with a real container runtime runs [`crate::Kecs::drive_tasks`] on theirs
//! (kecs-server spawns it); `control::drive` does the work.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};

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
pub(crate) struct WorkQueue {
    sender: UnboundedSender<TaskWork>,
    receiver: Mutex<Option<UnboundedReceiver<TaskWork>>>,
    /// Queued or running work, and whether it must run again when done.
    busy: Mutex<HashMap<TaskWork, bool>>,
}

impl WorkQueue {
    pub(crate) fn new() -> Self {
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

    pub(crate) fn push(&self, work: TaskWork) {
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

    pub(crate) fn done(&self, work: &TaskWork) {
        let again = self.busy().remove(work).unwrap_or(false);
        if again {
            self.push(work.clone());
        }
    }

    /// Whether `work` is queued or running.
    pub(crate) fn is_busy(&self, work: &TaskWork) -> bool {
        self.busy().contains_key(work)
    }

    /// The receiving end, for the one loop that does the work (`None` once taken).
    pub(crate) fn take_receiver(&self) -> Option<UnboundedReceiver<TaskWork>> {
        self.receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}
