//! ContinueServiceDeployment: a blue/green deployment paused at a PAUSE lifecycle hook goes on
//! to its next stage (CONTINUE) or rolls back to the service's previous revision (ROLLBACK).

use super::deployment_history::roll_back_from;
use super::service_deployments::deployment_and_service;
use super::service_model::schedule_service;
use crate::core::Core;
use crate::model::*;
use crate::state::Mutation;
use crate::{EcsError, RequestContext};

pub(crate) async fn continue_service_deployment(
    core: &Core,
    ctx: &RequestContext,
    input: ContinueServiceDeploymentRequest,
) -> Result<ContinueServiceDeploymentResponse, EcsError> {
    let arn = input.service_deployment_arn.clone().unwrap_or_default();
    let hook_id = input.hook_id.clone().unwrap_or_default();
    let action = input
        .action
        .unwrap_or(DeploymentLifecycleHookAction::Continue);
    let now = core.now();
    let service_arn = core
        .write(|state| {
            let (mut record, stored) = deployment_and_service(state, ctx, &arn)?;
            let service_arn = record.service_arn.clone().unwrap_or_default();
            let in_progress = record.status == Some(ServiceDeploymentStatus::InProgress);
            let Some(mut stored) = stored.filter(|_| in_progress) else {
                return Err(EcsError::invalid(format!(
                    "The service deployment {arn} is not in progress."
                )));
            };
            let hook = record
                .lifecycle_hook_details
                .iter_mut()
                .flatten()
                .find(|h| h.hook_id.as_deref() == Some(hook_id.as_str()))
                .filter(|h| {
                    h.target_type == Some(DeploymentLifecycleHookTargetType::Pause)
                        && h.status == Some(DeploymentLifecycleHookStatus::AwaitingAction)
                })
                .ok_or_else(|| {
                    EcsError::invalid(format!(
                        "The lifecycle hook {hook_id} is not a PAUSE hook awaiting action in this service deployment."
                    ))
                })?;
            let mutations = match action {
                DeploymentLifecycleHookAction::Continue => {
                    hook.status = Some(DeploymentLifecycleHookStatus::Succeeded);
                    record.updated_at = Some(now);
                    vec![Mutation::PutServiceDeployment(record)]
                }
                DeploymentLifecycleHookAction::Rollback => {
                    hook.status = Some(DeploymentLifecycleHookStatus::Failed);
                    let mut mutations = roll_back_from(
                        state,
                        &mut stored,
                        &record,
                        "Service deployment rolled back by a ContinueServiceDeployment request.",
                        now,
                        core.ids(),
                    )
                    .ok_or_else(|| {
                        EcsError::invalid(
                            "The service has no earlier completed service revision to roll back to.",
                        )
                    })?;
                    mutations.push(Mutation::PutService(stored));
                    mutations
                }
            };
            Ok((service_arn, mutations))
        })
        .await?;
    schedule_service(core, Some(service_arn));
    Ok(ContinueServiceDeploymentResponse {
        service_deployment_arn: Some(arn),
    })
}
