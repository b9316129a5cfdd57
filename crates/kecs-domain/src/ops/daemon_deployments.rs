//! DescribeDaemonDeployments, ListDaemonDeployments and DescribeDaemonRevisions: a daemon's
//! history, read from the daemon's record (a deployment in progress with its live counts).

use super::daemon_model::{deployment_counts, find, Seen};
use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, LIST};
use crate::state::{State, StoredDaemon};
use crate::{EcsError, RequestContext};

/// The daemon a part's ARN (`...:daemon-deployment/<cluster>/<name>/<id>`, or
/// `daemon-revision`) belongs to.
fn daemon_of<'s>(state: &'s State, part_arn: &str, kind: &str) -> Option<&'s StoredDaemon> {
    let (base, path) = part_arn.split_once(&format!(":{kind}/"))?;
    let (cluster_and_name, _) = path.rsplit_once('/')?;
    state
        .daemons
        .get(&format!("{base}:daemon/{cluster_and_name}"))
}

fn missing(arn: &str) -> Failure {
    Failure {
        arn: Some(arn.to_string()),
        reason: Some("MISSING".into()),
        detail: None,
    }
}

/// A deployment as shown: one still in progress with the counts of this moment.
fn shown(state: &State, daemon: &StoredDaemon, d: &DaemonDeployment) -> DaemonDeployment {
    let mut d = d.clone();
    if d.status == Some(DaemonDeploymentStatus::InProgress) {
        let seen = Seen::of(state, daemon);
        let live = |r: &DaemonDeploymentRevisionDetail| {
            deployment_counts(daemon, &seen, r.arn.as_deref().unwrap_or_default())
        };
        d.target_daemon_revision = d.target_daemon_revision.as_ref().map(live);
        d.source_daemon_revisions = d
            .source_daemon_revisions
            .as_ref()
            .map(|s| s.iter().map(live).collect());
    }
    d
}

fn check_count(arns: &[String], what: &str) -> Result<(), EcsError> {
    if arns.is_empty() || arns.len() > 20 {
        return Err(EcsError::invalid(format!(
            "{what} must name between 1 and 20 ARNs."
        )));
    }
    Ok(())
}

pub(crate) async fn describe_daemon_deployments(
    core: &Core,
    _ctx: &RequestContext,
    input: DescribeDaemonDeploymentsRequest,
) -> Result<DescribeDaemonDeploymentsResponse, EcsError> {
    let arns = input.daemon_deployment_arns.unwrap_or_default();
    check_count(&arns, "daemonDeploymentArns")?;
    Ok(core.read(|state| {
        let (mut found, mut failures) = (vec![], vec![]);
        for arn in &arns {
            let hit = daemon_of(state, arn, "daemon-deployment").and_then(|daemon| {
                let d = daemon
                    .deployments
                    .iter()
                    .find(|d| d.daemon_deployment_arn.as_ref() == Some(arn))?;
                Some(shown(state, daemon, d))
            });
            match hit {
                Some(d) => found.push(d),
                None => failures.push(missing(arn)),
            }
        }
        DescribeDaemonDeploymentsResponse {
            failures: Some(failures),
            daemon_deployments: Some(found),
        }
    }))
}

pub(crate) async fn list_daemon_deployments(
    core: &Core,
    _ctx: &RequestContext,
    input: ListDaemonDeploymentsRequest,
) -> Result<ListDaemonDeploymentsResponse, EcsError> {
    let daemon_arn = input.daemon_arn.unwrap_or_default();
    let statuses = input.status.unwrap_or_default();
    let window = input.created_at.unwrap_or_default();
    let found: Vec<(String, DaemonDeploymentSummary)> =
        core.read(|state| -> Result<_, EcsError> {
            let daemon = find(state, &daemon_arn)?;
            // Newest first; the key keeps that order across pages.
            Ok(daemon
                .deployments
                .iter()
                .enumerate()
                .rev()
                .filter(|(_, d)| {
                    statuses.is_empty() || d.status.is_some_and(|s| statuses.contains(&s))
                })
                .filter(|(_, d)| {
                    let at = d.created_at.unwrap_or(0.0);
                    window.before.is_none_or(|b| at <= b) && window.after.is_none_or(|a| at >= a)
                })
                .map(|(i, d)| {
                    let summary = DaemonDeploymentSummary {
                        daemon_deployment_arn: d.daemon_deployment_arn.clone(),
                        daemon_arn: Some(daemon.daemon_arn.clone()),
                        cluster_arn: d.cluster_arn.clone(),
                        status: d.status,
                        status_reason: d.status_reason.clone(),
                        target_daemon_revision_arn: d
                            .target_daemon_revision
                            .as_ref()
                            .and_then(|r| r.arn.clone()),
                        created_at: d.created_at,
                        started_at: d.started_at,
                        stopped_at: d.stopped_at,
                        finished_at: d.finished_at,
                    };
                    (format!("{i:010}"), summary)
                })
                .collect())
        })?;
    let page = paginate(
        found,
        |(k, _)| k.clone(),
        true,
        input.max_results,
        input.next_token.as_deref(),
        LIST,
    )?;
    Ok(ListDaemonDeploymentsResponse {
        daemon_deployments: Some(page.items.into_iter().map(|(_, s)| s).collect()),
        next_token: page.next_token,
    })
}

pub(crate) async fn describe_daemon_revisions(
    core: &Core,
    _ctx: &RequestContext,
    input: DescribeDaemonRevisionsRequest,
) -> Result<DescribeDaemonRevisionsResponse, EcsError> {
    let arns = input.daemon_revision_arns.unwrap_or_default();
    check_count(&arns, "daemonRevisionArns")?;
    Ok(core.read(|state| {
        let (mut found, mut failures) = (vec![], vec![]);
        for arn in &arns {
            let hit = daemon_of(state, arn, "daemon-revision").and_then(|daemon| {
                daemon
                    .revisions
                    .iter()
                    .find(|r| r.daemon_revision_arn.as_ref() == Some(arn))
                    .cloned()
            });
            match hit {
                Some(r) => found.push(r),
                None => failures.push(missing(arn)),
            }
        }
        DescribeDaemonRevisionsResponse {
            daemon_revisions: Some(found),
            failures: Some(failures),
        }
    }))
}
