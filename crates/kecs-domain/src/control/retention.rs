//! Stopped tasks are kept for a while, then forgotten, as ECS forgets them (DescribeTasks shows
//! a stopped task for about an hour): their records, tags and containers go, so a long-running
//! KECS does not grow with every task it ever ran.

use crate::status::TaskStatus;
use std::time::Duration;

use crate::core::Core;
use crate::state::{Mutation, State};
use crate::EcsError;

/// At most this many tasks are forgotten in one write, so that it stays short.
const BATCH: usize = 1_000;

/// The stopped tasks of `state` that stopped before `cutoff` (epoch seconds), at most `limit`.
pub fn expired(state: &State, cutoff: f64, limit: usize) -> Vec<String> {
    state
        .tasks
        .summaries()
        .filter(|(_, t)| {
            t.last_is(TaskStatus::Stopped) && t.stopped_at.is_some_and(|at| at < cutoff)
        })
        .map(|(arn, _)| arn.clone())
        .take(limit)
        .collect()
}

/// Forgets the tasks stopped more than `retention` ago, and has the runtime remove their
/// containers; returns how many went.
pub(crate) async fn forget_stopped_tasks(
    core: &Core,
    retention: Duration,
) -> Result<usize, EcsError> {
    let cutoff = core.now() - retention.as_secs_f64();
    let mut forgotten = 0;
    loop {
        if core.read(|state| expired(state, cutoff, 1).is_empty()) {
            return Ok(forgotten);
        }
        let arns = core
            .write(|state| {
                let arns = expired(state, cutoff, BATCH);
                let mut mutations = vec![];
                for arn in &arns {
                    if state.tags.contains_key(arn) {
                        mutations.push(Mutation::PutTags(arn.clone(), vec![]));
                    }
                    mutations.push(Mutation::DeleteTask(arn.clone()));
                }
                Ok((arns, mutations))
            })
            .await?;
        if !core.runtime.is_emulated() {
            for arn in &arns {
                if let Err(e) = core.runtime.remove_task(arn).await {
                    tracing::warn!(task = %arn, error = %e, "removing a forgotten task's containers failed");
                }
            }
        }
        forgotten += arns.len();
        if arns.len() < BATCH {
            return Ok(forgotten);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Task;
    use crate::state::StoredTask;

    fn task(arn: &str, last: &str, stopped_at: Option<f64>) -> StoredTask {
        StoredTask {
            task: Task {
                task_arn: Some(arn.into()),
                last_status: Some(last.into()),
                desired_status: Some(last.into()),
                stopped_at,
                ..Task::default()
            },
            client_token: None,
        }
    }

    #[test]
    fn only_tasks_stopped_before_the_cutoff_expire() {
        let mut s = State::default();
        for t in [
            task("old", "STOPPED", Some(100.0)),
            task("recent", "STOPPED", Some(500.0)),
            task("running", "RUNNING", None),
            task("older", "STOPPED", Some(50.0)),
        ] {
            s.apply(Mutation::PutTask(t)).unwrap();
        }
        assert_eq!(expired(&s, 200.0, 10), ["old", "older"]);
        assert_eq!(expired(&s, 200.0, 1), ["old"]);
        assert!(expired(&s, 10.0, 10).is_empty());
    }
}
