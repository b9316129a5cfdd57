//! CreateDaemon, UpdateDaemon, DeleteDaemon, DescribeDaemon and ListDaemons. Each create or
//! update records a daemon revision and a deployment; the daemon scheduler
//! (`control::daemon_scheduler`) then runs one task of the revision on each container instance
//! of the daemon's capacity providers.

use super::daemon_model::{self, find};
use super::daemon_task_definitions::resolve as resolve_definition;
use super::find::{active_cluster, cluster_arn};
use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::{paginate, LIST};
use crate::rules::daemon::{check_name, deployment_configuration, recast};
use crate::rules::validate;
use crate::state::{Mutation, State, StoredDaemon};
use crate::{arn, EcsError, RequestContext};
use serde::Deserialize;

/// What a CreateDaemon or an UpdateDaemon request asks of its new revision (both requests name
/// these members alike).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevisionSettings {
    daemon_task_definition_arn: Option<String>,
    propagate_tags: Option<DaemonPropagateTags>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    enable_execute_command: Option<bool>,
}

/// The settings a create or an update gives a new revision and its deployment.
struct RevisionInput<'a> {
    config: &'a DaemonDeploymentConfiguration,
    providers: &'a [String],
    asked: RevisionSettings,
}

/// The ARN of a daemon's part (`daemon-revision`, `daemon-deployment`) with the ID `id`.
fn part_arn(daemon_arn: &str, kind: &str, id: &str) -> String {
    format!(
        "{}/{id}",
        daemon_arn.replacen(":daemon/", &format!(":{kind}/"), 1)
    )
}

/// The daemon task definition a revision deploys: it exists and is ACTIVE.
fn definition<'s>(
    state: &'s State,
    ctx: &RequestContext,
    ident: &str,
) -> Result<&'s DaemonTaskDefinition, EcsError> {
    let td = resolve_definition(state, ctx, ident)
        .ok_or_else(|| EcsError::client("The specified daemon task definition does not exist."))?;
    if td.status != Some(DaemonTaskDefinitionStatus::Active) {
        return Err(EcsError::client(
            "The specified daemon task definition is not ACTIVE.",
        ));
    }
    Ok(td)
}

/// The capacity providers a daemon runs on: ARNs of providers associated with its cluster,
/// Fargate's excepted (a daemon needs container instances).
fn check_providers(cluster: &Cluster, given: &[String]) -> Result<(), EcsError> {
    if given.is_empty() {
        return Err(EcsError::invalid(
            "At least one capacity provider ARN is required.",
        ));
    }
    let associated = cluster.capacity_providers.as_deref().unwrap_or_default();
    for p in given {
        let name = arn::parse(p)
            .filter(|a| a.kind == "capacity-provider")
            .map(|a| a.id)
            .ok_or_else(|| {
                EcsError::invalid(format!("The capacity provider ARN '{p}' is not valid."))
            })?;
        if name.starts_with("FARGATE") {
            return Err(EcsError::invalid(format!(
                "The capacity provider '{name}' has no container instances: daemons run on \
                 container instances."
            )));
        }
        if !associated.iter().any(|a| a == name) {
            return Err(EcsError::invalid(format!(
                "The specified capacity provider '{name}' is not associated with the cluster."
            )));
        }
    }
    Ok(())
}

/// A new revision of `daemon_arn` and the deployment that rolls it out.
fn revision_and_deployment(
    core: &Core,
    state: &State,
    ctx: &RequestContext,
    daemon_arn: &str,
    cluster: &str,
    input: &RevisionInput<'_>,
    source: Option<&DaemonRevision>,
) -> Result<(DaemonRevision, DaemonDeployment), EcsError> {
    let (config, providers, asked) = (input.config, input.providers, &input.asked);
    let ident = asked
        .daemon_task_definition_arn
        .as_deref()
        .unwrap_or_default();
    let td = definition(state, ctx, ident)?;
    let now = core.now();
    let revision_arn = part_arn(daemon_arn, "daemon-revision", &core.ids().uuid());
    let images = td
        .container_definitions
        .iter()
        .flatten()
        .map(|c| DaemonContainerImage {
            container_name: c.name.clone(),
            image: c.image.clone(),
            image_digest: None,
        })
        .collect();
    let revision = DaemonRevision {
        daemon_revision_arn: Some(revision_arn.clone()),
        cluster_arn: Some(cluster.to_string()),
        daemon_arn: Some(daemon_arn.to_string()),
        daemon_task_definition_arn: td.daemon_task_definition_arn.clone(),
        created_at: Some(now),
        container_images: Some(images),
        propagate_tags: Some(asked.propagate_tags.unwrap_or(DaemonPropagateTags::None)),
        enable_ecs_managed_tags: Some(asked.enable_ecs_managed_tags.unwrap_or(false)),
        enable_execute_command: Some(asked.enable_execute_command.unwrap_or(false)),
    };
    let zero = |arn: Option<String>| DaemonDeploymentRevisionDetail {
        arn,
        capacity_providers: Some(
            providers
                .iter()
                .map(|p| DaemonDeploymentCapacityProvider {
                    arn: Some(p.clone()),
                    running_instance_count: Some(0),
                    draining_instance_count: Some(0),
                })
                .collect(),
        ),
        total_running_instance_count: Some(0),
        total_draining_instance_count: Some(0),
    };
    let alarms = config.alarms.as_ref();
    let deployment = DaemonDeployment {
        daemon_deployment_arn: Some(part_arn(daemon_arn, "daemon-deployment", &core.ids().hex())),
        cluster_arn: Some(cluster.to_string()),
        status: Some(DaemonDeploymentStatus::InProgress),
        target_daemon_revision: Some(zero(Some(revision_arn))),
        source_daemon_revisions: Some(
            source
                .map(|s| zero(s.daemon_revision_arn.clone()))
                .into_iter()
                .collect(),
        ),
        // Nothing watches CloudWatch alarms locally, and no circuit breaker trips.
        circuit_breaker: Some(DaemonCircuitBreaker {
            failure_count: Some(0),
            status: Some(DaemonDeploymentRollbackMonitorsStatus::Disabled),
            threshold: Some(0),
        }),
        alarms: Some(DaemonDeploymentAlarms {
            status: Some(DaemonDeploymentRollbackMonitorsStatus::Disabled),
            alarm_names: alarms.and_then(|a| a.alarm_names.clone()),
            triggered_alarm_names: Some(vec![]),
        }),
        deployment_configuration: Some(config.clone()),
        created_at: Some(now),
        started_at: Some(now),
        ..DaemonDeployment::default()
    };
    Ok((revision, deployment))
}

/// The current deployment of a daemon, stopped because `reason`.
fn superseded(daemon: &mut StoredDaemon, now: f64, reason: &str) {
    if let Some(d) = daemon.deployments.last_mut() {
        if matches!(
            d.status,
            Some(DaemonDeploymentStatus::InProgress | DaemonDeploymentStatus::Pending)
        ) {
            d.status = Some(DaemonDeploymentStatus::Stopped);
            d.status_reason = Some(reason.into());
            d.stopped_at = Some(now);
        }
    }
}

pub(crate) async fn create_daemon(
    core: &Core,
    ctx: &RequestContext,
    input: CreateDaemonRequest,
) -> Result<CreateDaemonResponse, EcsError> {
    let name = input.daemon_name.clone().unwrap_or_default();
    check_name(&name)?;
    let tags = validate::dedupe_tags(input.tags.as_deref().unwrap_or_default());
    validate::tags(&tags)?;
    let config = deployment_configuration(input.deployment_configuration.clone())?;
    let providers = input.capacity_provider_arns.clone().unwrap_or_default();
    let now = core.now();
    let out = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster_arn.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let daemon_arn = arn::in_cluster(&cluster_arn, "daemon", &name);
            if let Some(existing) = state.daemons.get(&daemon_arn) {
                if input.client_token.is_some() && existing.client_token == input.client_token {
                    return Ok((response_of(existing), vec![]));
                }
                return Err(EcsError::invalid(format!(
                    "A daemon named '{name}' already exists in the cluster."
                )));
            }
            check_providers(cluster, &providers)?;
            let settings = RevisionInput {
                config: &config,
                providers: &providers,
                asked: recast(&input).unwrap_or_default(),
            };
            let (revision, deployment) = revision_and_deployment(
                core,
                state,
                ctx,
                &daemon_arn,
                &cluster_arn,
                &settings,
                None,
            )?;
            let daemon = StoredDaemon {
                daemon_arn: daemon_arn.clone(),
                cluster_arn,
                daemon_name: name.clone(),
                status: DaemonStatus::Active,
                created_at: now,
                updated_at: now,
                capacity_provider_arns: providers.clone(),
                deployment_configuration: config.clone(),
                revisions: vec![revision],
                deployments: vec![deployment],
                client_token: input.client_token.clone(),
            };
            let response = response_of(&daemon);
            let mut mutations = vec![Mutation::PutDaemon(daemon)];
            if !tags.is_empty() {
                mutations.push(Mutation::PutTags(daemon_arn, tags.clone()));
            }
            Ok((response, mutations))
        })
        .await?;
    if let Some(arn) = &out.daemon_arn {
        core.enqueue(TaskWork::ScheduleDaemon(arn.clone()));
    }
    Ok(out)
}

fn response_of(d: &StoredDaemon) -> CreateDaemonResponse {
    CreateDaemonResponse {
        daemon_arn: Some(d.daemon_arn.clone()),
        status: Some(d.status),
        created_at: Some(d.created_at),
        deployment_arn: d.deployment().and_then(|x| x.daemon_deployment_arn.clone()),
    }
}

/// An ACTIVE daemon, or DaemonNotFoundException / DaemonNotActiveException.
fn active(state: &State, daemon_arn: &str) -> Result<StoredDaemon, EcsError> {
    let daemon = find(state, daemon_arn)?;
    if daemon.status != DaemonStatus::Active {
        return Err(EcsError::DaemonNotActive);
    }
    Ok(daemon.clone())
}

/// Changes an ACTIVE daemon with `edit`, records it and queues its scheduler; answers what
/// UpdateDaemon and DeleteDaemon answer.
async fn change(
    core: &Core,
    daemon_arn: &str,
    edit: impl FnOnce(&State, &mut StoredDaemon, f64) -> Result<(), EcsError>,
) -> Result<UpdateDaemonResponse, EcsError> {
    let now = core.now();
    let out = core
        .write(|state| {
            let mut daemon = active(state, daemon_arn)?;
            edit(state, &mut daemon, now)?;
            daemon.updated_at = now;
            let response = UpdateDaemonResponse {
                daemon_arn: Some(daemon.daemon_arn.clone()),
                status: Some(daemon.status),
                created_at: Some(daemon.created_at),
                updated_at: Some(now),
                deployment_arn: daemon
                    .deployment()
                    .and_then(|d| d.daemon_deployment_arn.clone()),
            };
            Ok((response, vec![Mutation::PutDaemon(daemon)]))
        })
        .await?;
    core.enqueue(TaskWork::ScheduleDaemon(daemon_arn.to_string()));
    Ok(out)
}

pub(crate) async fn update_daemon(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateDaemonRequest,
) -> Result<UpdateDaemonResponse, EcsError> {
    let daemon_arn = input.daemon_arn.clone().unwrap_or_default();
    let providers = input.capacity_provider_arns.clone().unwrap_or_default();
    change(core, &daemon_arn, |state, daemon, now| {
        let cluster = active_cluster(state, ctx, Some(&daemon.cluster_arn))?;
        check_providers(cluster, &providers)?;
        let config = match input.deployment_configuration.clone() {
            Some(given) => deployment_configuration(Some(given))?,
            None => daemon.deployment_configuration.clone(),
        };
        let settings = RevisionInput {
            config: &config,
            providers: &providers,
            asked: recast(&input).unwrap_or_default(),
        };
        let (revision, deployment) = revision_and_deployment(
            core,
            state,
            ctx,
            &daemon.daemon_arn,
            &daemon.cluster_arn,
            &settings,
            daemon.target(),
        )?;
        superseded(daemon, now, "A newer deployment of the daemon started.");
        daemon.revisions.push(revision);
        daemon.deployments.push(deployment);
        daemon.capacity_provider_arns = providers.clone();
        daemon.deployment_configuration = config;
        Ok(())
    })
    .await
}

pub(crate) async fn delete_daemon(
    core: &Core,
    _ctx: &RequestContext,
    input: DeleteDaemonRequest,
) -> Result<DeleteDaemonResponse, EcsError> {
    let daemon_arn = input.daemon_arn.clone().unwrap_or_default();
    let out = change(core, &daemon_arn, |_, daemon, now| {
        superseded(daemon, now, "The daemon is being deleted.");
        daemon.status = DaemonStatus::DeleteInProgress;
        Ok(())
    })
    .await?;
    Ok(DeleteDaemonResponse {
        daemon_arn: out.daemon_arn,
        status: out.status,
        created_at: out.created_at,
        updated_at: out.updated_at,
        deployment_arn: out.deployment_arn,
    })
}

pub(crate) async fn describe_daemon(
    core: &Core,
    _ctx: &RequestContext,
    input: DescribeDaemonRequest,
) -> Result<DescribeDaemonResponse, EcsError> {
    let daemon_arn = input.daemon_arn.unwrap_or_default();
    core.read(|state| {
        let daemon = find(state, &daemon_arn)?;
        Ok(DescribeDaemonResponse {
            daemon: Some(daemon_model::detail(state, daemon)),
        })
    })
}

pub(crate) async fn list_daemons(
    core: &Core,
    ctx: &RequestContext,
    input: ListDaemonsRequest,
) -> Result<ListDaemonsResponse, EcsError> {
    let cluster = match input.cluster_arn.as_deref() {
        Some(c) => Some(cluster_arn(ctx, Some(c))?),
        None => None,
    };
    let wanted = input.capacity_provider_arns.clone().unwrap_or_default();
    let found: Vec<(String, DaemonSummary)> = core.read(|state| -> Result<_, EcsError> {
        if let Some(c) = &cluster {
            if !state.clusters.contains_key(c) {
                return Err(EcsError::ClusterNotFound);
            }
        }
        let region = arn::ecs(&ctx.region, &ctx.account_id, "daemon/");
        Ok(state
            .daemons
            .range(region.clone()..)
            .take_while(|(k, _)| k.starts_with(&region))
            .map(|(_, d)| d)
            .filter(|d| cluster.as_ref().is_none_or(|c| *c == d.cluster_arn))
            .filter(|d| {
                wanted.is_empty() || d.capacity_provider_arns.iter().any(|p| wanted.contains(p))
            })
            .map(|d| {
                let summary = DaemonSummary {
                    daemon_arn: Some(d.daemon_arn.clone()),
                    status: Some(d.status),
                    created_at: Some(d.created_at),
                    updated_at: Some(d.updated_at),
                };
                (d.daemon_arn.clone(), summary)
            })
            .collect())
    })?;
    let page = paginate(
        found,
        |(k, _)| k.clone(),
        false,
        input.max_results,
        input.next_token.as_deref(),
        LIST,
    )?;
    Ok(ListDaemonsResponse {
        daemon_summaries_list: Some(page.items.into_iter().map(|(_, s)| s).collect()),
        next_token: page.next_token,
    })
}
