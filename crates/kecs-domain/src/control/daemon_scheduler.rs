//! The daemon scheduler at work: one pass for one daemon, run when the daemon, one of its tasks
//! or its cluster's container instances changed (and by the periodic resync). It applies
//! [`daemon::decide`]: starts the target revision's task on each instance that lacks one, stops
//! what is replaced or no longer wanted, marks the deployment SUCCESSFUL once every instance
//! runs the target revision, and forgets a deleted daemon once its last task stopped.

use super::service_pass::context_of;
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::ops::daemon_model::{deployment_counts, group, revision_id, Seen};
use crate::ops::task_placement::{place_tasks, Placing};
use crate::rules::daemon::{self, Host, DEFAULT_DRAIN_PERCENT};
use crate::rules::task_state;
use crate::state::{Mutation, State, StoredDaemon};
use crate::EcsError;

/// One scheduler pass for `daemon_arn` (logged, never failing the controller).
pub(crate) async fn schedule(core: &Core, daemon_arn: &str) {
    if let Err(e) = pass(core, daemon_arn).await {
        tracing::warn!(daemon = daemon_arn, error = %e, "daemon scheduler pass failed");
    }
}

/// Queues a pass for every daemon: the safety net under the change-driven passes.
pub(crate) fn resync_daemons(core: &Core) {
    let arns: Vec<String> = core.read(|state| state.daemons.keys().cloned().collect());
    for arn in arns {
        core.enqueue(TaskWork::ScheduleDaemon(arn));
    }
}

/// A task to start: on which instance, under which capacity provider.
struct Start {
    instance: String,
    provider: String,
}

/// What a pass decided under the write lock, for the work after it.
struct Decided {
    daemon: StoredDaemon,
    starts: Vec<Start>,
    stopped: Vec<String>,
}

/// Why the scheduler stops a daemon task.
fn stop_reason(deleting: bool, on_host: bool) -> &'static str {
    match (deleting, on_host) {
        (true, _) => "Daemon task stopped: the daemon is being deleted.",
        (false, true) => {
            "Daemon task stopped: a newer daemon revision runs on its container instance."
        }
        (false, false) => "Daemon task stopped: its container instance no longer runs the daemon.",
    }
}

fn decide_pass(
    state: &State,
    daemon: &StoredDaemon,
    now: f64,
    emulated: bool,
) -> (Decided, Vec<Mutation>) {
    let seen = Seen::of(state, daemon);
    let (hosts, tasks) = (&seen.hosts, &seen.tasks);
    let target = daemon
        .target()
        .and_then(|r| r.daemon_revision_arn.clone())
        .unwrap_or_default();
    let drain = daemon
        .deployment_configuration
        .drain_percent
        .unwrap_or(DEFAULT_DRAIN_PERCENT);
    let deleting = daemon.status == DaemonStatus::DeleteInProgress;
    let list: Vec<Host> = hosts.iter().map(|(h, _)| h.clone()).collect();
    let plan = daemon::decide(&list, tasks, &target, drain, deleting);
    let mut mutations = vec![];
    for arn in &plan.stop {
        let Some(mut stored) = state.tasks.get(arn) else {
            continue;
        };
        let on_host = tasks
            .iter()
            .any(|t| &t.arn == arn && list.iter().any(|h| h.arn == t.instance));
        task_state::request_stop(
            &mut stored.task,
            TaskStopCode::ServiceSchedulerInitiated,
            stop_reason(deleting, on_host),
            now,
        );
        if emulated {
            task_state::mark_stopped(&mut stored.task, now);
        }
        mutations.push(Mutation::PutTask(stored));
    }
    let mut daemon = daemon.clone();
    if plan.settled && deleting {
        mutations.push(Mutation::DeleteDaemon(daemon.daemon_arn.clone()));
        mutations.push(Mutation::PutTags(daemon.daemon_arn.clone(), vec![]));
    } else if plan.settled {
        let counts = deployment_counts(&daemon, &seen, &target);
        if let Some(d) = daemon
            .deployments
            .last_mut()
            .filter(|d| d.status == Some(DaemonDeploymentStatus::InProgress))
        {
            d.status = Some(DaemonDeploymentStatus::Successful);
            d.status_reason = Some("The daemon deployment completed successfully.".into());
            d.finished_at = Some(now);
            d.target_daemon_revision = Some(counts);
            mutations.push(Mutation::PutDaemon(daemon.clone()));
        }
    }
    let starts = plan
        .start_on
        .iter()
        .filter_map(|i| {
            let (_, provider) = hosts.iter().find(|(h, _)| &h.arn == i)?;
            Some(Start {
                instance: i.clone(),
                provider: provider.clone(),
            })
        })
        .collect();
    let decided = Decided {
        daemon,
        starts,
        stopped: plan.stop,
    };
    (decided, mutations)
}

async fn pass(core: &Core, daemon_arn: &str) -> Result<(), EcsError> {
    let now = core.now();
    let emulated = core.runtime.is_emulated();
    let decided = core
        .write(|state| {
            let Some(daemon) = state.daemons.get(daemon_arn) else {
                return Ok((None, vec![]));
            };
            let (decided, mutations) = decide_pass(state, daemon, now, emulated);
            Ok((Some(decided), mutations))
        })
        .await?;
    let Some(decided) = decided else {
        return Ok(());
    };
    if !emulated {
        for arn in &decided.stopped {
            core.enqueue(TaskWork::Stop(arn.clone()));
        }
    }
    let daemon = &decided.daemon;
    let Some(revision) = daemon.target() else {
        return Ok(());
    };
    let tags = core.read(|state| state.tags_of(&daemon.daemon_arn));
    let ctx = context_of(daemon_arn);
    for start in &decided.starts {
        let provider = start.provider.rsplit('/').next().unwrap_or_default();
        let input = RunTaskRequest {
            cluster: Some(daemon.cluster_arn.clone()),
            task_definition: revision.daemon_task_definition_arn.clone(),
            started_by: revision
                .daemon_revision_arn
                .as_deref()
                .map(|r| revision_id(r).to_string()),
            group: Some(group(&daemon.daemon_name)),
            capacity_provider_strategy: Some(vec![CapacityProviderStrategyItem {
                capacity_provider: Some(provider.to_string()),
                ..CapacityProviderStrategyItem::default()
            }]),
            tags: (revision.propagate_tags == Some(DaemonPropagateTags::Daemon)
                && !tags.is_empty())
            .then(|| tags.clone()),
            enable_ecs_managed_tags: revision.enable_ecs_managed_tags,
            enable_execute_command: revision.enable_execute_command,
            count: Some(1),
            ..RunTaskRequest::default()
        };
        let one = std::slice::from_ref(&start.instance);
        match place_tasks(core, &ctx, input, Placing::Daemon(one)).await {
            Ok(out) => {
                for f in out.failures.iter().flatten() {
                    tracing::warn!(daemon = daemon_arn, instance = %start.instance, reason = ?f.reason, "a daemon task could not be placed");
                }
            }
            Err(e) => {
                tracing::warn!(daemon = daemon_arn, instance = %start.instance, error = %e, "starting a daemon task failed")
            }
        }
    }
    Ok(())
}
