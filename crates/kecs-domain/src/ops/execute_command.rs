//! ExecuteCommand: a command run in a task's container through a session KECS serves itself.
//! The request checks what ECS checks and records a one-time session; the command starts when a
//! client opens the session's `streamUrl` (a WebSocket on the API port, served by kecs-api
//! through [`crate::Kecs::open_exec`]), as ECS starts it when the Session Manager plugin
//! connects. The stream speaks KECS's own framing (`kecs exec` speaks it), not AWS's session
//! protocol.

use super::find::{active_cluster, find_task};
use crate::core::exec_sessions::ExecSession;
use crate::core::Core;
use crate::model::*;
use crate::ports::runtime::ExecProcess;
use crate::rules::exec_command::{command_words, stream_url};
use crate::status::{HasLastStatus, TaskStatus};
use crate::{EcsError, EndpointError, RequestContext};

const NOT_ENABLED: &str = "The execute command failed because execute command was not enabled \
     when the task was run or the execute command agent isn't running. Wait and try the request \
     again.";

pub(crate) async fn execute_command(
    core: &Core,
    ctx: &RequestContext,
    input: ExecuteCommandRequest,
) -> Result<ExecuteCommandResponse, EcsError> {
    if input.interactive != Some(true) {
        return Err(EcsError::invalid(
            "Interactive is the only mode supported currently.",
        ));
    }
    let command = command_words(input.command.as_deref().unwrap_or_default())?;
    let (cluster_arn, task) = core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let ident = input.task.as_deref().unwrap_or_default();
        let task = find_task(state, ctx, &cluster_arn, ident)
            .ok_or_else(|| EcsError::invalid("The specified task was not found."))?;
        Ok::<_, EcsError>((cluster_arn, task.task))
    })?;
    if task.enable_execute_command != Some(true) {
        return Err(EcsError::invalid(NOT_ENABLED));
    }
    if core.runtime.is_emulated() {
        return Err(EcsError::TargetNotConnected(
            "The none runtime runs no container to run the command in.".into(),
        ));
    }
    let containers = task.containers.clone().unwrap_or_default();
    let container = match input.container.as_deref() {
        Some(name) => containers
            .iter()
            .find(|c| c.name.as_deref() == Some(name))
            .ok_or_else(|| {
                EcsError::invalid(format!("The container {name} does not exist in the task."))
            })?,
        None if containers.len() == 1 => &containers[0],
        None => {
            return Err(EcsError::invalid(
                "The task has more than one container: name the one to run the command in \
                 (container).",
            ))
        }
    };
    if !task.last_is(TaskStatus::Running) || container.last_status.as_deref() != Some("RUNNING") {
        return Err(EcsError::TargetNotConnected(
            "The execute command failed because the container is not running.".into(),
        ));
    }
    let name = container.name.clone().unwrap_or_default();
    let session_id = format!("ecs-execute-command-{}", core.ids().hex());
    let token = core.ids().hex();
    let endpoint = ctx.endpoint.clone().unwrap_or_default();
    core.exec_sessions.insert(
        session_id.clone(),
        ExecSession {
            task_arn: task.task_arn.clone().unwrap_or_default(),
            container: name.clone(),
            command,
            token: token.clone(),
            created: core.now(),
        },
        core.now(),
    );
    Ok(ExecuteCommandResponse {
        cluster_arn: Some(cluster_arn),
        container_arn: container.container_arn.clone(),
        container_name: Some(name),
        interactive: Some(true),
        session: Some(Session {
            stream_url: Some(stream_url(&endpoint, &session_id)),
            session_id: Some(session_id),
            token_value: Some(token),
        }),
        task_arn: task.task_arn,
    })
}

/// Opens the stream of session `id`: takes the session (once, with its token) and starts its
/// command in the task's container.
pub(crate) async fn open(
    core: &Core,
    id: &str,
    token: &str,
    tty: bool,
) -> Result<ExecProcess, EndpointError> {
    let session = core
        .exec_sessions
        .take(id, token, core.now())
        .ok_or_else(|| {
            EndpointError::Unauthorized("No open session has this ID and token.".into())
        })?;
    let task = core
        .read(|state| state.tasks.get(&session.task_arn))
        .ok_or_else(|| EndpointError::NotFound("The session's task is gone.".into()))?
        .task;
    core.runtime
        .exec(&task, &session.container, &session.command, tty)
        .await
        .map_err(|e| EndpointError::Failed(e.to_string()))
}
