//! ListServiceDeployments, DescribeServiceDeployments, DescribeServiceRevisions and
//! StopServiceDeployment over the records deployment_history.rs keeps.

use super::deployment_history::{ongoing, roll_back};
use super::find::{active_cluster, find_service};
use super::service_model::{history_arn, schedule_service};
use crate::status::{HasStatus, ServiceStatus};

use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, Limits};
use crate::state::{Mutation, Row, State, StoredService, Table};
use crate::{EcsError, RequestContext};

/// ListServiceDeployments pages: 20 by default, at most 100.
const LIST_DEPLOYMENTS: Limits = Limits {
    default: 20,
    max: 100,
};

/// How many ARNs one Describe call takes.
const MAX_DESCRIBED: usize = 20;

fn brief(d: &ServiceDeployment) -> ServiceDeploymentBrief {
    ServiceDeploymentBrief {
        service_deployment_arn: d.service_deployment_arn.clone(),
        service_arn: d.service_arn.clone(),
        cluster_arn: d.cluster_arn.clone(),
        started_at: d.started_at,
        created_at: d.created_at,
        finished_at: d.finished_at,
        target_service_revision_arn: d
            .target_service_revision
            .as_ref()
            .and_then(|t| t.arn.clone()),
        status: d.status,
        status_reason: d.status_reason.clone(),
    }
}

/// Newest first: creation time, then ARN, as one string key that sorts the same way.
fn newest_first_key(d: &ServiceDeploymentBrief) -> String {
    format!(
        "{:020.6}|{}",
        d.created_at.unwrap_or(0.0),
        d.service_deployment_arn.as_deref().unwrap_or_default()
    )
}

fn check_arns(arns: &[String], what: &str) -> Result<(), EcsError> {
    if arns.is_empty() || arns.len() > MAX_DESCRIBED {
        return Err(EcsError::invalid(format!(
            "{what} must have between 1 and {MAX_DESCRIBED} items."
        )));
    }
    Ok(())
}

/// The records named by `arns` in `table`, and a MISSING failure for each one not there.
fn described<T: Row>(
    ctx: &RequestContext,
    table: &Table<T>,
    arns: &[String],
) -> (Vec<T>, Vec<Failure>) {
    let (mut found, mut failures) = (vec![], vec![]);
    for arn in arns {
        match table.get(arn).filter(|_| ctx.owns(arn)) {
            Some(r) => found.push(r),
            None => failures.push(super::missing(arn.clone())),
        }
    }
    (found, failures)
}

pub(crate) async fn list_service_deployments(
    core: &Core,
    ctx: &RequestContext,
    input: ListServiceDeploymentsRequest,
) -> Result<ListServiceDeploymentsResponse, EcsError> {
    let ident = input.service.clone().unwrap_or_default();
    let statuses = input.status.clone().unwrap_or_default();
    let window = input.created_at.clone().unwrap_or_default();
    let mut briefs: Vec<ServiceDeploymentBrief> = core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let service = find_service(state, ctx, &cluster_arn, &ident)
            .filter(|s| !s.service.status_is(ServiceStatus::Inactive))
            .ok_or(EcsError::ServiceNotFound)?;
        let service_arn = service.service.service_arn.clone().unwrap_or_default();
        let prefix = history_arn(&service_arn, "service-deployment", "");
        Ok::<_, EcsError>(
            state
                .service_deployments
                .prefixed_values(prefix)
                .filter(|d| statuses.is_empty() || d.status.is_some_and(|s| statuses.contains(&s)))
                .filter(|d| {
                    let at = d.created_at.unwrap_or(0.0);
                    window.after.is_none_or(|a| at >= a) && window.before.is_none_or(|b| at <= b)
                })
                .map(|d| brief(&d))
                .collect(),
        )
    })?;
    briefs.sort_by_key(|b| std::cmp::Reverse(newest_first_key(b)));
    let page = paginate(
        briefs,
        newest_first_key,
        true,
        input.max_results,
        input.next_token.as_deref(),
        LIST_DEPLOYMENTS,
    )?;
    Ok(ListServiceDeploymentsResponse {
        service_deployments: Some(page.items),
        next_token: page.next_token,
    })
}

pub(crate) async fn describe_service_deployments(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeServiceDeploymentsRequest,
) -> Result<DescribeServiceDeploymentsResponse, EcsError> {
    let arns = input.service_deployment_arns.clone().unwrap_or_default();
    check_arns(&arns, "serviceDeploymentArns")?;
    let (found, failures) = core.read(|state| described(ctx, &state.service_deployments, &arns));
    Ok(DescribeServiceDeploymentsResponse {
        service_deployments: Some(found),
        failures: Some(failures),
    })
}

pub(crate) async fn describe_service_revisions(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeServiceRevisionsRequest,
) -> Result<DescribeServiceRevisionsResponse, EcsError> {
    let arns = input.service_revision_arns.clone().unwrap_or_default();
    check_arns(&arns, "serviceRevisionArns")?;
    let (found, failures) = core.read(|state| described(ctx, &state.service_revisions, &arns));
    Ok(DescribeServiceRevisionsResponse {
        service_revisions: Some(found),
        failures: Some(failures),
    })
}

/// The service deployment `arn` names (or ServiceDeploymentNotFoundException), and its ACTIVE
/// service if the deployment is that service's current one.
pub(crate) fn deployment_and_service(
    state: &State,
    ctx: &RequestContext,
    arn: &str,
) -> Result<(ServiceDeployment, Option<StoredService>), EcsError> {
    let record = state
        .service_deployments
        .get(arn)
        .filter(|_| ctx.owns(arn))
        .ok_or_else(|| EcsError::ServiceDeploymentNotFound(arn.to_string()))?;
    let service_arn = record.service_arn.clone().unwrap_or_default();
    let stored = state
        .services
        .get(&service_arn)
        .filter(|s| s.service.status_is(ServiceStatus::Active))
        .filter(|s| s.current_deployment.as_deref() == Some(arn));
    Ok((record, stored))
}

pub(crate) async fn stop_service_deployment(
    core: &Core,
    ctx: &RequestContext,
    input: StopServiceDeploymentRequest,
) -> Result<StopServiceDeploymentResponse, EcsError> {
    let arn = input.service_deployment_arn.clone().unwrap_or_default();
    if input.stop_type == Some(StopServiceDeploymentStopType::Abort) {
        return Err(EcsError::invalid(
            "The valid values for stopType are ROLLBACK.",
        ));
    }
    let now = core.now();
    let service_arn = core
        .write(|state| {
            let (record, stored) = deployment_and_service(state, ctx, &arn)?;
            let service_arn = record.service_arn.clone().unwrap_or_default();
            let Some(stored) = stored.filter(|_| ongoing(record.status)) else {
                return Err(EcsError::Conflict(format!(
                    "The service deployment {arn} is {} and cannot be stopped.",
                    record.status.map(|s| s.as_str()).unwrap_or("finished")
                )));
            };
            if record.status != Some(ServiceDeploymentStatus::InProgress)
                && record.status != Some(ServiceDeploymentStatus::Pending)
            {
                // Already stopping or rolling back: it goes on.
                return Ok((None, vec![]));
            }
            let mut stored = stored.clone();
            let mut mutations = roll_back(
                state,
                &mut stored,
                "Service deployment rolled back by a StopServiceDeployment request.",
                now,
                core.ids(),
            )
            .ok_or_else(|| {
                EcsError::Conflict(
                    "The service has no earlier completed service revision to roll back to.".into(),
                )
            })?;
            mutations.push(Mutation::PutService(stored));
            Ok((Some(service_arn), mutations))
        })
        .await?;
    schedule_service(core, service_arn);
    Ok(StopServiceDeploymentResponse {
        service_deployment_arn: Some(arn),
    })
}
