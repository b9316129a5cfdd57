//! Counts of what KECS holds, for gauges (Prometheus, the web UI).

use crate::status::{ServiceStatus, TaskStatus};
use std::collections::BTreeMap;

use crate::core::Core;

/// Services and tasks counted by cluster name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    /// ACTIVE services by cluster name.
    pub active_services: BTreeMap<String, usize>,
    /// Tasks by cluster name and lastStatus.
    pub tasks: BTreeMap<(String, String), usize>,
    /// Durable groups the store has yet to apply to its database ([`Store::backlog`]).
    ///
    /// [`Store::backlog`]: crate::ports::store::Store::backlog
    pub store_backlog: Option<u64>,
}

/// The cluster name in a task's or service's ARN (`...:<kind>/<cluster>/<name>`).
fn cluster_name(arn: &str) -> String {
    crate::arn::split_in_cluster(arn)
        .map(|(cluster, _)| crate::arn::cluster_name(&cluster).to_string())
        .unwrap_or_default()
}

/// Counts the services and tasks of every region and account.
pub(crate) fn census(core: &Core) -> Census {
    let counted = core.read(|state| {
        let mut census = Census::default();
        for (arn, s) in state.services.summaries() {
            if s.status_is(ServiceStatus::Active) {
                *census.active_services.entry(cluster_name(arn)).or_default() += 1;
            }
        }
        for (arn, t) in state.tasks.summaries() {
            let key = (
                cluster_name(arn),
                t.last_status
                    .map(TaskStatus::as_str)
                    .unwrap_or_default()
                    .to_string(),
            );
            *census.tasks.entry(key).or_default() += 1;
        }
        census
    });
    Census {
        store_backlog: core.store_backlog(),
        ..counted
    }
}
