//! Express Gateway services: Create, Describe, Update and DeleteExpressGatewayService. An
//! Express service is an ECS service KECS creates with a task definition it registers from the
//! primary container (Fargate, awsvpc, the container port mapped), scaled to the scaling
//! target's minimum. The load balancer, target group, security groups and scaling policies ECS
//! would create are not created locally, and the service says so in its status reason rather
//! than inventing them: its `ingressPaths` are empty.

use super::find::{active_cluster, cluster_arn};
use super::service_model::primary_of;
use super::services::{create_service, delete_service, update_service};
use super::task_definitions::register_task_definition;
use crate::core::Core;
use crate::model::*;
use crate::state::{Mutation, StoredService};
use crate::status::{HasStatus, ServiceStatus};
use crate::{EcsError, RequestContext};

/// What an Express service's status says of what KECS does not create.
const NOT_CREATED: &str = "KECS creates no Application Load Balancer, target group, security \
     group or scaling policy locally: the service's tasks serve on their own addresses.";

/// The container port when none is given, as ECS's Express services default it.
const DEFAULT_PORT: i32 = 80;

/// The health check path when none is given.
const DEFAULT_HEALTH_CHECK_PATH: &str = "/ping";

/// The task definition of an Express service's configuration.
fn task_definition(
    name: &str,
    c: &ExpressGatewayServiceConfiguration,
) -> RegisterTaskDefinitionRequest {
    let main = c.primary_container.clone().unwrap_or_default();
    let port = main.container_port.unwrap_or(DEFAULT_PORT);
    let logs = main
        .aws_logs_configuration
        .as_ref()
        .map(|l| LogConfiguration {
            log_driver: Some(LogDriver::Awslogs),
            options: Some(
                [
                    ("awslogs-group", l.log_group.clone()),
                    ("awslogs-stream-prefix", l.log_stream_prefix.clone()),
                    ("awslogs-create-group", Some("true".to_string())),
                ]
                .into_iter()
                .filter_map(|(k, v)| Some((k.to_string(), v?)))
                .collect(),
            ),
            secret_options: None,
        });
    RegisterTaskDefinitionRequest {
        family: Some(name.to_string()),
        task_role_arn: c.task_role_arn.clone(),
        execution_role_arn: c.execution_role_arn.clone(),
        network_mode: Some(NetworkMode::Awsvpc),
        requires_compatibilities: Some(vec![Compatibility::Fargate]),
        cpu: c.cpu.clone(),
        memory: c.memory.clone(),
        container_definitions: Some(vec![ContainerDefinition {
            name: Some("main".into()),
            image: main.image.clone(),
            essential: Some(true),
            command: main.command.clone(),
            environment: main.environment.clone(),
            secrets: main.secrets.clone(),
            repository_credentials: main
                .repository_credentials
                .as_ref()
                .and_then(|r| r.credentials_parameter.clone())
                .map(|p| RepositoryCredentials {
                    credentials_parameter: Some(p),
                }),
            port_mappings: Some(vec![PortMapping {
                container_port: Some(port),
                protocol: Some(TransportProtocol::Tcp),
                ..PortMapping::default()
            }]),
            log_configuration: logs,
            ..ContainerDefinition::default()
        }]),
        ..RegisterTaskDefinitionRequest::default()
    }
}

fn network(c: &ExpressGatewayServiceConfiguration) -> NetworkConfiguration {
    let given = c.network_configuration.clone().unwrap_or_default();
    NetworkConfiguration {
        awsvpc_configuration: Some(AwsVpcConfiguration {
            subnets: Some(given.subnets.unwrap_or_default()),
            security_groups: given.security_groups,
            assign_public_ip: None,
        }),
    }
}

/// The scaling target with its defaults, checked.
fn scaling(
    given: Option<ExpressGatewayScalingTarget>,
) -> Result<ExpressGatewayScalingTarget, EcsError> {
    let mut t = given.unwrap_or_default();
    let min = *t.min_task_count.get_or_insert(1);
    let max = *t.max_task_count.get_or_insert(min.max(1));
    if min < 0 || max < min {
        return Err(EcsError::invalid(
            "minTaskCount must be at least 0 and at most maxTaskCount.",
        ));
    }
    Ok(t)
}

/// An Express service as Describe and Delete show it.
fn view(stored: &StoredService, tags: Option<Vec<Tag>>) -> ECSExpressGatewayService {
    let s = &stored.service;
    let code = if s.status_is(ServiceStatus::Active) {
        ExpressGatewayServiceStatusCode::Active
    } else if s.status_is(ServiceStatus::Draining) {
        ExpressGatewayServiceStatusCode::Draining
    } else {
        ExpressGatewayServiceStatusCode::Inactive
    };
    let mut config = stored.express.clone().unwrap_or_default();
    config.service_revision_arn = primary_of(s)
        .and_then(|d| d.id.as_ref())
        .and_then(|id| stored.revisions.get(id))
        .cloned();
    ECSExpressGatewayService {
        cluster: s.cluster_arn.clone(),
        service_name: s.service_name.clone(),
        service_arn: s.service_arn.clone(),
        infrastructure_role_arn: stored.infrastructure_role_arn.clone(),
        status: Some(ExpressGatewayServiceStatus {
            status_code: Some(code),
            status_reason: Some(NOT_CREATED.into()),
        }),
        current_deployment: stored.current_deployment.clone(),
        active_configurations: Some(vec![config]),
        tags,
        created_at: s.created_at,
        updated_at: stored
            .express
            .as_ref()
            .and_then(|c| c.created_at)
            .or(s.created_at),
    }
}

/// The Express service `arn` names, or `missing`.
fn express(
    core: &Core,
    arn: &str,
    missing: impl FnOnce() -> EcsError,
) -> Result<StoredService, EcsError> {
    core.read(|state| state.services.get(arn))
        .filter(|s| s.express.is_some())
        .ok_or_else(missing)
}

/// Records `config` (and the infrastructure role) on the service `arn`.
async fn remember(
    core: &Core,
    arn: &str,
    config: ExpressGatewayServiceConfiguration,
    role: Option<String>,
) -> Result<StoredService, EcsError> {
    core.write(|state| {
        let mut stored = state.services.get(arn).ok_or(EcsError::ServiceNotFound)?;
        stored.express = Some(config);
        if role.is_some() {
            stored.infrastructure_role_arn = role;
        }
        Ok((stored.clone(), vec![Mutation::PutService(stored)]))
    })
    .await
}

pub(crate) async fn create_express_gateway_service(
    core: &Core,
    ctx: &RequestContext,
    input: CreateExpressGatewayServiceRequest,
) -> Result<CreateExpressGatewayServiceResponse, EcsError> {
    let target = scaling(input.scaling_target.clone())?;
    let name = input
        .service_name
        .clone()
        .unwrap_or_else(|| format!("express-{}", &core.ids().hex()[..12]));
    // Checked first, so that a refusal registers no task definition.
    core.read(|state| {
        let cluster = active_cluster(state, ctx, input.cluster.as_deref())?;
        let arn =
            super::find::service_arn(cluster.cluster_arn.as_deref().unwrap_or_default(), &name);
        match state.services.get(&arn) {
            Some(s) if !s.service.status_is(ServiceStatus::Inactive) => {
                Err(EcsError::invalid("Creation of service was not idempotent."))
            }
            _ => Ok(()),
        }
    })?;
    let mut config = ExpressGatewayServiceConfiguration {
        execution_role_arn: input.execution_role_arn.clone(),
        task_role_arn: input.task_role_arn.clone(),
        cpu: Some(input.cpu.clone().unwrap_or_else(|| "1024".into())),
        memory: Some(input.memory.clone().unwrap_or_else(|| "2048".into())),
        network_configuration: input.network_configuration.clone(),
        health_check_path: Some(
            input
                .health_check_path
                .clone()
                .unwrap_or_else(|| DEFAULT_HEALTH_CHECK_PATH.into()),
        ),
        primary_container: input.primary_container.clone(),
        scaling_target: Some(target.clone()),
        ingress_paths: Some(vec![]),
        created_at: Some(core.now()),
        service_revision_arn: None,
    };
    if let Some(c) = config.primary_container.as_mut() {
        c.container_port.get_or_insert(DEFAULT_PORT);
    }
    let td = register_task_definition(core, ctx, task_definition(&name, &config)).await?;
    let created = create_service(
        core,
        ctx,
        CreateServiceRequest {
            cluster: input.cluster.clone(),
            service_name: Some(name),
            task_definition: td.task_definition.and_then(|t| t.task_definition_arn),
            desired_count: target.min_task_count,
            launch_type: Some(LaunchType::Fargate),
            network_configuration: Some(network(&config)),
            tags: input.tags.clone(),
            ..CreateServiceRequest::default()
        },
    )
    .await?;
    let arn = created
        .service
        .and_then(|s| s.service_arn)
        .unwrap_or_default();
    let stored = remember(core, &arn, config, input.infrastructure_role_arn.clone()).await?;
    Ok(CreateExpressGatewayServiceResponse {
        service: Some(view(&stored, input.tags)),
    })
}

pub(crate) async fn describe_express_gateway_service(
    core: &Core,
    _ctx: &RequestContext,
    input: DescribeExpressGatewayServiceRequest,
) -> Result<DescribeExpressGatewayServiceResponse, EcsError> {
    let arn = input.service_arn.unwrap_or_default();
    let stored = express(core, &arn, || {
        EcsError::ResourceNotFound("The specified Express service does not exist.".into())
    })?;
    let with_tags = input
        .include
        .unwrap_or_default()
        .contains(&ExpressGatewayServiceInclude::Tags);
    let tags = with_tags.then(|| core.read(|state| state.tags_of(&arn)));
    Ok(DescribeExpressGatewayServiceResponse {
        service: Some(view(&stored, tags)),
    })
}

pub(crate) async fn update_express_gateway_service(
    core: &Core,
    ctx: &RequestContext,
    input: UpdateExpressGatewayServiceRequest,
) -> Result<UpdateExpressGatewayServiceResponse, EcsError> {
    let arn = input.service_arn.clone().unwrap_or_default();
    let stored = express(core, &arn, || EcsError::ServiceNotFound)?;
    if !stored.service.status_is(ServiceStatus::Active) {
        return Err(EcsError::ServiceNotActive);
    }
    let mut config = stored.express.clone().unwrap_or_default();
    let target = match input.scaling_target.clone() {
        Some(t) => Some(scaling(Some(t))?),
        None => None,
    };
    let given = |new: Option<String>, old: &mut Option<String>| {
        if new.is_some() {
            *old = new;
        }
    };
    given(
        input.execution_role_arn.clone(),
        &mut config.execution_role_arn,
    );
    given(input.task_role_arn.clone(), &mut config.task_role_arn);
    given(input.cpu.clone(), &mut config.cpu);
    given(input.memory.clone(), &mut config.memory);
    given(
        input.health_check_path.clone(),
        &mut config.health_check_path,
    );
    if let Some(c) = input.primary_container.clone() {
        config.primary_container = Some(ExpressGatewayContainer {
            container_port: c.container_port.or(Some(DEFAULT_PORT)),
            ..c
        });
    }
    if let Some(n) = input.network_configuration.clone() {
        config.network_configuration = Some(n);
    }
    if let Some(t) = target.clone() {
        config.scaling_target = Some(t);
    }
    config.created_at = Some(core.now());
    let name = stored.service.service_name.clone().unwrap_or_default();
    let td = register_task_definition(core, ctx, task_definition(&name, &config)).await?;
    update_service(
        core,
        ctx,
        UpdateServiceRequest {
            cluster: stored.service.cluster_arn.clone(),
            service: Some(arn.clone()),
            task_definition: td.task_definition.and_then(|t| t.task_definition_arn),
            desired_count: target.and_then(|t| t.min_task_count),
            network_configuration: Some(network(&config)),
            ..UpdateServiceRequest::default()
        },
    )
    .await?;
    let stored = remember(core, &arn, config, None).await?;
    let shown = view(&stored, None);
    Ok(UpdateExpressGatewayServiceResponse {
        service: Some(UpdatedExpressGatewayService {
            service_arn: shown.service_arn,
            cluster: shown.cluster,
            service_name: shown.service_name,
            status: shown.status,
            target_configuration: shown
                .active_configurations
                .and_then(|c| c.into_iter().next()),
            created_at: shown.created_at,
            updated_at: shown.updated_at,
        }),
    })
}

pub(crate) async fn delete_express_gateway_service(
    core: &Core,
    ctx: &RequestContext,
    input: DeleteExpressGatewayServiceRequest,
) -> Result<DeleteExpressGatewayServiceResponse, EcsError> {
    let arn = input.service_arn.clone().unwrap_or_default();
    let stored = express(core, &arn, || EcsError::ServiceNotFound)?;
    cluster_arn(ctx, stored.service.cluster_arn.as_deref())?;
    delete_service(
        core,
        ctx,
        DeleteServiceRequest {
            cluster: stored.service.cluster_arn.clone(),
            service: Some(arn.clone()),
            force: Some(true),
        },
    )
    .await?;
    let stored = express(core, &arn, || EcsError::ServiceNotFound)?;
    Ok(DeleteExpressGatewayServiceResponse {
        service: Some(view(&stored, None)),
    })
}
