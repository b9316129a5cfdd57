//! The controllers' work queues: requests decide and commit, and queue the slow work (starting
//! and stopping containers, scheduler passes, a deleted cluster's cleanup) for the controller
//! that does it, outside any request. One queue per controller.
//!
//! A queue is a plain channel, so the domain needs no async runtime: whoever embeds
//! [`crate::Kecs`] runs its controllers on theirs (kecs-server supervises each one).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};

use futures::channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};

/// Work a request or a controller asks for, routed to the queue of the controller that does it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TaskWork {
    /// Start the containers of a PROVISIONING task (task launcher).
    Launch(String),
    /// Stop the containers of a task whose desired status is STOPPED, then record it STOPPED
    /// (task launcher).
    Stop(String),
    /// Run the scheduler for a service: its tasks or its settings changed (service scheduler).
    Schedule(String),
    /// Run the scheduler for a daemon: its tasks, its settings or its cluster's container
    /// instances changed (daemon scheduler).
    ScheduleDaemon(String),
    /// Remove what the runtime keeps of a deleted cluster: its stopped tasks' containers
    /// (cluster cleanup).
    ForgetCluster(String),
}

/// One controller's queue. Work queued or running is remembered, so the same work is not queued
/// twice; with `rerun`, work asked for while it is queued or running runs once more after it
/// (a scheduler pass may have missed the change that asked for it).
pub(crate) struct WorkQueue<J> {
    sender: UnboundedSender<J>,
    receiver: Mutex<Option<UnboundedReceiver<J>>>,
    /// Queued or running work, and whether it must run again when done.
    busy: Mutex<HashMap<J, bool>>,
    rerun: bool,
}

impl<J: Clone + Eq + Hash> WorkQueue<J> {
    fn new(rerun: bool) -> Self {
        let (sender, receiver) = unbounded();
        Self {
            sender,
            receiver: Mutex::new(Some(receiver)),
            busy: Mutex::new(HashMap::new()),
            rerun,
        }
    }

    fn busy(&self) -> MutexGuard<'_, HashMap<J, bool>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn push(&self, work: J) {
        {
            let mut busy = self.busy();
            if let Some(again) = busy.get_mut(&work) {
                *again = self.rerun;
                return;
            }
            busy.insert(work.clone(), false);
        }
        // Fails only once the receiver is gone (shutting down): nothing is left to do it then.
        let _ = self.sender.unbounded_send(work);
    }

    /// `work` is finished (or abandoned): it may be queued again.
    pub(crate) fn done(&self, work: &J) {
        let again = self.busy().remove(work).unwrap_or(false);
        if again {
            self.push(work.clone());
        }
    }

    /// Whether `work` is queued or running.
    pub(crate) fn is_busy(&self, work: &J) -> bool {
        self.busy().contains_key(work)
    }

    /// Lends the receiving end to the one loop that does the work; `None` while another loop
    /// holds it. The loop gives it back (`give_back`) when it ends, even by a panic, so a
    /// restarted loop takes it again.
    pub(crate) fn take_receiver(&self) -> Option<UnboundedReceiver<J>> {
        self.receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Takes back the receiving end a loop held.
    pub(crate) fn give_back(&self, receiver: UnboundedReceiver<J>) {
        *self.receiver.lock().unwrap_or_else(|p| p.into_inner()) = Some(receiver);
    }
}

/// A task launched or stopped by the task launcher.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TaskJob {
    /// See [`TaskWork::Launch`].
    Launch(String),
    /// See [`TaskWork::Stop`].
    Stop(String),
}

/// Every controller's queue.
pub(crate) struct Queues {
    /// The task launcher's: launches and stops.
    pub(crate) tasks: WorkQueue<TaskJob>,
    /// The service scheduler's: services to look at (a pass asked for while one runs runs again).
    pub(crate) services: WorkQueue<String>,
    /// The cluster cleanup's: deleted clusters.
    pub(crate) clusters: WorkQueue<String>,
    /// The daemon scheduler's: daemons to look at (a pass asked for while one runs runs again).
    pub(crate) daemons: WorkQueue<String>,
    /// The load balancers': services whose target groups to route again.
    pub(crate) targets: WorkQueue<String>,
}

impl Queues {
    pub(crate) fn new() -> Self {
        Self {
            tasks: WorkQueue::new(false),
            services: WorkQueue::new(true),
            clusters: WorkQueue::new(false),
            daemons: WorkQueue::new(true),
            targets: WorkQueue::new(true),
        }
    }

    /// Queues `work` for the controller that does it.
    pub(crate) fn push(&self, work: TaskWork) {
        match work {
            TaskWork::Launch(arn) => self.tasks.push(TaskJob::Launch(arn)),
            TaskWork::Stop(arn) => self.tasks.push(TaskJob::Stop(arn)),
            TaskWork::Schedule(arn) => self.services.push(arn),
            TaskWork::ForgetCluster(arn) => self.clusters.push(arn),
            TaskWork::ScheduleDaemon(arn) => self.daemons.push(arn),
        }
    }
}
