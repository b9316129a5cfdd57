//! The operations the ECS container agent calls: DiscoverPollEndpoint, and the state changes it
//! submits (SubmitTaskStateChange, SubmitContainerStateChange, SubmitAttachmentStateChanges),
//! applied to KECS's tasks through the write path, so that an agent-like client reports the
//! state of tasks it runs itself. KECS has no ACS/TACS websocket: DiscoverPollEndpoint answers
//! with KECS's own address for each endpoint.

use super::container_instances::instance_arn;
use super::find::{active_cluster, find_task};
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::rules::agent_report::{self, has_attachment};
use crate::rules::task_state::stop_requested;
use crate::state::{Mutation, StoredTask};
use crate::{EcsError, RequestContext};

/// What ECS answers a state change it took.
const ACK: &str = "ACK";

pub(crate) async fn discover_poll_endpoint(
    core: &Core,
    ctx: &RequestContext,
    input: DiscoverPollEndpointRequest,
) -> Result<DiscoverPollEndpointResponse, EcsError> {
    core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())
            .map_err(|_| EcsError::client("Cluster not found."))?;
        if let Some(ident) = &input.container_instance {
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let arn = instance_arn(&cluster_arn, ident);
            if !state.container_instances.contains_key(&arn) {
                return Err(EcsError::client(
                    "The referenced container instance was not found.",
                ));
            }
        }
        Ok(())
    })?;
    let own = ctx
        .endpoint
        .clone()
        .map(|e| format!("{}/", e.trim_end_matches('/')));
    Ok(DiscoverPollEndpointResponse {
        endpoint: own.clone(),
        telemetry_endpoint: own.clone(),
        service_connect_endpoint: own,
    })
}

/// Applies `change` to the task `ident` of the request's cluster; a task that stops is handed
/// to the runtime's stop.
async fn change_task(
    core: &Core,
    ctx: &RequestContext,
    cluster: Option<&str>,
    ident: &str,
    change: impl FnOnce(&mut Task, f64) -> Result<(), String>,
) -> Result<(), EcsError> {
    let now = core.now();
    let stopped = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, cluster)?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let Some(mut stored) = find_task(state, ctx, &cluster_arn, ident) else {
                return Err(EcsError::invalid("The referenced task was not found."));
            };
            let was_stopping = stop_requested(&stored.task);
            change(&mut stored.task, now).map_err(EcsError::invalid)?;
            let stops = !was_stopping && stop_requested(&stored.task);
            let arn = stored.task.task_arn.clone().unwrap_or_default();
            Ok((stops.then_some(arn), vec![Mutation::PutTask(stored)]))
        })
        .await?;
    if let Some(arn) = stopped.filter(|_| !core.runtime.is_emulated()) {
        core.enqueue(TaskWork::Stop(arn));
    }
    Ok(())
}

pub(crate) async fn submit_task_state_change(
    core: &Core,
    ctx: &RequestContext,
    input: SubmitTaskStateChangeRequest,
) -> Result<SubmitTaskStateChangeResponse, EcsError> {
    let reported = input
        .status
        .as_deref()
        .map(agent_report::status)
        .transpose()
        .map_err(EcsError::invalid)?;
    let ident = input.task.clone().unwrap_or_default();
    change_task(core, ctx, input.cluster.as_deref(), &ident, |task, now| {
        for c in input.containers.iter().flatten() {
            agent_report::container(task, c)?;
        }
        for a in input.attachments.iter().flatten() {
            let arn = a.attachment_arn.as_deref().unwrap_or_default();
            if !agent_report::attachment(task, arn, a.status.as_deref().unwrap_or_default()) {
                return Err(format!("The task has no attachment {arn}."));
            }
        }
        if input.pull_started_at.is_some() {
            task.pull_started_at = input.pull_started_at;
        }
        if input.pull_stopped_at.is_some() {
            task.pull_stopped_at = input.pull_stopped_at;
        }
        if let Some(status) = reported {
            let reason = input.reason.as_deref();
            agent_report::task_status(task, status, reason, input.execution_stopped_at, now);
        }
        Ok(())
    })
    .await?;
    Ok(SubmitTaskStateChangeResponse {
        acknowledgment: Some(ACK.into()),
    })
}

pub(crate) async fn submit_container_state_change(
    core: &Core,
    ctx: &RequestContext,
    input: SubmitContainerStateChangeRequest,
) -> Result<SubmitContainerStateChangeResponse, EcsError> {
    let change = ContainerStateChange {
        container_name: input.container_name.clone(),
        runtime_id: input.runtime_id.clone(),
        status: input.status.clone(),
        exit_code: input.exit_code,
        reason: input.reason.clone(),
        network_bindings: input.network_bindings.clone(),
        ..ContainerStateChange::default()
    };
    let ident = input.task.clone().unwrap_or_default();
    change_task(core, ctx, input.cluster.as_deref(), &ident, |task, _| {
        agent_report::container(task, &change)
    })
    .await?;
    Ok(SubmitContainerStateChangeResponse {
        acknowledgment: Some(ACK.into()),
    })
}

pub(crate) async fn submit_attachment_state_changes(
    core: &Core,
    ctx: &RequestContext,
    input: SubmitAttachmentStateChangesRequest,
) -> Result<SubmitAttachmentStateChangesResponse, EcsError> {
    let changes = input.attachments.clone().unwrap_or_default();
    core.write(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let mut changed: Vec<StoredTask> = vec![];
        for a in &changes {
            let arn = a.attachment_arn.as_deref().unwrap_or_default();
            let status = a.status.as_deref().unwrap_or_default();
            // The task that has this attachment (one changed here already counts).
            let found = changed
                .iter()
                .position(|t| has_attachment(&t.task, arn))
                .or_else(|| {
                    let hit = super::find::tasks_in(state, &cluster_arn)
                        .filter_map(|(arn, _)| state.tasks.get(arn))
                        .find(|t| has_attachment(&t.task, arn))?;
                    changed.push(hit);
                    Some(changed.len() - 1)
                });
            let Some(i) = found else {
                return Err(EcsError::invalid(format!(
                    "The referenced attachment {arn} was not found."
                )));
            };
            agent_report::attachment(&mut changed[i].task, arn, status);
        }
        Ok(((), changed.into_iter().map(Mutation::PutTask).collect()))
    })
    .await?;
    Ok(SubmitAttachmentStateChangesResponse {
        acknowledgment: Some(ACK.into()),
    })
}
