//! CreateService, UpdateService, DeleteService, DescribeServices and ListServices. The
//! operations record what the user wants; the scheduler (service_controller.rs) makes it so.

use super::deployment_history::deploy;
use super::find::{
    active_cluster, cluster_arn, find_service, find_service_arn, service_arn, services_in,
};
use super::service_model::{
    check_listeners, controller, controller_type, full_scale, new_task_set, schedule_service,
    uses_task_sets,
};
use super::task_definitions::resolve as resolve_task_definition;
use crate::rules::service_checks::{check_name, check_wiring, deployment_configuration};
use crate::status::{DeploymentStatus, HasStatus, ServiceStatus, TaskSetStatus};

use crate::core::Core;
use crate::model::*;
use crate::ops::pagination::paginate_sorted;
use crate::rules::validate;
use crate::state::{Mutation, State, StoredService};
use crate::{arn, EcsError, RequestContext};

/// The service as responses show it: tags filled in when asked for.
fn view(state: &State, s: &StoredService, with_tags: bool) -> Service {
    let mut service = s.service.clone();
    service.tags =
        with_tags.then(|| state.tags_of(service.service_arn.as_deref().unwrap_or_default()));
    service
}

/// The service `arn` as DescribeServices shows it: its stored document spliced in, or decoded
/// when that cannot be.
fn described(state: &State, arn: &str, with_tags: bool) -> Option<Document<Service>> {
    let tags = with_tags.then(|| state.tags_of(arn));
    state
        .services
        .member(arn)
        .and_then(|(doc, member)| Stored::at(doc, member, tags))
        .map(Document::Stored)
        .or_else(|| Some(view(state, &state.services.get(arn)?, with_tags).into()))
}

/// The Service Connect namespace a service is in: its own, or its cluster's default.
fn namespace_of(state: &State, s: &StoredService) -> Option<String> {
    let config = s
        .service_connect
        .as_ref()
        .filter(|c| c.enabled == Some(true))?;
    config.namespace.clone().or_else(|| {
        let cluster = state.clusters.get(s.service.cluster_arn.as_deref()?)?;
        cluster.service_connect_defaults.as_ref()?.namespace.clone()
    })
}

/// Queues a scheduler pass for `service`, which a request just changed; returns it.
fn scheduled(core: &Core, service: Service) -> Service {
    schedule_service(core, service.service_arn.clone());
    service
}

pub(crate) async fn create_service(
    core: &Core,
    ctx: &RequestContext,
    input: CreateServiceRequest,
) -> Result<CreateServiceResponse, EcsError> {
    let name = input.service_name.clone().unwrap_or_default();
    check_name(&name)?;
    validate::tags(input.tags.as_deref().unwrap_or_default())?;
    let daemon = input.scheduling_strategy == Some(SchedulingStrategy::Daemon);
    let controller = controller_type(input.deployment_controller.as_ref());
    if daemon && controller != DeploymentControllerType::Ecs {
        return Err(EcsError::invalid(
            "The DAEMON scheduling strategy is supported only with the ECS deployment controller.",
        ));
    }
    let desired = match (daemon, input.desired_count) {
        (true, Some(_)) => {
            return Err(EcsError::invalid(
                "The daemon scheduling strategy does not support a desired count for services.",
            ))
        }
        // One container instance: this machine.
        (true, None) => 1,
        (false, Some(n)) => {
            validate::desired_count(n)?;
            n
        }
        (false, None) => {
            return Err(EcsError::invalid(
                "The desiredCount parameter is required for services using the REPLICA scheduling strategy.",
            ))
        }
    };
    let config = deployment_configuration(input.deployment_configuration.clone(), daemon)?;
    check_listeners(core, input.load_balancers.as_deref())?;
    let now = core.now();
    let created = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            if let Some(existing) = find_service(state, ctx, &cluster_arn, &name)
                .filter(|s| !s.service.status_is(ServiceStatus::Inactive))
            {
                if existing.client_token.is_some() && existing.client_token == input.client_token {
                    return Ok((view(state, &existing, true), vec![]));
                }
                return Err(EcsError::invalid("Creation of service was not idempotent."));
            }
            // An EXTERNAL service's task definitions come with its task sets.
            let td = match input.task_definition.as_deref() {
                None if controller == DeploymentControllerType::External => None,
                ident => {
                    let td = resolve_task_definition(state, ctx, ident.unwrap_or_default())?
                        .ok_or_else(|| EcsError::invalid("TaskDefinition not found."))?;
                    if td.status != Some(TaskDefinitionStatus::Active) {
                        return Err(EcsError::invalid("TaskDefinition is inactive."));
                    }
                    check_wiring(td, &input.load_balancers, &input.service_registries)?;
                    td.task_definition_arn.clone()
                }
            };
            let fargate = input.launch_type == Some(LaunchType::Fargate);
            let service = Service {
                service_arn: Some(service_arn(&cluster_arn, &name)),
                service_name: Some(name.clone()),
                cluster_arn: Some(cluster_arn.clone()),
                load_balancers: Some(input.load_balancers.clone().unwrap_or_default()),
                service_registries: Some(input.service_registries.clone().unwrap_or_default()),
                status: Some(ServiceStatus::Active.into()),
                desired_count: Some(desired),
                running_count: Some(0),
                pending_count: Some(0),
                launch_type: input.launch_type.or(input
                    .capacity_provider_strategy
                    .is_none()
                    .then_some(LaunchType::Ec2)),
                capacity_provider_strategy: input.capacity_provider_strategy.clone(),
                platform_version: fargate.then(|| {
                    input
                        .platform_version
                        .clone()
                        .unwrap_or_else(|| "LATEST".into())
                }),
                platform_family: fargate.then(|| "Linux".into()),
                task_definition: td
                    .clone()
                    .filter(|_| controller != DeploymentControllerType::External),
                deployment_configuration: Some(config.clone()),
                role_arn: input.role.clone(),
                events: Some(vec![]),
                created_at: Some(now),
                placement_constraints: Some(
                    input.placement_constraints.clone().unwrap_or_default(),
                ),
                placement_strategy: Some(input.placement_strategy.clone().unwrap_or_default()),
                network_configuration: input.network_configuration.clone(),
                health_check_grace_period_seconds: input.health_check_grace_period_seconds,
                scheduling_strategy: Some(if daemon {
                    SchedulingStrategy::Daemon
                } else {
                    SchedulingStrategy::Replica
                }),
                // ECS enables it for a new service that can use it (a daemon cannot).
                availability_zone_rebalancing: Some(input.availability_zone_rebalancing.unwrap_or(
                    if daemon {
                        AvailabilityZoneRebalancing::Disabled
                    } else {
                        AvailabilityZoneRebalancing::Enabled
                    },
                )),
                deployment_controller: Some(DeploymentController {
                    r#type: Some(controller),
                }),
                created_by: Some(ctx.root_principal()),
                enable_ecs_managed_tags: Some(input.enable_ecs_managed_tags.unwrap_or(false)),
                propagate_tags: Some(input.propagate_tags.unwrap_or(PropagateTags::None)),
                enable_execute_command: Some(input.enable_execute_command.unwrap_or(false)),
                ..Service::default()
            };
            let tags = input.tags.clone().unwrap_or_default();
            let mut stored = StoredService::new(service, input.client_token.clone());
            stored.service_connect = input.service_connect_configuration.clone();
            let mut mutations = vec![];
            match (controller, td) {
                (DeploymentControllerType::Ecs, Some(td)) => {
                    mutations = deploy(state, &mut stored, &td, now, core.ids());
                }
                // CodeDeploy starts from one primary task set of the task definition.
                (DeploymentControllerType::CodeDeploy, Some(td)) => {
                    let mut primary =
                        new_task_set(&stored.service, &td, full_scale(), now, core.ids());
                    primary.set_status(TaskSetStatus::Primary);
                    stored.service.task_sets = Some(vec![primary]);
                    stored.service.deployments = Some(vec![]);
                }
                _ => {
                    stored.service.task_sets = Some(vec![]);
                    stored.service.deployments = Some(vec![]);
                }
            }
            let mut shown = stored.service.clone();
            shown.tags = Some(tags.clone());
            let arn = shown.service_arn.clone().unwrap_or_default();
            mutations.push(Mutation::PutService(stored));
            mutations.push(Mutation::PutTags(arn, tags));
            Ok((shown, mutations))
        })
        .await?;
    Ok(CreateServiceResponse {
        service: Some(scheduled(core, created)),
    })
}

pub(crate) async fn update_service(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateServiceRequest,
) -> Result<UpdateServiceResponse, EcsError> {
    let ident = input.service.clone().unwrap_or_default();
    if let Some(n) = input.desired_count {
        validate::desired_count(n)?;
    }
    let now = core.now();
    let updated = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let mut stored =
                find_service(state, ctx, &cluster_arn, &ident).ok_or(EcsError::ServiceNotFound)?;
            if !stored.service.status_is(ServiceStatus::Active) {
                return Err(EcsError::ServiceNotActive);
            }
            let service = &mut stored.service;
            let daemon = service.scheduling_strategy == Some(SchedulingStrategy::Daemon);
            if let Some(n) = input.desired_count.filter(|_| !daemon) {
                service.desired_count = Some(n);
            }
            if let Some(c) = input.deployment_configuration.clone() {
                let mut merged = service.deployment_configuration.clone().unwrap_or_default();
                merged.maximum_percent = c.maximum_percent.or(merged.maximum_percent);
                merged.minimum_healthy_percent =
                    c.minimum_healthy_percent.or(merged.minimum_healthy_percent);
                merged.deployment_circuit_breaker = c
                    .deployment_circuit_breaker
                    .or(merged.deployment_circuit_breaker);
                merged.alarms = c.alarms.or(merged.alarms);
                merged.strategy = c.strategy.or(merged.strategy);
                merged.bake_time_in_minutes = c.bake_time_in_minutes.or(merged.bake_time_in_minutes);
                merged.lifecycle_hooks = c.lifecycle_hooks.or(merged.lifecycle_hooks);
                merged.linear_configuration = c.linear_configuration.or(merged.linear_configuration);
                merged.canary_configuration = c.canary_configuration.or(merged.canary_configuration);
                service.deployment_configuration =
                    Some(deployment_configuration(Some(merged), daemon)?);
            }
            if let Some(g) = input.health_check_grace_period_seconds {
                service.health_check_grace_period_seconds = Some(g);
            }
            if let Some(p) = input.propagate_tags {
                service.propagate_tags = Some(p);
            }
            if let Some(e) = input.enable_ecs_managed_tags {
                service.enable_ecs_managed_tags = Some(e);
            }
            if let Some(e) = input.enable_execute_command {
                service.enable_execute_command = Some(e);
            }
            // Without a value: the service's own, DISABLED if it never had one (as ECS).
            service.availability_zone_rebalancing = input
                .availability_zone_rebalancing
                .or(service.availability_zone_rebalancing)
                .or(Some(AvailabilityZoneRebalancing::Disabled));
            let mut redeploy = input.force_new_deployment == Some(true);
            let changes_deployment = redeploy
                || input.task_definition.is_some()
                || input.network_configuration.is_some();
            if uses_task_sets(service) && changes_deployment {
                return Err(EcsError::invalid(format!(
                    "Unable to update the task definition, network configuration or force a new deployment on a service using the {} deployment controller: use task sets.",
                    controller(service).as_str()
                )));
            }
            if let Some(ident) = input.task_definition.as_deref() {
                let td = resolve_task_definition(state, ctx, ident)?
                    .ok_or_else(|| EcsError::invalid("TaskDefinition not found."))?;
                if td.status != Some(TaskDefinitionStatus::Active) {
                    return Err(EcsError::invalid("TaskDefinition is inactive."));
                }
                let lbs = input.load_balancers.clone().or(service.load_balancers.clone());
                let registries = input
                    .service_registries
                    .clone()
                    .or(service.service_registries.clone());
                check_wiring(td, &lbs, &registries)?;
                if td.task_definition_arn != service.task_definition {
                    service.task_definition = td.task_definition_arn.clone();
                    redeploy = true;
                }
            }
            if let Some(n) = input.network_configuration.clone() {
                service.network_configuration = Some(n);
                redeploy = true;
            }
            if let Some(c) = input.service_connect_configuration.clone() {
                stored.service_connect = Some(c);
                redeploy = true;
            }
            let service = &mut stored.service;
            let desired = service.desired_count;
            let mut mutations = vec![];
            if redeploy {
                let td = service.task_definition.clone().unwrap_or_default();
                mutations = deploy(state, &mut stored, &td, now, core.ids());
            } else if let Some(primary) = service
                .deployments
                .iter_mut()
                .flatten()
                .find(|d| d.status_is(DeploymentStatus::Primary))
            {
                primary.desired_count = desired;
                primary.updated_at = Some(now);
            }
            let shown = view(state, &stored, false);
            mutations.push(Mutation::PutService(stored));
            Ok((shown, mutations))
        })
        .await?;
    Ok(UpdateServiceResponse {
        service: Some(scheduled(core, updated)),
    })
}

pub(crate) async fn delete_service(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteServiceRequest,
) -> Result<DeleteServiceResponse, EcsError> {
    let ident = input.service.clone().unwrap_or_default();
    let now = core.now();
    let deleted = core
        .write(|state| {
            let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
            let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
            let mut stored =
                find_service(state, ctx, &cluster_arn, &ident).ok_or(EcsError::ServiceNotFound)?;
            let service = &mut stored.service;
            if service.status_is(ServiceStatus::Inactive) {
                return Err(EcsError::ServiceNotFound);
            }
            let daemon = service.scheduling_strategy == Some(SchedulingStrategy::Daemon);
            if service.desired_count.unwrap_or(0) > 0 && input.force != Some(true) && !daemon {
                return Err(EcsError::invalid(
                    "The service cannot be stopped while it is scaled above 0.",
                ));
            }
            service.set_status(ServiceStatus::Draining);
            service.desired_count = Some(0);
            for d in service.deployments.iter_mut().flatten() {
                d.desired_count = Some(0);
                d.updated_at = Some(now);
            }
            let shown = view(state, &stored, false);
            Ok((shown, vec![Mutation::PutService(stored)]))
        })
        .await?;
    Ok(DeleteServiceResponse {
        service: Some(scheduled(core, deleted)),
    })
}

pub(crate) async fn describe_services(
    core: &Core,
    ctx: &RequestContext,
    input: DescribeServicesRequest,
) -> Result<DescribeServicesResponse, EcsError> {
    let idents = input.services.clone().unwrap_or_default();
    if idents.is_empty() || idents.len() > 10 {
        return Err(EcsError::invalid(
            "services must have between 1 and 10 items.",
        ));
    }
    let with_tags = input
        .include
        .as_deref()
        .unwrap_or_default()
        .contains(&ServiceField::Tags);
    core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let cluster_arn = cluster.cluster_arn.clone().unwrap_or_default();
        let mut services = vec![];
        let mut failures = vec![];
        for ident in &idents {
            match find_service_arn(state, ctx, &cluster_arn, ident) {
                Some(arn) => services.extend(described(state, &arn, with_tags)),
                // As ECS: the caller's ARN echoed, a bare name in the short service ARN form
                // (no cluster in it).
                None => failures.push(super::missing(if arn::is_arn(ident) {
                    ident.clone()
                } else {
                    arn::ecs(&ctx.region, &ctx.account_id, &format!("service/{ident}"))
                })),
            }
        }
        Ok(DescribeServicesResponse {
            services: Some(services),
            failures: Some(failures),
        })
    })
}

pub(crate) async fn list_services(
    core: &Core,
    ctx: &RequestContext,
    input: ListServicesRequest,
) -> Result<ListServicesResponse, EcsError> {
    let cluster_arn = cluster_arn(ctx, input.cluster.as_deref())?;
    let arns: Vec<String> = core.read(|state| {
        active_cluster(state, ctx, input.cluster.as_deref())?;
        Ok::<_, EcsError>(
            services_in(state, &cluster_arn)
                .filter(|(_, s)| !s.status_is(ServiceStatus::Inactive))
                .filter(|(_, s)| input.launch_type.is_none() || s.launch_type == input.launch_type)
                .filter(|(_, s)| {
                    input.scheduling_strategy.is_none()
                        || s.scheduling_strategy == input.scheduling_strategy
                })
                .map(|(arn, _)| arn.clone())
                .collect(),
        )
    })?;
    let page = paginate_sorted(arns, input.max_results, input.next_token.as_deref())?;
    Ok(ListServicesResponse {
        service_arns: Some(page.items),
        next_token: page.next_token,
    })
}

pub(crate) async fn list_services_by_namespace(
    core: &Core,
    ctx: &RequestContext,
    input: ListServicesByNamespaceRequest,
) -> Result<ListServicesByNamespaceResponse, EcsError> {
    let namespace = input.namespace.clone().unwrap_or_default();
    let arns: Vec<String> = core.read(|state| {
        // Summaries pick the ACTIVE services the caller owns; only those are unpacked.
        state
            .services
            .summaries()
            .filter(|(arn, s)| s.status_is(ServiceStatus::Active) && ctx.owns(arn))
            .filter_map(|(arn, _)| state.services.get(arn))
            .filter(|s| namespace_of(state, s).as_deref() == Some(namespace.as_str()))
            .filter_map(|s| s.service.service_arn)
            .collect()
    });
    let page = paginate_sorted(arns, input.max_results, input.next_token.as_deref())?;
    Ok(ListServicesByNamespaceResponse {
        service_arns: Some(page.items),
        next_token: page.next_token,
    })
}
