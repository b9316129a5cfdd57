//! A blue/green deployment's walk through its lifecycle stages, one step per scheduler pass:
//! each stage's hooks start when it is entered (a PAUSE hook waits for
//! ContinueServiceDeployment or its timeout; KECS has no Lambda, so an AWS_LAMBDA hook is
//! reported SUCCEEDED at once and said so in the service's events), and the deployment moves on
//! once the hooks and the stage's own work (green healthy, bake time) are done. The scheduler
//! starts green tasks from SCALE_UP and stops blue ones at CLEAN_UP only.

use crate::model::*;
use crate::ops::deployment_history::roll_back_from;
use crate::ops::service_model::add_event;
use crate::ports::ids::Ids;
use crate::rules::blue_green::{
    hooks_at, next, stage_done, starts_green, stops_blue, BlueGreenProgress, Waiting,
};
use crate::rules::scheduler::{SeenState, SeenTask};
use crate::state::{Mutation, State, StoredService};

/// What a blue/green stage lets the scheduler do.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Gate {
    /// Start green tasks.
    pub(crate) start_green: bool,
    /// Stop blue tasks.
    pub(crate) stop_blue: bool,
}

/// The result of a step: the gate (none when the service is not in a blue/green deployment),
/// the deployment record as the step left it, and a rollback's mutations.
pub(crate) struct Step {
    pub(crate) gate: Option<Gate>,
    pub(crate) record: Option<ServiceDeployment>,
    pub(crate) mutations: Vec<Mutation>,
    /// A hook rolled the deployment back: the old revision is primary again.
    pub(crate) rolled_back: bool,
}

/// Starts the hooks of the stage `progress` is at, into `record`.
fn start_hooks(
    stored: &mut StoredService,
    record: &mut ServiceDeployment,
    progress: &mut BlueGreenProgress,
    now: f64,
    ids: &dyn Ids,
) {
    let hooks = record
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.lifecycle_hooks.clone())
        .unwrap_or_default();
    let name = stored.service.service_name.clone().unwrap_or_default();
    progress.hooks.clear();
    for hook in hooks_at(&hooks, progress.stage) {
        let pause = hook.target_type == Some(DeploymentLifecycleHookTargetType::Pause);
        let timeout = hook.timeout_configuration.clone().unwrap_or_default();
        let hook_id = if pause {
            format!("ecs-pause-{}{}", ids.hex(), &ids.hex()[..11])
        } else {
            format!("ecs-lambda-{}", ids.hex())
        };
        let detail = DeploymentLifecycleHookDetail {
            hook_id: Some(hook_id.clone()),
            target_type: Some(
                hook.target_type
                    .unwrap_or(DeploymentLifecycleHookTargetType::AwsLambda),
            ),
            target_arn: hook.hook_target_arn.clone().filter(|_| !pause),
            status: Some(if pause {
                DeploymentLifecycleHookStatus::AwaitingAction
            } else {
                DeploymentLifecycleHookStatus::Succeeded
            }),
            expires_at: Some(now + f64::from(timeout.timeout_in_minutes.unwrap_or(1440)) * 60.0),
            timeout_action: Some(
                timeout
                    .action
                    .unwrap_or(DeploymentLifecycleHookAction::Rollback),
            ),
        };
        if !pause {
            add_event(
                &mut stored.service,
                format!(
                    "(service {name}) lifecycle hook {} at {} was not invoked: KECS runs no Lambda functions; it is treated as SUCCEEDED.",
                    hook.hook_target_arn.as_deref().unwrap_or_default(),
                    progress.stage.as_str()
                ),
                now,
                ids,
            );
        }
        record
            .lifecycle_hook_details
            .get_or_insert_with(Vec::new)
            .push(detail);
        progress.hooks.push(hook_id);
    }
    progress.hooks_started = true;
    record.lifecycle_stage = Some(progress.stage);
}

/// Whether every hook of the current stage let the deployment go on; a hook that timed out
/// with ROLLBACK (or failed) answers why the deployment rolls back.
fn hooks_verdict(
    record: &mut ServiceDeployment,
    progress: &BlueGreenProgress,
    now: f64,
) -> Result<bool, String> {
    let mut done = true;
    for d in record.lifecycle_hook_details.iter_mut().flatten() {
        if !d
            .hook_id
            .as_ref()
            .is_some_and(|id| progress.hooks.contains(id))
        {
            continue;
        }
        use DeploymentLifecycleHookStatus as S;
        if d.status == Some(S::AwaitingAction) && d.expires_at.is_some_and(|at| at <= now) {
            d.status = Some(S::TimedOut);
        }
        let id = d.hook_id.clone().unwrap_or_default();
        match (d.status, d.timeout_action) {
            (Some(S::Succeeded), _)
            | (Some(S::TimedOut), Some(DeploymentLifecycleHookAction::Continue)) => {}
            (Some(S::TimedOut), _) => {
                return Err(format!(
                    "Service deployment rolled back: lifecycle hook {id} timed out."
                ))
            }
            (Some(S::Failed), _) => {
                return Err(format!(
                    "Service deployment rolled back: lifecycle hook {id} failed."
                ))
            }
            _ => done = false,
        }
    }
    Ok(done)
}

/// One step of the service's blue/green deployment, if it is in one: hooks started and
/// expired, stages entered while nothing waits, or a rollback when a hook asks for one.
pub(crate) fn step(
    state: &State,
    stored: &mut StoredService,
    primary_id: &str,
    seen: &[SeenTask],
    desired: u32,
    now: f64,
    ids: &dyn Ids,
) -> Step {
    let none = Step {
        gate: None,
        record: None,
        mutations: vec![],
        rolled_back: false,
    };
    let Some(mut progress) = stored.blue_green.clone() else {
        return none;
    };
    let record = stored
        .current_deployment
        .as_deref()
        .and_then(|arn| state.service_deployments.get(arn))
        .filter(|r| r.status == Some(ServiceDeploymentStatus::InProgress));
    let (Some(mut record), true) = (record, progress.deployment_id == primary_id) else {
        stored.blue_green = None;
        return none;
    };
    let bake_minutes = record
        .deployment_configuration
        .as_ref()
        .and_then(|c| c.bake_time_in_minutes)
        .unwrap_or(0);
    let green_healthy = seen
        .iter()
        .filter(|t| t.deployment == primary_id && t.state == SeenState::Healthy)
        .count() as u32;
    if !progress.hooks_started {
        start_hooks(stored, &mut record, &mut progress, now, ids);
    }
    loop {
        match hooks_verdict(&mut record, &progress, now) {
            Err(reason) => {
                stored.blue_green = None;
                let mutations = roll_back_from(state, stored, &record, &reason, now, ids);
                let kept = mutations.is_none().then_some(record);
                return Step {
                    gate: None,
                    record: kept,
                    mutations: mutations.unwrap_or_default(),
                    rolled_back: true,
                };
            }
            Ok(false) => break,
            Ok(true) => {}
        }
        let waiting = Waiting {
            green_healthy,
            desired,
            bake_minutes,
            since: progress.since,
            now,
        };
        let Some(after) = next(progress.stage).filter(|_| stage_done(progress.stage, &waiting))
        else {
            break;
        };
        progress.stage = after;
        progress.since = now;
        start_hooks(stored, &mut record, &mut progress, now, ids);
    }
    let gate = Gate {
        start_green: starts_green(progress.stage),
        stop_blue: stops_blue(progress.stage),
    };
    stored.blue_green = Some(progress);
    Step {
        gate: Some(gate),
        record: Some(record),
        mutations: vec![],
        rolled_back: false,
    }
}
