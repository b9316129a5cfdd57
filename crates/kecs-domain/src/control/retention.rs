//! Stopped tasks are kept for a while, then forgotten, as ECS forgets them (DescribeTasks shows
//! a stopped task for about an hour): their records, tags and containers go, so a long-running
//! KECS does not grow with every task it ever ran.

use crate::status::TaskStatus;
use std::time::Duration;

use crate::core::Core;
use crate::state::{Mutation, State};
use crate::EcsError;

/// At most this many tasks are forgotten in one write, so that it stays short.
const BATCH: usize = 1_000;

/// The stopped tasks of `state` that stopped before `cutoff` (epoch seconds), at most `limit`.
pub fn expired(state: &State, cutoff: f64, limit: usize) -> Vec<String> {
    state
        .tasks
        .summaries()
        .filter(|(_, t)| {
            t.last_is(TaskStatus::Stopped) && t.stopped_at.is_some_and(|at| at < cutoff)
        })
        .map(|(arn, _)| arn.clone())
        .take(limit)
        .collect()
}

/// The INACTIVE clusters of `state` deleted before `cutoff` (epoch seconds) that hold no task
/// any more (their stopped tasks go first, on their own retention).
pub fn expired_clusters(state: &State, cutoff: f64) -> Vec<String> {
    state
        .retired_clusters
        .iter()
        .filter(|(arn, at)| {
            **at < cutoff
                && state
                    .tasks
                    .prefixed(crate::arn::in_cluster(arn, "task", ""))
                    .next()
                    .is_none()
        })
        .map(|(arn, _)| arn.clone())
        .collect()
}

/// What forgets the clusters deleted before `cutoff`: each with its tags, its container
/// instances (all deregistered by then) and theirs.
fn forget_clusters(state: &State, cutoff: f64) -> Vec<Mutation> {
    let mut mutations = vec![];
    for arn in expired_clusters(state, cutoff) {
        let instances = crate::arn::in_cluster(&arn, "container-instance", "");
        let instances = crate::state::prefixed(&state.container_instances, instances);
        for resource in instances.map(|(i, _)| i.clone()).chain([arn.clone()]) {
            if state.tags.contains_key(&resource) {
                mutations.push(Mutation::PutTags(resource.clone(), vec![]));
            }
            mutations.push(if resource == arn {
                Mutation::DeleteCluster(resource)
            } else {
                Mutation::DeleteContainerInstance(resource)
            });
        }
    }
    mutations
}

/// Forgets the tasks stopped more than `retention` ago, and has the runtime remove their
/// containers, then the clusters deleted more than `retention` ago; returns how many tasks went.
pub(crate) async fn forget_stopped_tasks(
    core: &Core,
    retention: Duration,
) -> Result<usize, EcsError> {
    let cutoff = core.now() - retention.as_secs_f64();
    let forgotten = forget_tasks(core, cutoff).await?;
    if !core.read(|state| expired_clusters(state, cutoff).is_empty()) {
        core.write(|state| Ok(((), forget_clusters(state, cutoff))))
            .await?;
    }
    Ok(forgotten)
}

async fn forget_tasks(core: &Core, cutoff: f64) -> Result<usize, EcsError> {
    let mut forgotten = 0;
    loop {
        if core.read(|state| expired(state, cutoff, 1).is_empty()) {
            return Ok(forgotten);
        }
        let arns = core
            .write(|state| {
                let arns = expired(state, cutoff, BATCH);
                let mut mutations = vec![];
                for arn in &arns {
                    if state.tags.contains_key(arn) {
                        mutations.push(Mutation::PutTags(arn.clone(), vec![]));
                    }
                    mutations.push(Mutation::DeleteTask(arn.clone()));
                }
                Ok((arns, mutations))
            })
            .await?;
        if !core.runtime.is_emulated() {
            for arn in &arns {
                if let Err(e) = core.runtime.remove_task(arn).await {
                    tracing::warn!(task = %arn, error = %e, "removing a forgotten task's containers failed");
                }
            }
        }
        forgotten += arns.len();
        if arns.len() < BATCH {
            return Ok(forgotten);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Task;
    use crate::state::StoredTask;
    use crate::status::HasStatus;

    fn task(arn: &str, last: &str, stopped_at: Option<f64>) -> StoredTask {
        StoredTask {
            task: Task {
                task_arn: Some(arn.into()),
                last_status: Some(last.into()),
                desired_status: Some(last.into()),
                stopped_at,
                ..Task::default()
            },
            client_token: None,
            protected_until: None,
        }
    }

    #[test]
    fn only_tasks_stopped_before_the_cutoff_expire() {
        let mut s = State::default();
        for t in [
            task("old", "STOPPED", Some(100.0)),
            task("recent", "STOPPED", Some(500.0)),
            task("running", "RUNNING", None),
            task("older", "STOPPED", Some(50.0)),
        ] {
            s.apply(Mutation::PutTask(t)).unwrap();
        }
        assert_eq!(expired(&s, 200.0, 10), ["old", "older"]);
        assert_eq!(expired(&s, 200.0, 1), ["old"]);
        assert!(expired(&s, 10.0, 10).is_empty());
    }

    fn cluster(name: &str) -> crate::model::Cluster {
        crate::model::Cluster {
            cluster_arn: Some(format!("arn:aws:ecs:us-east-1:000000000000:cluster/{name}")),
            cluster_name: Some(name.into()),
            status: Some("ACTIVE".into()),
            ..Default::default()
        }
    }

    #[test]
    fn deleted_clusters_expire_after_their_tasks_and_keep_their_time_when_stored() {
        let mut s = State::default();
        let mut changes = vec![];
        for (name, at) in [("old", 100.0), ("recent", 500.0), ("busy", 100.0)] {
            changes.push(s.apply(Mutation::RetireCluster(cluster(name), at)).unwrap());
        }
        changes.push(s.apply(Mutation::PutCluster(cluster("live"))).unwrap());
        let busy_task = "arn:aws:ecs:us-east-1:000000000000:task/busy/1";
        changes.push(
            s.apply(Mutation::PutTask(task(busy_task, "STOPPED", Some(90.0))))
                .unwrap(),
        );
        let old = "arn:aws:ecs:us-east-1:000000000000:cluster/old";
        assert_eq!(expired_clusters(&s, 200.0), [old]);
        assert!(s.clusters[old].status_is(crate::status::ClusterStatus::Inactive));

        // The deletion time survives a restart: a state loaded from the stored records agrees.
        let mut loaded = State::default();
        let records = changes.into_iter().filter_map(|c| match c {
            crate::ports::store::Change::Put(r) => Some(r),
            _ => None,
        });
        loaded.load(records.collect()).unwrap();
        assert_eq!(loaded.retired_clusters, s.retired_clusters);

        // Created again, a deleted cluster is ACTIVE and no longer expires.
        s.apply(Mutation::PutCluster(cluster("old"))).unwrap();
        assert!(expired_clusters(&s, 200.0).is_empty());
        s.apply(Mutation::DeleteTask(busy_task.into())).unwrap();
        let busy = "arn:aws:ecs:us-east-1:000000000000:cluster/busy";
        assert_eq!(expired_clusters(&s, 200.0), [busy]);
        s.apply(Mutation::DeleteCluster(busy.into())).unwrap();
        assert!(!s.clusters.contains_key(busy) && expired_clusters(&s, 1e9).len() == 1);
    }

    #[test]
    fn a_forgotten_cluster_takes_its_instances_and_tags_along() {
        let mut s = State::default();
        s.apply(Mutation::RetireCluster(cluster("gone"), 100.0))
            .unwrap();
        s.apply(Mutation::PutCluster(cluster("kept"))).unwrap();
        let instance = |cluster: &str| crate::model::ContainerInstance {
            container_instance_arn: Some(format!(
                "arn:aws:ecs:us-east-1:000000000000:container-instance/{cluster}/1"
            )),
            status: Some("INACTIVE".into()),
            ..Default::default()
        };
        for c in ["gone", "kept"] {
            s.apply(Mutation::PutContainerInstance(instance(c)))
                .unwrap();
        }
        let gone = instance("gone").container_instance_arn.unwrap();
        let tag = crate::model::Tag {
            key: Some("k".into()),
            value: Some("v".into()),
        };
        s.apply(Mutation::PutTags(gone.clone(), vec![tag])).unwrap();
        for m in forget_clusters(&s, 200.0) {
            s.apply(m).unwrap();
        }
        assert!(!s.container_instances.contains_key(&gone));
        assert!(s.tags_of(&gone).is_empty());
        assert_eq!(
            s.container_instances.len(),
            1,
            "the live cluster's instance stays"
        );
        assert!(!s
            .clusters
            .contains_key("arn:aws:ecs:us-east-1:000000000000:cluster/gone"));
    }
}
