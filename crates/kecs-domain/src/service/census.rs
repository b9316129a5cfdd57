//! Counts of what KECS holds, for gauges (Prometheus, the web UI).

use std::collections::BTreeMap;

use super::Kecs;

/// Services and tasks counted by cluster name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    /// ACTIVE services by cluster name.
    pub active_services: BTreeMap<String, usize>,
    /// Tasks by cluster name and lastStatus.
    pub tasks: BTreeMap<(String, String), usize>,
}

fn cluster_name(arn: Option<&str>) -> String {
    crate::arn::cluster_name(arn.unwrap_or_default()).to_string()
}

impl Kecs {
    /// Counts the services and tasks of every region and account.
    pub fn census(&self) -> Census {
        self.read(|state| {
            let mut census = Census::default();
            for s in state.services.values() {
                if s.service.status.as_deref() == Some("ACTIVE") {
                    *census
                        .active_services
                        .entry(cluster_name(s.service.cluster_arn.as_deref()))
                        .or_default() += 1;
                }
            }
            for t in state.tasks.values() {
                let key = (
                    cluster_name(t.task.cluster_arn.as_deref()),
                    t.task.last_status.clone().unwrap_or_default(),
                );
                *census.tasks.entry(key).or_default() += 1;
            }
            census
        })
    }
}
