//! What the ECS agent serves a task's containers besides metadata: task-role credentials (the
//! SDKs' container credentials provider) and the agent API's task scale-in protection
//! (`${ECS_AGENT_URI}/task-protection/v1/state`), in the agent's JSON shapes.

use serde::Serialize;
use serde_json::{json, Value};

use super::task_metadata::{context_of, EndpointError};
use super::task_protection::{get_task_protection, update_task_protection};
use crate::core::{iso8601, Core};
use crate::model::{Failure, GetTaskProtectionRequest, ProtectedTask, UpdateTaskProtectionRequest};
use crate::rules::task_endpoints::{parse_container_id, task_role, verify_credentials_id};
use crate::status::{HasLastStatus, TaskStatus};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Credentials {
    role_arn: String,
    access_key_id: String,
    secret_access_key: String,
    token: String,
    expiration: String,
}

/// `/v2/credentials/<id>`: the task role's credentials, for a request whose ID (and
/// `Authorization` header, when it sends one) proves the task.
pub(crate) async fn credentials(
    core: &Core,
    id: &str,
    authorization: Option<&str>,
) -> Result<Value, EndpointError> {
    let denied = || EndpointError::Unauthorized("invalid credentials ID or token".into());
    let endpoints = core.endpoints().ok_or_else(denied)?;
    let task_arn = verify_credentials_id(&endpoints.key, id).ok_or_else(denied)?;
    if authorization.is_some_and(|given| !id.ends_with(&format!(".{given}"))) {
        return Err(denied());
    }
    let role = core.read(|state| {
        let task = &state.tasks.get(&task_arn)?.task;
        if task.last_is(TaskStatus::Stopped) {
            return None;
        }
        let td = state.task_definition(task.task_definition_arn.as_deref()?)?;
        Some(task_role(task, td).map(str::to_string))
    });
    let role = role
        .ok_or_else(|| EndpointError::NotFound(format!("no running task {task_arn}")))?
        .ok_or_else(|| {
            EndpointError::BadRequest(format!("the task {task_arn} has no task role"))
        })?;
    let given = core
        .credentials()
        .credentials(&role, &task_arn, core.now())
        .await
        .map_err(|e| EndpointError::Failed(format!("credentials for {role}: {e}")))?;
    serde_json::to_value(Credentials {
        role_arn: role,
        access_key_id: given.access_key_id,
        secret_access_key: given.secret_access_key,
        token: given.token,
        expiration: iso8601(given.expiration),
    })
    .map_err(|e| EndpointError::Failed(e.to_string()))
}

/// The agent's answer for one task: its protection, or why there is none.
fn protection_answer(
    task_arn: &str,
    found: Option<Vec<ProtectedTask>>,
    failures: Option<Vec<Failure>>,
) -> Value {
    if let Some(p) = found.into_iter().flatten().next() {
        let mut protection = json!({
            "ProtectionEnabled": p.protection_enabled.unwrap_or(false),
            "TaskArn": p.task_arn.unwrap_or_default(),
        });
        if let Some(at) = p.expiration_date {
            protection["ExpirationDate"] = Value::String(iso8601(at));
        }
        return json!({ "protection": protection });
    }
    let failure = failures.into_iter().flatten().next().unwrap_or_default();
    json!({ "failure": {
        "Arn": failure.arn.unwrap_or_else(|| task_arn.to_string()),
        "Reason": failure.reason,
        "Detail": failure.detail,
    }})
}

/// The protection request's body: `{"ProtectionEnabled": bool, "ExpiresInMinutes": int}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProtectionChange {
    protection_enabled: Option<bool>,
    expires_in_minutes: Option<i32>,
}

/// `${ECS_AGENT_URI}/task-protection/v1/state`: the calling task's scale-in protection (GET),
/// or a change of it (PUT, `body` given), through GetTaskProtection / UpdateTaskProtection.
pub(crate) async fn task_protection(
    core: &Core,
    id: &str,
    body: Option<&[u8]>,
) -> Result<Value, EndpointError> {
    let unknown = || EndpointError::NotFound(format!("no task has the ID {id}"));
    let (task_arn, _) = parse_container_id(id).ok_or_else(unknown)?;
    let ctx = context_of(&task_arn).ok_or_else(unknown)?;
    let cluster = core
        .read(|state| state.tasks.get(&task_arn)?.task.cluster_arn.clone())
        .ok_or_else(unknown)?;
    let refused = |error| EndpointError::Ecs {
        task_arn: task_arn.clone(),
        error,
    };
    let Some(body) = body else {
        let input = GetTaskProtectionRequest {
            cluster: Some(cluster),
            tasks: Some(vec![task_arn.clone()]),
        };
        let out = get_task_protection(core, &ctx, input)
            .await
            .map_err(refused)?;
        return Ok(protection_answer(
            &task_arn,
            out.protected_tasks,
            out.failures,
        ));
    };
    let change: ProtectionChange = serde_json::from_slice(body)
        .map_err(|e| EndpointError::BadRequest(format!("the request body is not valid: {e}")))?;
    let enabled = change.protection_enabled.ok_or_else(|| {
        EndpointError::BadRequest(
            "Invalid request: does not contain 'ProtectionEnabled' field".into(),
        )
    })?;
    let input = UpdateTaskProtectionRequest {
        cluster: Some(cluster),
        tasks: Some(vec![task_arn.clone()]),
        protection_enabled: Some(enabled),
        expires_in_minutes: change.expires_in_minutes,
    };
    let out = update_task_protection(core, &ctx, input)
        .await
        .map_err(refused)?;
    Ok(protection_answer(
        &task_arn,
        out.protected_tasks,
        out.failures,
    ))
}
