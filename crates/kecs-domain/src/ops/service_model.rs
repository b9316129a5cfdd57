//! What a service's document holds and how its parts are made: statuses, events, deployments
//! and task sets. Shared by the service operations and the scheduler; imports no other
//! operation module.

use crate::core::work::TaskWork;
use crate::core::Core;
use crate::model::*;
use crate::ports::ids::Ids;
use crate::status::{DeploymentStatus, HasStatus, TaskSetStatus};

/// How many events a service keeps (newest first).
pub const MAX_EVENTS: usize = 100;

/// A new deployment ID, as ECS writes them (`ecs-svc/` and 19 digits).
pub(crate) fn deployment_id(ids: &dyn Ids) -> String {
    let n = ids.decimal(19);
    format!("ecs-svc/{n}")
}

/// A service's event, newest first, keeping at most [`MAX_EVENTS`].
pub(crate) fn add_event(service: &mut Service, message: String, now: f64, ids: &dyn Ids) {
    let events = service.events.get_or_insert_with(Vec::new);
    events.insert(
        0,
        ServiceEvent {
            id: Some(ids.uuid()),
            created_at: Some(now),
            message: Some(message),
        },
    );
    events.truncate(MAX_EVENTS);
}

/// A new PRIMARY deployment of `td` for `service`.
pub(crate) fn new_deployment(service: &Service, td: &str, now: f64, ids: &dyn Ids) -> Deployment {
    let id = deployment_id(ids);
    Deployment {
        rollout_state_reason: Some(format!("ECS deployment {id} in progress.")),
        id: Some(id),
        status: Some(DeploymentStatus::Primary.into()),
        task_definition: Some(td.to_string()),
        desired_count: service.desired_count,
        pending_count: Some(0),
        running_count: Some(0),
        failed_tasks: Some(0),
        created_at: Some(now),
        updated_at: Some(now),
        launch_type: service.launch_type,
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        platform_version: service.platform_version.clone(),
        platform_family: service.platform_family.clone(),
        network_configuration: service.network_configuration.clone(),
        rollout_state: Some(DeploymentRolloutState::InProgress),
        ..Deployment::default()
    }
}

/// The service's PRIMARY deployment.
pub(crate) fn primary_of(service: &Service) -> Option<&Deployment> {
    service
        .deployments
        .iter()
        .flatten()
        .find(|d| d.status_is(DeploymentStatus::Primary))
}

/// Queues a scheduler pass for the service a request just changed.
pub(crate) fn schedule_service(core: &Core, service_arn: Option<String>) {
    if let Some(arn) = service_arn {
        core.enqueue(TaskWork::Schedule(arn));
    }
}

/// A deployment controller's type (ECS when unset).
pub(crate) fn controller_type(c: Option<&DeploymentController>) -> DeploymentControllerType {
    c.and_then(|c| c.r#type)
        .unwrap_or(DeploymentControllerType::Ecs)
}

/// The service's deployment controller type.
pub(crate) fn controller(service: &Service) -> DeploymentControllerType {
    controller_type(service.deployment_controller.as_ref())
}

/// A task set's whole share of the service: 100 percent (also the default scale).
pub(crate) fn full_scale() -> Scale {
    Scale {
        value: Some(100.0),
        unit: Some(ScaleUnit::Percent),
    }
}

/// Whether the service runs its tasks in task sets rather than deployments.
pub(crate) fn uses_task_sets(service: &Service) -> bool {
    controller(service) != DeploymentControllerType::Ecs
}

/// How many tasks a task set keeps: its scale of the service's desired count, rounded up.
pub(crate) fn computed_desired_count(desired: i32, scale: Option<&Scale>) -> i32 {
    let percent = scale.and_then(|s| s.value).unwrap_or(100.0);
    (f64::from(desired.max(0)) * percent / 100.0).ceil() as i32
}

/// A new task set of `td` in `service`.
pub(crate) fn new_task_set(
    service: &Service,
    td: &str,
    scale: Scale,
    now: f64,
    ids: &dyn Ids,
) -> TaskSet {
    let id = deployment_id(ids);
    let service_arn = service.service_arn.clone().unwrap_or_default();
    let fargate = service.launch_type == Some(LaunchType::Fargate);
    TaskSet {
        task_set_arn: Some(history_arn(&service_arn, "task-set", &id)),
        id: Some(id),
        service_arn: Some(service_arn),
        cluster_arn: service.cluster_arn.clone(),
        status: Some(TaskSetStatus::Active.into()),
        task_definition: Some(td.to_string()),
        computed_desired_count: Some(computed_desired_count(
            service.desired_count.unwrap_or(0),
            Some(&scale),
        )),
        pending_count: Some(0),
        running_count: Some(0),
        created_at: Some(now),
        updated_at: Some(now),
        launch_type: service.launch_type,
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        platform_version: fargate.then(|| "LATEST".into()),
        platform_family: fargate.then(|| "Linux".into()),
        network_configuration: service.network_configuration.clone(),
        load_balancers: Some(vec![]),
        service_registries: Some(vec![]),
        scale: Some(scale),
        stability_status: Some(StabilityStatus::Stabilizing),
        stability_status_at: Some(now),
        ..TaskSet::default()
    }
}

/// `arn:…:service/<cluster>/<name>` → `arn:…:<kind>/<cluster>/<name>/<id>`.
pub(crate) fn history_arn(service_arn: &str, kind: &str, id: &str) -> String {
    let base = service_arn.replacen(":service/", &format!(":{kind}/"), 1);
    format!("{base}/{id}")
}

/// Each target group of `load_balancers` can have its local listener: a port that is taken
/// (mapped to it, or the whole range) is the client's to fix.
pub(crate) fn check_listeners(
    core: &Core,
    load_balancers: Option<&[LoadBalancer]>,
) -> Result<(), crate::EcsError> {
    let router = core.traffic().router;
    for group in load_balancers
        .into_iter()
        .flatten()
        .filter_map(|lb| lb.target_group_arn.as_deref())
    {
        router
            .listener(group)
            .map_err(|e| crate::EcsError::client(format!("The load balancer of {group}: {e}.")))?;
    }
    Ok(())
}
