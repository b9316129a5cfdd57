//! The service scheduler's decisions, pure: given a service's desired count, its deployment
//! configuration and the tasks it has, which tasks to start and which to stop. A rolling
//! deployment never lets healthy tasks fall below minimumHealthyPercent of the desired count nor
//! all tasks rise above maximumPercent of it.

/// A task of the service, as the scheduler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenTask {
    /// The task's ARN.
    pub arn: String,
    /// The deployment that started it (`startedBy`).
    pub deployment: String,
    /// Where it is.
    pub state: SeenState,
    /// Under scale-in protection (UpdateTaskProtection): scale-in and deployments leave it
    /// running; a failing health check still replaces it.
    pub protected: bool,
}

/// A service task's state, for scheduling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeenState {
    /// Starting (PROVISIONING, PENDING, ACTIVATING).
    Pending,
    /// RUNNING and healthy (or without a health check, or within its grace period).
    Healthy,
    /// RUNNING, but its health check says UNHEALTHY: it is replaced.
    Unhealthy,
}

/// The numbers a decision is made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// The service's desired count.
    pub desired: u32,
    /// deploymentConfiguration.minimumHealthyPercent.
    pub minimum_healthy_percent: u32,
    /// deploymentConfiguration.maximumPercent.
    pub maximum_percent: u32,
    /// Whether the primary deployment may start tasks (not once its circuit breaker tripped).
    pub may_start: bool,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// How many tasks to start for the primary deployment.
    pub start: u32,
    /// The tasks to stop.
    pub stop: Vec<String>,
    /// The primary deployment runs the desired count of healthy tasks and nothing else runs.
    pub steady: bool,
}

/// The most tasks that may exist at once: maximumPercent of desired, rounded down, never fewer
/// than the desired count itself.
pub fn ceiling(t: &Targets) -> u32 {
    // In 64 bits: a desired count and a percentage near u32::MAX must not overflow.
    let c = u64::from(t.desired) * u64::from(t.maximum_percent) / 100;
    u32::try_from(c).unwrap_or(u32::MAX).max(t.desired)
}

/// The fewest healthy tasks a deployment may leave: minimumHealthyPercent of desired, rounded up.
pub fn floor(t: &Targets) -> u32 {
    let f = (u64::from(t.desired) * u64::from(t.minimum_healthy_percent)).div_ceil(100);
    u32::try_from(f).unwrap_or(u32::MAX)
}

/// Decides for a service whose primary deployment is `primary`.
pub fn decide(t: &Targets, primary: &str, tasks: &[SeenTask]) -> Decision {
    let mut decision = Decision::default();
    // Unhealthy tasks are replaced whatever their deployment.
    let (unhealthy, live): (Vec<&SeenTask>, Vec<&SeenTask>) = tasks
        .iter()
        .partition(|task| task.state == SeenState::Unhealthy);
    decision
        .stop
        .extend(unhealthy.iter().map(|task| task.arn.clone()));
    let (mut current, old): (Vec<&SeenTask>, Vec<&SeenTask>) = live
        .into_iter()
        .partition(|task| task.deployment == primary);
    // Scale the primary down: pending ones first, then the newest (last listed).
    current.sort_by_key(|task| task.state != SeenState::Pending);
    let desired = t.desired as usize;
    if current.len() > desired {
        let extra = current.len() - desired;
        let mut doomed: Vec<&SeenTask> = current
            .iter()
            .filter(|x| x.state == SeenState::Pending && !x.protected)
            .copied()
            .collect();
        doomed.extend(
            current
                .iter()
                .rev()
                .filter(|x| x.state != SeenState::Pending && !x.protected),
        );
        doomed.truncate(extra);
        decision.stop.extend(doomed.iter().map(|x| x.arn.clone()));
        current.retain(|x| !doomed.contains(x));
    }
    let healthy_current = current
        .iter()
        .filter(|x| x.state == SeenState::Healthy)
        .count();
    let healthy_old = old.iter().filter(|x| x.state == SeenState::Healthy).count();
    // Start what the ceiling leaves room for.
    if t.may_start {
        let total = current.len() + old.len();
        let room = (ceiling(t) as usize).saturating_sub(total);
        let want = desired.saturating_sub(current.len());
        decision.start = want.min(room) as u32;
    }
    // Stop old tasks: those not healthy at once, healthy ones only above the floor.
    let mut may_stop_healthy = (healthy_current + healthy_old).saturating_sub(floor(t) as usize);
    for task in old.iter().filter(|task| !task.protected) {
        if task.state != SeenState::Healthy {
            decision.stop.push(task.arn.clone());
        } else if may_stop_healthy > 0 {
            may_stop_healthy -= 1;
            decision.stop.push(task.arn.clone());
        }
    }
    decision.steady = old.is_empty()
        && unhealthy.is_empty()
        && current.len() == desired
        && healthy_current == desired;
    decision
}

/// After how many failed tasks a deployment's circuit breaker trips: half the desired count,
/// at least 3 and at most 200 (ECS's rule).
pub fn failure_threshold(desired: u32) -> u32 {
    desired.div_ceil(2).clamp(3, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(desired: u32, min: u32, max: u32) -> Targets {
        Targets {
            desired,
            minimum_healthy_percent: min,
            maximum_percent: max,
            may_start: true,
        }
    }

    fn tasks(deployment: &str, state: SeenState, n: usize) -> Vec<SeenTask> {
        (0..n)
            .map(|i| SeenTask {
                arn: format!("{deployment}-{i}"),
                deployment: deployment.into(),
                state,
                protected: false,
            })
            .collect()
    }

    #[test]
    fn protected_tasks_survive_scale_in_and_deployments_but_not_failing_health() {
        let mut seen = tasks("d1", SeenState::Healthy, 3);
        seen[2].protected = true;
        // Scale-in to one: the unprotected ones go, the protected one is the one kept.
        let d = decide(&targets(1, 100, 200), "d1", &seen);
        assert_eq!(d.stop, ["d1-1", "d1-0"]);
        // With two protected, one stays above the desired count until protection ends.
        seen[1].protected = true;
        let d = decide(&targets(1, 100, 200), "d1", &seen);
        assert_eq!(d.stop, ["d1-0"]);
        assert!(!d.steady);
        // A deployment replaces the old tasks but the protected one.
        let mut old = tasks("d1", SeenState::Healthy, 2);
        old[0].protected = true;
        old.extend(tasks("d2", SeenState::Healthy, 2));
        let d = decide(&targets(2, 0, 200), "d2", &old);
        assert_eq!(d.stop, ["d1-1"]);
        assert!(!d.steady, "not steady while a protected old task runs");
        // Unhealthy: replaced, protected or not.
        let mut sick = tasks("d1", SeenState::Unhealthy, 1);
        sick[0].protected = true;
        assert_eq!(decide(&targets(1, 100, 200), "d1", &sick).stop, ["d1-0"]);
    }

    #[test]
    fn a_new_service_starts_its_desired_count() {
        let d = decide(&targets(3, 100, 200), "d2", &[]);
        assert_eq!((d.start, d.stop.len(), d.steady), (3, 0, false));
    }

    #[test]
    fn scaling_down_stops_pending_tasks_first() {
        let mut seen = tasks("d1", SeenState::Healthy, 3);
        seen.extend(tasks("p", SeenState::Pending, 1).into_iter().map(|mut x| {
            x.deployment = "d1".into();
            x
        }));
        let d = decide(&targets(1, 100, 200), "d1", &seen);
        assert_eq!(d.start, 0);
        assert_eq!(d.stop, ["p-0", "d1-2", "d1-1"]);
    }

    #[test]
    fn steady_only_with_the_desired_count_healthy_and_nothing_old() {
        assert!(
            decide(
                &targets(2, 100, 200),
                "d1",
                &tasks("d1", SeenState::Healthy, 2)
            )
            .steady
        );
        assert!(
            !decide(
                &targets(2, 100, 200),
                "d1",
                &tasks("d1", SeenState::Pending, 2)
            )
            .steady
        );
        let mut seen = tasks("d1", SeenState::Healthy, 2);
        seen.extend(tasks("d0", SeenState::Healthy, 1));
        assert!(!decide(&targets(2, 100, 200), "d1", &seen).steady);
    }

    #[test]
    fn unhealthy_tasks_are_replaced() {
        let mut seen = tasks("d1", SeenState::Healthy, 1);
        seen.extend(
            tasks("u", SeenState::Unhealthy, 1)
                .into_iter()
                .map(|mut x| {
                    x.deployment = "d1".into();
                    x
                }),
        );
        let d = decide(&targets(2, 100, 200), "d1", &seen);
        assert_eq!((d.start, d.stop.as_slice()), (1, &["u-0".to_string()][..]));
    }

    /// Every rolling step, table-driven over the percent rules: simulate the deployment from 4
    /// old tasks to 4 new ones, starting tasks as pending and letting them become healthy one
    /// step later, and check that healthy tasks never drop below the floor nor all tasks rise
    /// above the ceiling, and that the deployment completes.
    #[test]
    fn rolling_deployments_respect_the_percent_rules() {
        for (desired, min, max) in [
            (4, 100, 200),
            (4, 50, 200),
            (4, 50, 100),
            (4, 0, 100),
            (4, 75, 125),
            (1, 0, 100),
            (1, 100, 200),
            (10, 90, 110),
            (3, 34, 134),
        ] {
            let t = targets(desired, min, max);
            let mut seen = tasks("old", SeenState::Healthy, desired as usize);
            let mut next = 0;
            let mut steps = 0;
            loop {
                let d = decide(&t, "new", &seen);
                if d.steady {
                    break;
                }
                steps += 1;
                assert!(
                    steps < 50,
                    "{desired}/{min}/{max} never completes: {seen:?}"
                );
                seen.retain(|x| !d.stop.contains(&x.arn));
                let healthy = seen
                    .iter()
                    .filter(|x| x.state == SeenState::Healthy)
                    .count() as u32;
                assert!(
                    healthy >= floor(&t).min(desired),
                    "{desired}/{min}/{max}: {healthy} healthy after stopping {:?}",
                    d.stop
                );
                for _ in 0..d.start {
                    seen.push(SeenTask {
                        arn: format!("new-{next}"),
                        deployment: "new".into(),
                        state: SeenState::Pending,
                        protected: false,
                    });
                    next += 1;
                }
                assert!(
                    seen.len() as u32 <= ceiling(&t),
                    "{desired}/{min}/{max}: {} tasks above the ceiling",
                    seen.len()
                );
                // What started becomes healthy before the next look.
                for x in &mut seen {
                    if x.state == SeenState::Pending {
                        x.state = SeenState::Healthy;
                    }
                }
            }
            assert!(seen.iter().all(|x| x.deployment == "new"));
        }
    }

    #[test]
    fn huge_counts_and_percentages_do_not_overflow() {
        let t = targets(i32::MAX as u32, 100, i32::MAX as u32);
        assert_eq!(ceiling(&t), u32::MAX);
        assert_eq!(floor(&t), i32::MAX as u32);
        let t = targets(u32::MAX, u32::MAX, u32::MAX);
        assert_eq!((ceiling(&t), floor(&t)), (u32::MAX, u32::MAX));
        assert_eq!(decide(&t, "d", &[]).start, u32::MAX);
    }

    #[test]
    fn circuit_breaker_threshold() {
        assert_eq!(failure_threshold(1), 3);
        assert_eq!(failure_threshold(10), 5);
        assert_eq!(failure_threshold(1000), 200);
    }
}
