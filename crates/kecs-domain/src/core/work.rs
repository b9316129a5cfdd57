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

use crate::ports::traces::TraceParent;

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
    /// Route a service's target groups to its tasks again, or close its listeners once it is
    /// gone (load balancers).
    Route(String),
}

/// One controller's queue. Work queued or running is remembered, so the same work is not queued
/// twice; with `rerun`, work asked for while it is queued or running runs once more after it
/// (a scheduler pass may have missed the change that asked for it).
pub(crate) struct WorkQueue<J> {
    sender: UnboundedSender<J>,
    receiver: Mutex<Option<UnboundedReceiver<J>>>,
    /// Queued or running work.
    busy: Mutex<HashMap<J, Pending>>,
    rerun: bool,
}

/// What is known of queued or running work.
#[derive(Default)]
struct Pending {
    /// It must run again when done.
    again: bool,
    /// The trace of what last asked for it, until its run takes it.
    origin: Option<TraceParent>,
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

    fn busy(&self) -> MutexGuard<'_, HashMap<J, Pending>> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `work`, asked for from the trace `origin` (if traced).
    pub(crate) fn push(&self, work: J, origin: Option<TraceParent>) {
        {
            let mut busy = self.busy();
            if let Some(pending) = busy.get_mut(&work) {
                if self.rerun {
                    pending.again = true;
                    pending.origin = origin.or(pending.origin.take());
                }
                return;
            }
            busy.insert(
                work.clone(),
                Pending {
                    again: false,
                    origin,
                },
            );
        }
        // Fails only once the receiver is gone (shutting down): nothing is left to do it then.
        let _ = self.sender.unbounded_send(work);
    }

    /// The trace of what asked for `work`, taken by the run that starts it.
    pub(crate) fn take_origin(&self, work: &J) -> Option<TraceParent> {
        self.busy().get_mut(work).and_then(|p| p.origin.take())
    }

    /// `work` is finished (or abandoned): it may be queued again.
    pub(crate) fn done(&self, work: &J) {
        // Taken out first: the lock is released before the work is queued again.
        let pending = self.busy().remove(work);
        if let Some(Pending {
            again: true,
            origin,
        }) = pending
        {
            self.push(work.clone(), origin);
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

    /// Queues `work` for the controller that does it, asked for from the trace `origin`.
    pub(crate) fn push(&self, work: TaskWork, origin: Option<TraceParent>) {
        match work {
            TaskWork::Launch(arn) => self.tasks.push(TaskJob::Launch(arn), origin),
            TaskWork::Stop(arn) => self.tasks.push(TaskJob::Stop(arn), origin),
            TaskWork::Schedule(arn) => self.services.push(arn, origin),
            TaskWork::ForgetCluster(arn) => self.clusters.push(arn, origin),
            TaskWork::ScheduleDaemon(arn) => self.daemons.push(arn, origin),
            TaskWork::Route(arn) => self.targets.push(arn, origin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(n: u8) -> Option<TraceParent> {
        Some(TraceParent(format!("00-{n:032x}-{n:016x}-01")))
    }

    #[test]
    fn a_job_takes_the_trace_of_what_asked_for_it_once() {
        let queue: WorkQueue<String> = WorkQueue::new(false);
        queue.push("a".into(), tp(1));
        queue.push("a".into(), tp(2));
        assert_eq!(
            queue.take_origin(&"a".into()),
            tp(1),
            "queued once, by the first"
        );
        assert_eq!(queue.take_origin(&"a".into()), None);
    }

    #[test]
    fn a_rerun_continues_the_trace_that_asked_for_it_again() {
        let queue: WorkQueue<String> = WorkQueue::new(true);
        queue.push("s".into(), tp(1));
        assert_eq!(queue.take_origin(&"s".into()), tp(1));
        queue.push("s".into(), tp(2));
        queue.push("s".into(), None);
        queue.done(&"s".into());
        assert!(
            queue.is_busy(&"s".into()),
            "asked for while running: runs again"
        );
        assert_eq!(queue.take_origin(&"s".into()), tp(2));
    }
}
