//! GetTaskProtection and UpdateTaskProtection: a service's task kept from scale-in and
//! deployments until its protection expires (the service scheduler skips it; see
//! `rules::scheduler`).

use super::find::{active_cluster, find_task, task_arn_of};
use super::service_model::schedule_service;
use crate::core::Core;
use crate::model::*;
use crate::state::{Mutation, State, StoredTask};
use crate::{EcsError, RequestContext};

/// How long protection lasts when `expiresInMinutes` is not given (ECS: 2 hours).
const DEFAULT_MINUTES: i32 = 120;
/// The longest protection ECS allows: 48 hours.
const MAX_MINUTES: i32 = 2880;
/// The most tasks one call names.
const MAX_TASKS: usize = 10;

fn check_tasks(tasks: &[String]) -> Result<(), EcsError> {
    if tasks.is_empty() {
        return Err(EcsError::invalid("Tasks cannot be empty."));
    }
    if tasks.len() > MAX_TASKS {
        return Err(EcsError::invalid(format!(
            "tasks can have at most {MAX_TASKS} items."
        )));
    }
    Ok(())
}

/// A task's protection as the API shows it (expired protection is no protection).
fn shown(stored: &StoredTask, now: f64) -> ProtectedTask {
    let until = stored.protected_until.filter(|u| *u > now);
    ProtectedTask {
        task_arn: stored.task.task_arn.clone(),
        protection_enabled: Some(until.is_some()),
        expiration_date: until,
    }
}

/// The service tasks `idents` name, and failures for the others: MISSING, or TASK_NOT_VALID
/// for a standalone task (ECS protects only a service's tasks).
fn lookup(
    state: &State,
    ctx: &RequestContext,
    cluster_arn: &str,
    idents: &[String],
) -> (Vec<StoredTask>, Vec<Failure>) {
    let (mut found, mut failures) = (vec![], vec![]);
    for ident in idents {
        match find_task(state, ctx, cluster_arn, ident) {
            None => failures.push(super::missing(task_arn_of(cluster_arn, ident))),
            Some(t) if crate::state::service_of(&t.task).is_none() => failures.push(Failure {
                arn: t.task.task_arn.clone(),
                reason: Some("TASK_NOT_VALID".into()),
                detail: Some(
                    "Task protection is only supported for tasks that belong to a service.".into(),
                ),
            }),
            Some(t) => found.push(t),
        }
    }
    (found, failures)
}

pub(crate) async fn get_task_protection(
    core: &Core,
    ctx: &RequestContext,
    input: GetTaskProtectionRequest,
) -> Result<GetTaskProtectionResponse, EcsError> {
    let idents = input.tasks.clone().unwrap_or_default();
    let now = core.now();
    core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        check_tasks(&idents)?;
        let (found, failures) = lookup(state, ctx, &cluster_arn, &idents);
        Ok(GetTaskProtectionResponse {
            protected_tasks: Some(found.iter().map(|t| shown(t, now)).collect()),
            failures: Some(failures),
        })
    })
}

pub(crate) async fn update_task_protection(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateTaskProtectionRequest,
) -> Result<UpdateTaskProtectionResponse, EcsError> {
    let idents = input.tasks.clone().unwrap_or_default();
    let enabled = input.protection_enabled.unwrap_or(false);
    let minutes = input.expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
    if enabled && !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(EcsError::invalid(format!(
            "expiresInMinutes must be between 1 and {MAX_MINUTES}."
        )));
    }
    let now = core.now();
    let (answer, services) = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            check_tasks(&idents)?;
            let (found, failures) = lookup(state, ctx, &cluster_arn, &idents);
            let (mut protected, mut services, mut mutations) = (vec![], vec![], vec![]);
            for mut stored in found {
                // Enabling again always resets the expiry (ECS extends protection this way).
                stored.protected_until = enabled.then(|| now + f64::from(minutes) * 60.0);
                protected.push(shown(&stored, now));
                services.extend(crate::state::service_of(&stored.task));
                mutations.push(Mutation::PutTask(stored));
            }
            let answer = UpdateTaskProtectionResponse {
                protected_tasks: Some(protected),
                failures: Some(failures),
            };
            Ok(((answer, services), mutations))
        })
        .await?;
    // A task no longer protected may be one a scale-in or a deployment was waiting for.
    for service in services {
        schedule_service(core, Some(service));
    }
    Ok(answer)
}
