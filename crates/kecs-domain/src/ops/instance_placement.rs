//! RunTask's choice of a container instance for each EC2 task it was not told where to run: the
//! cluster's ACTIVE instances (KECS's own machine among them) as placement candidates, with the
//! resources their tasks leave, their tasks' groups and the `memberOf` verdict from the cluster
//! query language; `rules::placement` decides.

use std::collections::BTreeMap;

use super::container_instances::{reserved, shown, subject_values, usage};
use crate::model::{
    ContainerInstance, Failure, PlacementConstraintType, RunTaskRequest, Task, TaskDefinition,
};
use crate::rules::cluster_query::{self, Expr};
use crate::rules::placement::{choose, strategies, take, Candidate, Need, Strategy};
use crate::state::{prefixed, State};
use crate::{arn, EcsError};

/// The candidates of one RunTask and what its tasks ask.
pub(super) struct InstanceChoice {
    candidates: Vec<Candidate>,
    strategies: Vec<Strategy>,
    distinct: bool,
}

/// The `memberOf` expressions of the request and of the task definition, parsed.
fn member_of(input: &RunTaskRequest, td: &TaskDefinition) -> Result<Vec<Expr>, EcsError> {
    let given = input
        .placement_constraints
        .iter()
        .flatten()
        .filter(|c| c.r#type == Some(PlacementConstraintType::MemberOf))
        .map(|c| c.expression.clone());
    let defined = td
        .placement_constraints
        .iter()
        .flatten()
        .map(|c| c.expression.clone());
    given
        .chain(defined)
        .map(|e| {
            let text = e.unwrap_or_default();
            cluster_query::parse(&text).map_err(|why| {
                EcsError::invalid(format!(
                    "Invalid memberOf placement constraint expression '{text}': {why}."
                ))
            })
        })
        .collect()
}

fn resource(i: &ContainerInstance, name: &str) -> i64 {
    i.remaining_resources
        .iter()
        .flatten()
        .find(|r| r.name.as_deref() == Some(name))
        .and_then(|r| r.integer_value)
        .map_or(0, i64::from)
}

impl InstanceChoice {
    /// The ACTIVE instances of `cluster_arn`, and `joining` (KECS's machine being registered by
    /// this same request), as candidates.
    pub(super) fn new(
        state: &State,
        cluster_arn: &str,
        joining: Option<&ContainerInstance>,
        input: &RunTaskRequest,
        td: &TaskDefinition,
    ) -> Result<Self, EcsError> {
        let expressions = member_of(input, td)?;
        let mut strategies = strategies(input.placement_strategy.as_deref().unwrap_or_default())
            .map_err(EcsError::invalid)?;
        if strategies.is_empty() {
            // ECS's defaults: a service's tasks spread over the instances, a task at random.
            let service = input
                .group
                .as_deref()
                .is_some_and(|g| g.starts_with("service:"));
            strategies.push(match service {
                true => Strategy::Spread { attribute: None },
                false => Strategy::Random,
            });
        }
        let distinct = input
            .placement_constraints
            .iter()
            .flatten()
            .any(|c| c.r#type == Some(PlacementConstraintType::DistinctInstance));
        let prefix = arn::in_cluster(cluster_arn, "container-instance", "");
        let active: Vec<&ContainerInstance> = prefixed(&state.container_instances, prefix)
            .map(|(_, i)| i)
            .chain(joining)
            .filter(|i| i.status.as_deref() == Some("ACTIVE"))
            .collect();
        // One pass over the cluster's tasks for every instance; none without an instance (a
        // cluster of 100k tasks and no instance is not walked at every RunTask).
        let mut used = match active.is_empty() {
            true => BTreeMap::new(),
            false => usage(state, cluster_arn, None),
        };
        let candidates = active
            .into_iter()
            .map(|i| {
                let arn = i.container_instance_arn.clone().unwrap_or_default();
                let usage = used.remove(&arn).unwrap_or_default();
                let shown = shown(state, i, &usage, false);
                let attributes: BTreeMap<String, String> = i
                    .attributes
                    .iter()
                    .flatten()
                    .filter_map(|a| Some((a.name.clone()?, a.value.clone().unwrap_or_default())))
                    .collect();
                Candidate {
                    member: expressions.iter().all(|e| {
                        cluster_query::holds(e, &|subject| subject_values(state, i, subject))
                    }),
                    cpu: resource(&shown, "CPU"),
                    memory: resource(&shown, "MEMORY"),
                    groups: usage.groups,
                    attributes,
                    arn,
                }
            })
            .collect();
        Ok(Self {
            candidates,
            strategies,
            distinct,
        })
    }

    /// Whether the cluster has any instance to place on (none: the task runs without one).
    pub(super) fn has_candidates(&self) -> bool {
        !self.candidates.is_empty()
    }

    /// The instance `task` goes to, counted as taken; or the failures that say why none can.
    pub(super) fn place(
        &mut self,
        task: &Task,
        random: &mut impl FnMut() -> u64,
    ) -> Result<String, Vec<Failure>> {
        let (cpu, memory) = reserved(task);
        let need = Need {
            cpu,
            memory,
            group: task.group.clone().unwrap_or_default(),
            distinct: self.distinct,
        };
        match choose(&self.candidates, &need, &self.strategies, random) {
            Ok(i) => {
                take(&mut self.candidates[i], &need);
                Ok(self.candidates[i].arn.clone())
            }
            Err(refusals) => Err(refusals
                .into_iter()
                .map(|(arn, reason)| Failure {
                    arn: Some(arn),
                    reason: Some(reason.into()),
                    detail: None,
                })
                .collect()),
        }
    }
}
