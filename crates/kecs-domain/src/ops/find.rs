//! Finding what a request names: clusters, tasks and services by name or ARN, and the tasks or
//! services of a cluster, and a task as responses show it. Shared by the operations and the
//! controllers; imports no operation module but the service model.

use crate::model::*;
use crate::state::{ServiceSummary, State, StoredService, StoredTask, TaskSummary};
use crate::status::{ClusterStatus, HasStatus, ServiceStatus};
use crate::{arn, EcsError, RequestContext};

/// The ARN of a cluster given by name or ARN (`default` when absent).
pub(crate) fn cluster_arn(ctx: &RequestContext, ident: Option<&str>) -> Result<String, EcsError> {
    let ident = ident.filter(|s| !s.is_empty()).unwrap_or("default");
    if arn::is_arn(ident) {
        match arn::parse(ident) {
            Some(a) if a.kind == "cluster" && !a.id.contains('/') && ctx.owns(ident) => {
                Ok(ident.to_string())
            }
            Some(a) if a.kind == "cluster" && !a.id.contains('/') => Err(EcsError::ClusterNotFound),
            _ => Err(EcsError::invalid(format!(
                "Invalid cluster identifier: {ident}"
            ))),
        }
    } else {
        Ok(arn::ecs(
            &ctx.region,
            &ctx.account_id,
            &format!("cluster/{ident}"),
        ))
    }
}

/// The ARN a task identifier (ID or ARN) names in `cluster_arn`.
pub(crate) fn task_arn_of(cluster_arn: &str, ident: &str) -> String {
    if arn::is_arn(ident) {
        ident.to_string()
    } else {
        format!("{}{ident}", task_prefix(cluster_arn))
    }
}

/// The task of `cluster_arn` that `ident` (ID or ARN) names, if the caller may see it.
pub(crate) fn find_task(
    state: &State,
    ctx: &RequestContext,
    cluster_arn: &str,
    ident: &str,
) -> Option<StoredTask> {
    state.tasks.get(&visible_task_arn(ctx, cluster_arn, ident)?)
}

/// The ARN of the task of `cluster_arn` that `ident` (ID or ARN) names, if the caller may see
/// it (a task's ARN holds its cluster's name: it is one of the cluster's when it starts with
/// the cluster's task prefix).
pub(crate) fn find_task_arn(
    state: &State,
    ctx: &RequestContext,
    cluster_arn: &str,
    ident: &str,
) -> Option<String> {
    visible_task_arn(ctx, cluster_arn, ident).filter(|arn| state.tasks.contains_key(arn))
}

/// The ARN `ident` (ID or ARN) names, when it is one of `cluster_arn`'s tasks' that the caller
/// may see (whether such a task exists is not looked at).
fn visible_task_arn(ctx: &RequestContext, cluster_arn: &str, ident: &str) -> Option<String> {
    let arn = task_arn_of(cluster_arn, ident);
    (ctx.owns(&arn) && arn.starts_with(&task_prefix(cluster_arn))).then_some(arn)
}

/// The ACTIVE cluster named by `ident`, or ClusterNotFoundException.
pub(crate) fn active_cluster<'s>(
    state: &'s State,
    ctx: &RequestContext,
    ident: Option<&str>,
) -> Result<&'s Cluster, EcsError> {
    let arn = cluster_arn(ctx, ident)?;
    state
        .clusters
        .get(&arn)
        .filter(|c| c.status_is(ClusterStatus::Active))
        .ok_or(EcsError::ClusterNotFound)
}

/// The ARN prefix every task of a cluster shares.
pub(crate) fn task_prefix(cluster_arn: &str) -> String {
    arn::in_cluster(cluster_arn, "task", "")
}

/// The tasks of one cluster: their ARNs and summaries.
pub(crate) fn tasks_in<'s>(
    state: &'s State,
    cluster_arn: &str,
) -> impl Iterator<Item = (&'s String, &'s TaskSummary)> {
    state.tasks.prefixed(task_prefix(cluster_arn))
}

/// The ARN of the service `name` in `cluster_arn`.
pub(crate) fn service_arn(cluster_arn: &str, name: &str) -> String {
    arn::in_cluster(cluster_arn, "service", name)
}

/// The service named or ARN'd by `ident` in `cluster_arn`, whatever its status.
pub(crate) fn find_service(
    state: &State,
    ctx: &RequestContext,
    cluster_arn: &str,
    ident: &str,
) -> Option<StoredService> {
    state
        .services
        .get(&visible_service_arn(ctx, cluster_arn, ident)?)
}

/// The ARN of the service named or ARN'd by `ident` in `cluster_arn`, whatever its status (a
/// service's ARN holds its cluster's name, as a task's does).
pub(crate) fn find_service_arn(
    state: &State,
    ctx: &RequestContext,
    cluster_arn: &str,
    ident: &str,
) -> Option<String> {
    visible_service_arn(ctx, cluster_arn, ident).filter(|arn| state.services.contains_key(arn))
}

/// The ARN `ident` (name or ARN) names, when it is one of `cluster_arn`'s services' that the
/// caller may see (whether such a service exists is not looked at).
fn visible_service_arn(ctx: &RequestContext, cluster_arn: &str, ident: &str) -> Option<String> {
    let arn = if arn::is_arn(ident) {
        ident.to_string()
    } else {
        service_arn(cluster_arn, ident)
    };
    (ctx.owns(&arn) && arn.starts_with(&service_arn(cluster_arn, ""))).then_some(arn)
}

/// The services of a cluster: their ARNs and summaries.
pub(crate) fn services_in<'s>(
    state: &'s State,
    cluster_arn: &str,
) -> impl Iterator<Item = (&'s String, &'s ServiceSummary)> {
    state.services.prefixed(service_arn(cluster_arn, ""))
}

/// Whether a cluster has services that are not INACTIVE (DeleteCluster refuses then).
pub(crate) fn has_services(state: &State, cluster_arn: &str) -> bool {
    services_in(state, cluster_arn)
        .any(|(_, s)| s.status_is(ServiceStatus::Active) || s.status_is(ServiceStatus::Draining))
}

/// The task as responses show it: tags filled in when asked for.
pub(crate) fn task_view(state: &State, t: StoredTask, with_tags: bool) -> Task {
    let mut task = t.task;
    task.tags = Some(if with_tags {
        state.tags_of(task.task_arn.as_deref().unwrap_or_default())
    } else {
        vec![]
    });
    task
}
