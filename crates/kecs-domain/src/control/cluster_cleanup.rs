//! What the runtime keeps of a deleted cluster goes, outside the DeleteCluster request.

use crate::core::Core;
use crate::ops::find::tasks_in;
use crate::status::{ClusterStatus, HasStatus, TaskStatus};

/// Removes the containers of a deleted cluster's tasks, then what the runtime keeps for the
/// cluster (logged, never failing: the cluster is deleted either way).
pub(crate) async fn forget_cluster(core: &Core, cluster_arn: &str) {
    // Only what is still deleted and stopped: the cluster may have been created again.
    let (tasks, deleted): (Vec<String>, bool) = core.read(|state| {
        let tasks = tasks_in(state, cluster_arn)
            .filter(|(_, t)| t.last_is(TaskStatus::Stopped))
            .map(|(arn, _)| arn.clone())
            .collect();
        let deleted = state
            .clusters
            .get(cluster_arn)
            .is_some_and(|c| c.status_is(ClusterStatus::Inactive));
        (tasks, deleted)
    });
    if !deleted {
        return;
    }
    for arn in &tasks {
        if let Err(e) = core.runtime.remove_task(arn).await {
            tracing::warn!(task = %arn, error = %e, "removing a deleted cluster's task failed");
        }
    }
    if let Err(e) = core.runtime.remove_cluster(cluster_arn).await {
        tracing::warn!(cluster = cluster_arn, error = %e, "removing a deleted cluster's resources failed");
    }
}
