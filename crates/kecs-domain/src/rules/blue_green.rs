//! Blue/green service deployments' pure decisions: the lifecycle stages in ECS's order, the
//! hooks configured at each, what a stage waits for, and what the scheduler may do meanwhile
//! (green tasks start at SCALE_UP; blue tasks stop at CLEAN_UP, not before).

use serde::{Deserialize, Serialize};

use crate::model::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookStage as HookStage,
    DeploymentLifecycleHookTargetType, DeploymentStrategy,
    ServiceDeploymentLifecycleStage as Stage,
};
use crate::EcsError;

/// The stages a blue/green deployment goes through, in order (RECONCILE_SERVICE is not
/// entered: KECS starts every deployment from the state it keeps).
const ORDER: [Stage; 9] = [
    Stage::PreScaleUp,
    Stage::ScaleUp,
    Stage::PostScaleUp,
    Stage::TestTrafficShift,
    Stage::PostTestTrafficShift,
    Stage::ProductionTrafficShift,
    Stage::PostProductionTrafficShift,
    Stage::BakeTime,
    Stage::CleanUp,
];

/// Where a service's blue/green deployment is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenProgress {
    /// The green deployment (`ecs-svc/...`).
    pub deployment_id: String,
    /// The stage it is at.
    pub stage: Stage,
    /// When it entered the stage (epoch seconds).
    pub since: f64,
    /// Whether the stage's hooks were started.
    pub hooks_started: bool,
    /// The IDs of the stage's hooks.
    #[serde(default)]
    pub hooks: Vec<String>,
}

impl BlueGreenProgress {
    /// A deployment about to enter its first stage.
    pub fn new(deployment_id: String, now: f64) -> Self {
        Self {
            deployment_id,
            stage: ORDER[0],
            since: now,
            hooks_started: false,
            hooks: vec![],
        }
    }
}

/// Checks a service's deployment strategy settings: bake time, lifecycle hooks, and that a
/// DAEMON service rolls.
pub fn check_configuration(c: &DeploymentConfiguration, daemon: bool) -> Result<(), EcsError> {
    if daemon && is_blue_green(c.strategy) {
        return Err(EcsError::invalid(
            "The DAEMON scheduling strategy supports only the ROLLING deployment strategy.",
        ));
    }
    if c.bake_time_in_minutes
        .is_some_and(|b| !(0..=1440).contains(&b))
    {
        return Err(EcsError::invalid(
            "bakeTimeInMinutes must be between 0 and 1440.",
        ));
    }
    for hook in c.lifecycle_hooks.iter().flatten() {
        if hook.lifecycle_stages.as_ref().is_none_or(Vec::is_empty) {
            return Err(EcsError::invalid(
                "A lifecycle hook must name at least one lifecycle stage.",
            ));
        }
        let pause = hook.target_type == Some(DeploymentLifecycleHookTargetType::Pause);
        if !pause && hook.hook_target_arn.is_none() {
            return Err(EcsError::invalid(
                "hookTargetArn is required for an AWS_LAMBDA lifecycle hook.",
            ));
        }
        let minutes = hook
            .timeout_configuration
            .as_ref()
            .and_then(|t| t.timeout_in_minutes);
        if minutes.is_some_and(|m| !(1..=20160).contains(&m)) {
            return Err(EcsError::invalid(
                "timeoutInMinutes must be between 1 and 20160.",
            ));
        }
    }
    Ok(())
}

/// Whether `strategy` deploys blue/green (LINEAR and CANARY shift traffic in steps on ECS;
/// locally there is no traffic to shift, so they go through the same stages).
pub fn is_blue_green(strategy: Option<DeploymentStrategy>) -> bool {
    matches!(
        strategy,
        Some(
            DeploymentStrategy::BlueGreen | DeploymentStrategy::Linear | DeploymentStrategy::Canary
        )
    )
}

fn position(stage: Stage) -> usize {
    ORDER.iter().position(|s| *s == stage).unwrap_or(0)
}

/// The stage after `stage`; none after CLEAN_UP.
pub fn next(stage: Stage) -> Option<Stage> {
    ORDER.get(position(stage) + 1).copied()
}

/// The hooks configured to run at `stage` (SCALE_UP, BAKE_TIME and CLEAN_UP take none).
pub fn hooks_at(hooks: &[DeploymentLifecycleHook], stage: Stage) -> Vec<&DeploymentLifecycleHook> {
    let at = match stage {
        Stage::ReconcileService => HookStage::ReconcileService,
        Stage::PreScaleUp => HookStage::PreScaleUp,
        Stage::PostScaleUp => HookStage::PostScaleUp,
        Stage::TestTrafficShift => HookStage::TestTrafficShift,
        Stage::PostTestTrafficShift => HookStage::PostTestTrafficShift,
        Stage::ProductionTrafficShift => HookStage::ProductionTrafficShift,
        Stage::PostProductionTrafficShift => HookStage::PostProductionTrafficShift,
        Stage::ScaleUp | Stage::BakeTime | Stage::CleanUp => return vec![],
    };
    hooks
        .iter()
        .filter(|h| {
            h.lifecycle_stages.iter().flatten().any(|s| {
                *s == at
                    // Its own stage is not reported: it runs as production traffic shifts.
                    || (at == HookStage::ProductionTrafficShift
                        && *s == HookStage::PreProductionTrafficShift)
            })
        })
        .collect()
}

/// What a stage waits for besides its hooks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waiting {
    /// Green tasks running and healthy.
    pub green_healthy: u32,
    /// The service's desired count.
    pub desired: u32,
    /// The deployment's `bakeTimeInMinutes`.
    pub bake_minutes: i32,
    /// When the stage was entered, and now (epoch seconds).
    pub since: f64,
    /// Now.
    pub now: f64,
}

/// Whether `stage`'s own work is done: SCALE_UP once green runs the desired count healthy,
/// BAKE_TIME once the bake time passed; CLEAN_UP ends with the deployment (its blue tasks
/// stopped), never by a step.
pub fn stage_done(stage: Stage, w: &Waiting) -> bool {
    match stage {
        Stage::ScaleUp => w.green_healthy >= w.desired,
        Stage::BakeTime => w.now >= w.since + f64::from(w.bake_minutes.max(0)) * 60.0,
        Stage::CleanUp => false,
        _ => true,
    }
}

/// Whether the scheduler may start green tasks at `stage` (from SCALE_UP on).
pub fn starts_green(stage: Stage) -> bool {
    position(stage) >= position(Stage::ScaleUp)
}

/// Whether the scheduler may stop blue tasks at `stage` (CLEAN_UP only).
pub fn stops_blue(stage: Stage) -> bool {
    stage == Stage::CleanUp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DeploymentLifecycleHookTargetType;

    #[test]
    fn stages_follow_ecs_order_and_gate_the_scheduler() {
        let mut stage = Stage::PreScaleUp;
        let mut seen = vec![stage];
        while let Some(n) = next(stage) {
            stage = n;
            seen.push(n);
        }
        assert_eq!(seen, ORDER);
        assert!(!starts_green(Stage::PreScaleUp));
        assert!(starts_green(Stage::ScaleUp) && starts_green(Stage::BakeTime));
        assert!(!stops_blue(Stage::BakeTime) && stops_blue(Stage::CleanUp));
        assert!(is_blue_green(Some(DeploymentStrategy::BlueGreen)));
        assert!(!is_blue_green(Some(DeploymentStrategy::Rolling)) && !is_blue_green(None));
    }

    #[test]
    fn stages_wait_for_green_and_bake_time() {
        let w = Waiting {
            green_healthy: 1,
            desired: 2,
            bake_minutes: 1,
            since: 100.0,
            now: 130.0,
        };
        assert!(!stage_done(Stage::ScaleUp, &w));
        assert!(stage_done(
            Stage::ScaleUp,
            &Waiting {
                green_healthy: 2,
                ..w
            }
        ));
        assert!(!stage_done(Stage::BakeTime, &w));
        assert!(stage_done(Stage::BakeTime, &Waiting { now: 160.0, ..w }));
        assert!(stage_done(Stage::PostScaleUp, &w));
        assert!(!stage_done(Stage::CleanUp, &w));
    }

    #[test]
    fn hooks_run_at_their_stages() {
        let hook = |stages: Vec<HookStage>| DeploymentLifecycleHook {
            target_type: Some(DeploymentLifecycleHookTargetType::Pause),
            lifecycle_stages: Some(stages),
            ..Default::default()
        };
        let hooks = [
            hook(vec![HookStage::PostScaleUp]),
            hook(vec![
                HookStage::PreProductionTrafficShift,
                HookStage::PreScaleUp,
            ]),
        ];
        assert_eq!(hooks_at(&hooks, Stage::PostScaleUp).len(), 1);
        assert_eq!(hooks_at(&hooks, Stage::PreScaleUp).len(), 1);
        assert_eq!(hooks_at(&hooks, Stage::ProductionTrafficShift).len(), 1);
        assert!(hooks_at(&hooks, Stage::ScaleUp).is_empty());
        assert!(hooks_at(&hooks, Stage::TestTrafficShift).is_empty());
    }
}
