//! Service deployments and service revisions: the history ECS keeps of each deployment of a
//! service. A deployment in `Service.deployments` lives while it has tasks; its service
//! deployment record (what was deployed over what, how it went) and its service revision (what
//! it deployed) stay until the service is deleted. Backs ListServiceDeployments,
//! DescribeServiceDeployments, DescribeServiceRevisions and StopServiceDeployment.

use super::service_model::{add_event, history_arn, new_deployment, primary_of};
use crate::model::*;
use crate::ports::ids::Ids;
use crate::rules::blue_green::{is_blue_green, BlueGreenProgress};
use crate::rules::scheduler::failure_threshold;
use crate::state::{Mutation, State, StoredService};
use crate::status::{DeploymentStatus, HasStatus};

/// The digits of a deployment ID (`ecs-svc/<digits>`), which name its revision and record.
fn number(deployment_id: &str) -> &str {
    deployment_id
        .strip_prefix("ecs-svc/")
        .unwrap_or(deployment_id)
}

/// Whether a service deployment has not finished yet.
pub(crate) fn ongoing(status: Option<ServiceDeploymentStatus>) -> bool {
    use ServiceDeploymentStatus::*;
    matches!(
        status,
        Some(Pending | InProgress | StopRequested | RollbackRequested | RollbackInProgress)
    )
}

fn revision_of(
    state: &State,
    service: &Service,
    deployment: &Deployment,
    now: f64,
) -> ServiceRevision {
    let service_arn = service.service_arn.clone().unwrap_or_default();
    let id = deployment.id.clone().unwrap_or_default();
    let images = deployment
        .task_definition
        .as_ref()
        .and_then(|td| state.task_definitions.get(td))
        .and_then(|td| td.container_definitions.as_ref())
        .map(|defs| {
            defs.iter()
                .map(|d| ContainerImage {
                    container_name: d.name.clone(),
                    image: d.image.clone(),
                    image_digest: None,
                })
                .collect()
        });
    ServiceRevision {
        service_revision_arn: Some(history_arn(&service_arn, "service-revision", number(&id))),
        service_arn: Some(service_arn),
        cluster_arn: service.cluster_arn.clone(),
        task_definition: deployment.task_definition.clone(),
        capacity_provider_strategy: deployment.capacity_provider_strategy.clone(),
        launch_type: deployment.launch_type,
        platform_version: deployment.platform_version.clone(),
        platform_family: deployment.platform_family.clone(),
        load_balancers: service.load_balancers.clone(),
        service_registries: service.service_registries.clone(),
        network_configuration: deployment.network_configuration.clone(),
        container_images: images,
        service_connect_configuration: deployment.service_connect_configuration.clone(),
        guard_duty_enabled: Some(false),
        created_at: Some(now),
        ..ServiceRevision::default()
    }
}

/// The service revision `task` was started for, with its images' digests from `created` (as
/// ECS resolves them when the deployment starts; locally, when its first task has its images),
/// if it has none yet.
pub(crate) fn with_digests(
    state: &State,
    task: &crate::model::Task,
    created: &[crate::ports::runtime::StartedContainer],
) -> Option<Mutation> {
    let service = state.services.get(&crate::state::service_of(task)?)?;
    let revision_arn = service.revisions.get(task.started_by.as_deref()?)?;
    let mut revision = state.service_revisions.get(revision_arn)?;
    let mut changed = false;
    for image in revision.container_images.iter_mut().flatten() {
        let digest = created
            .iter()
            .find(|c| Some(&c.name) == image.container_name.as_ref())
            .and_then(|c| c.image_digest.clone());
        if image.image_digest.is_none() && digest.is_some() {
            image.image_digest = digest;
            changed = true;
        }
    }
    changed.then_some(Mutation::PutServiceRevision(revision))
}

fn circuit_breaker(service: &Service, failures: i32) -> ServiceDeploymentCircuitBreaker {
    let enabled = service
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.deployment_circuit_breaker.as_ref())
        .and_then(|b| b.enable)
        == Some(true);
    let desired = service.desired_count.unwrap_or(0).max(0) as u32;
    ServiceDeploymentCircuitBreaker {
        status: Some(if enabled {
            ServiceDeploymentRollbackMonitorsStatus::Monitoring
        } else {
            ServiceDeploymentRollbackMonitorsStatus::Disabled
        }),
        failure_count: Some(failures),
        threshold: Some(failure_threshold(desired) as i32),
    }
}

/// What the deployments deploying `revision` ask for and have: requested, running, pending.
fn summary(stored: &StoredService, revision: &str) -> ServiceRevisionSummary {
    let mut s = ServiceRevisionSummary {
        arn: Some(revision.to_string()),
        requested_task_count: Some(0),
        running_task_count: Some(0),
        pending_task_count: Some(0),
        ..ServiceRevisionSummary::default()
    };
    let deployments = stored.service.deployments.iter().flatten();
    for d in deployments.filter(|d| {
        d.id.as_ref()
            .and_then(|id| stored.revisions.get(id))
            .map(String::as_str)
            == Some(revision)
    }) {
        let add =
            |n: &mut Option<i32>, by: Option<i32>| *n = Some(n.unwrap_or(0) + by.unwrap_or(0));
        add(&mut s.requested_task_count, d.desired_count);
        add(&mut s.running_task_count, d.running_count);
        add(&mut s.pending_task_count, d.pending_count);
    }
    s
}

fn demote_primary(service: &mut Service, now: f64) {
    for d in service.deployments.iter_mut().flatten() {
        if d.status_is(DeploymentStatus::Primary) {
            d.set_status(DeploymentStatus::Active);
            d.updated_at = Some(now);
        }
    }
}

/// Gives the service a new primary deployment of `td`, recording its revision and its service
/// deployment; an unfinished service deployment it supersedes is STOPPED.
pub(crate) fn deploy(
    state: &State,
    stored: &mut StoredService,
    td: &str,
    now: f64,
    ids: &dyn Ids,
) -> Vec<Mutation> {
    demote_primary(&mut stored.service, now);
    let mut fresh = new_deployment(&stored.service, td, now, ids);
    fresh.service_connect_configuration = stored.service_connect.clone();
    let id = fresh.id.clone().unwrap_or_default();
    let revision = revision_of(state, &stored.service, &fresh, now);
    let revision_arn = revision.service_revision_arn.clone().unwrap_or_default();
    let mut sources: Vec<String> = vec![];
    for d in stored.service.deployments.iter().flatten() {
        let revision = d.id.as_deref().and_then(|id| stored.revisions.get(id));
        if let Some(r) = revision.filter(|r| !sources.contains(r)) {
            sources.push(r.clone());
        }
    }
    stored
        .service
        .deployments
        .get_or_insert_with(Vec::new)
        .insert(0, fresh);
    stored.revisions.insert(id.clone(), revision_arn.clone());
    let mut mutations = vec![Mutation::PutServiceRevision(revision)];
    if let Some(current) = stored
        .current_deployment
        .as_ref()
        .and_then(|arn| state.service_deployments.get(arn))
        .filter(|d| ongoing(d.status))
    {
        let mut current = current;
        current.status = Some(ServiceDeploymentStatus::Stopped);
        current.status_reason = Some("Superseded by a newer service deployment.".into());
        current.stopped_at = Some(now);
        current.finished_at = Some(now);
        current.updated_at = Some(now);
        mutations.push(Mutation::PutServiceDeployment(current));
    }
    let service = &stored.service;
    let service_arn = service.service_arn.clone().unwrap_or_default();
    let record = ServiceDeployment {
        service_deployment_arn: Some(history_arn(&service_arn, "service-deployment", number(&id))),
        service_arn: Some(service_arn),
        cluster_arn: service.cluster_arn.clone(),
        created_at: Some(now),
        started_at: Some(now),
        updated_at: Some(now),
        source_service_revisions: Some(sources.iter().map(|r| summary(stored, r)).collect()),
        target_service_revision: Some(summary(stored, &revision_arn)),
        status: Some(ServiceDeploymentStatus::InProgress),
        deployment_configuration: service.deployment_configuration.clone(),
        deployment_circuit_breaker: Some(circuit_breaker(service, 0)),
        ..ServiceDeployment::default()
    };
    // Blue/green when there is a blue to replace: green runs beside it until it goes.
    let strategy = service
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.strategy);
    let mut record = record;
    stored.blue_green = (is_blue_green(strategy) && !sources.is_empty())
        .then(|| BlueGreenProgress::new(id.clone(), now));
    if let Some(p) = &stored.blue_green {
        record.lifecycle_stage = Some(p.stage);
    }
    stored.current_deployment = record.service_deployment_arn.clone();
    mutations.push(Mutation::PutServiceDeployment(record));
    mutations
}

/// The current service deployment with `change` applied, as a mutation (none if unchanged).
fn change_current(
    state: &State,
    stored: &StoredService,
    now: f64,
    change: impl FnOnce(&mut ServiceDeployment),
) -> Option<Mutation> {
    let old = state
        .service_deployments
        .get(stored.current_deployment.as_deref()?)?;
    change_record(&old, old.clone(), now, change)
}

/// `record` with `change` applied, as a mutation if it then differs from the stored `old`.
fn change_record(
    old: &ServiceDeployment,
    mut record: ServiceDeployment,
    now: f64,
    change: impl FnOnce(&mut ServiceDeployment),
) -> Option<Mutation> {
    change(&mut record);
    (record != *old).then(|| {
        record.updated_at = Some(now);
        Mutation::PutServiceDeployment(record)
    })
}

/// Rolls the service back to the revision of its last completed deployment (circuit breaker or
/// StopServiceDeployment); the current service deployment records the rollback. `None` when
/// there is nothing to roll back to.
pub(crate) fn roll_back(
    state: &State,
    stored: &mut StoredService,
    reason: &str,
    now: f64,
    ids: &dyn Ids,
) -> Option<Vec<Mutation>> {
    let back = stored.last_completed_revision.clone()?;
    stored.blue_green = None;
    let td = state
        .service_revisions
        .get(&back)
        .and_then(|r| r.task_definition.clone())?;
    let failed_id = primary_of(&stored.service)
        .and_then(|d| d.id.clone())
        .unwrap_or_default();
    demote_primary(&mut stored.service, now);
    stored.service.task_definition = Some(td.clone());
    // The deployment of that revision, if its tasks still run, takes over again; otherwise a
    // new deployment of it starts.
    let revisions = &stored.revisions;
    let survivor = stored
        .service
        .deployments
        .iter_mut()
        .flatten()
        .find(|d| d.id.as_ref().and_then(|id| revisions.get(id)) == Some(&back));
    let rollback_id = match survivor {
        Some(d) => {
            d.set_status(DeploymentStatus::Primary);
            d.rollout_state = Some(DeploymentRolloutState::InProgress);
            d.updated_at = Some(now);
            d.id.clone().unwrap_or_default()
        }
        None => {
            let rollback = new_deployment(&stored.service, &td, now, ids);
            let id = rollback.id.clone().unwrap_or_default();
            stored.revisions.insert(id.clone(), back.clone());
            stored
                .service
                .deployments
                .get_or_insert_with(Vec::new)
                .insert(0, rollback);
            id
        }
    };
    let name = stored.service.service_name.clone().unwrap_or_default();
    add_event(
        &mut stored.service,
        format!(
            "(service {name}) (deployment {failed_id}) rolling back to deployment {rollback_id} (task definition {td})."
        ),
        now,
        ids,
    );
    let record = change_current(state, stored, now, |r| {
        r.status = Some(ServiceDeploymentStatus::RollbackInProgress);
        r.status_reason = Some(reason.to_string());
        r.rollback = Some(Rollback {
            reason: Some(reason.to_string()),
            started_at: Some(now),
            service_revision_arn: Some(back),
        });
    });
    Some(record.into_iter().collect())
}

/// [`roll_back`], the record keeping the lifecycle hooks and stage `record` has (as a
/// blue/green step or ContinueServiceDeployment left them).
pub(crate) fn roll_back_from(
    state: &State,
    stored: &mut StoredService,
    record: &ServiceDeployment,
    reason: &str,
    now: f64,
    ids: &dyn Ids,
) -> Option<Vec<Mutation>> {
    let mut mutations = roll_back(state, stored, reason, now, ids)?;
    for m in &mut mutations {
        if let Mutation::PutServiceDeployment(r) = m {
            r.lifecycle_hook_details = record.lifecycle_hook_details.clone();
            r.lifecycle_stage = record.lifecycle_stage;
        }
    }
    Some(mutations)
}

/// Records that the circuit breaker tripped on the current service deployment and no rollback
/// followed (disabled, or nothing to roll back to).
pub(crate) fn tripped_without_rollback(
    state: &State,
    stored: &StoredService,
    rollback_wanted: bool,
    reason: &str,
    now: f64,
) -> Option<Mutation> {
    change_current(state, stored, now, |r| {
        r.status = Some(if rollback_wanted {
            ServiceDeploymentStatus::RollbackFailed
        } else {
            ServiceDeploymentStatus::Stopped
        });
        r.status_reason = Some(reason.to_string());
        r.finished_at = Some(now);
        r.stopped_at = Some(now);
        if let Some(b) = r.deployment_circuit_breaker.as_mut() {
            b.status = Some(ServiceDeploymentRollbackMonitorsStatus::Triggered);
        }
    })
}

/// Brings the current service deployment up to date after a scheduler pass: task counts per
/// revision, circuit breaker failures, and completion once the primary deployment completed.
/// `base`, when given, is the record as this pass already changed it (a blue/green step).
pub(crate) fn track(
    state: &State,
    stored: &StoredService,
    now: f64,
    base: Option<ServiceDeployment>,
) -> Option<Mutation> {
    // A finished service deployment keeps the counts it finished with, as ECS's do.
    let stored_record = state
        .service_deployments
        .get(stored.current_deployment.as_deref()?)?;
    let current = base.unwrap_or_else(|| stored_record.clone());
    if !ongoing(current.status) {
        return (current != stored_record).then_some(Mutation::PutServiceDeployment(current));
    }
    let primary = primary_of(&stored.service);
    let completed =
        primary.is_some_and(|p| p.rollout_state == Some(DeploymentRolloutState::Completed));
    let failures = primary.and_then(|p| p.failed_tasks).unwrap_or(0);
    let tripped = primary.is_some_and(|p| p.rollout_state == Some(DeploymentRolloutState::Failed));
    change_record(&stored_record, current, now, |r| {
        if let Some(target) = r.target_service_revision.as_mut() {
            *target = summary(stored, target.arn.as_deref().unwrap_or_default());
        }
        for source in r.source_service_revisions.iter_mut().flatten() {
            *source = summary(stored, source.arn.as_deref().unwrap_or_default());
        }
        match r.status {
            Some(ServiceDeploymentStatus::InProgress) => {
                if let Some(b) = r.deployment_circuit_breaker.as_mut() {
                    b.failure_count = Some(failures);
                    if tripped {
                        b.status = Some(ServiceDeploymentRollbackMonitorsStatus::Triggered);
                    }
                }
                if completed {
                    r.status = Some(ServiceDeploymentStatus::Successful);
                    r.status_reason = Some("Service deployment completed successfully.".into());
                    r.finished_at = Some(now);
                }
            }
            Some(
                ServiceDeploymentStatus::RollbackInProgress
                | ServiceDeploymentStatus::RollbackRequested,
            ) if completed => {
                r.status = Some(ServiceDeploymentStatus::RollbackSuccessful);
                r.finished_at = Some(now);
            }
            _ => {}
        }
    })
}

/// Forgets a deleted service's deployments and revisions, as ECS does.
pub(crate) fn forget(state: &State, service_arn: &str) -> Vec<Mutation> {
    let deployments = state
        .service_deployments
        .prefixed(history_arn(service_arn, "service-deployment", ""))
        .map(|(k, _)| Mutation::DeleteServiceDeployment(k.clone()));
    let revisions = state
        .service_revisions
        .prefixed(history_arn(service_arn, "service-revision", ""))
        .map(|(k, _)| Mutation::DeleteServiceRevision(k.clone()));
    deployments.chain(revisions).collect()
}
