//! The load balancer port: where a service's `loadBalancers` send traffic locally. KECS decides
//! which of a target group's targets are registered (`rules::targets`); an adapter listens on
//! the host for each target group and forwards to exactly those targets.
//!
//! Adapters: [`NoTraffic`] (here: nothing listens, for the `none` runtime and embedders) and
//! kecs-proxy's local load balancer.

use crate::Cause;

/// One registered target: a task's container port, at an address the host reaches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The task's ARN.
    pub task_arn: String,
    /// Where its container port answers (`host:port`).
    pub address: String,
}

/// What one target group's listener forwards to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupRoute {
    /// The target group's ARN (as the service's `loadBalancers` names it).
    pub target_group_arn: String,
    /// Its registered targets: traffic goes to these only, in turn.
    pub targets: Vec<Target>,
}

/// What a route changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routed {
    /// The listener's address (`host:port`), or `None` when nothing listens.
    pub listener: Option<String>,
    /// The targets it sends traffic to now: those of the route that answer (a target group's
    /// health check: a new target takes traffic once it accepts connections).
    pub targets: Vec<Target>,
    /// How many targets of the route do not answer yet: routing again later may register them.
    pub waiting: usize,
    /// The targets it did not send to before.
    pub registered: Vec<Target>,
    /// The targets it no longer sends to.
    pub deregistered: Vec<Target>,
}

/// Why a listener could not be opened or changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrafficError {
    /// The listener's port is taken (by another target group or another program).
    #[error("the port {port} of the listener of {target_group} is already in use")]
    PortInUse {
        /// The target group.
        target_group: String,
        /// The port asked for.
        port: u16,
        /// The system's error, when there is one.
        #[source]
        cause: Option<Cause>,
    },
    /// No port was given for the target group and none of the range is free.
    #[error("no free port is left for the listener of {0}")]
    NoFreePort(String),
}

/// Listens for target groups and forwards to their registered targets.
#[async_trait::async_trait]
pub trait TrafficRouter: Send + Sync {
    /// The address its listener for `target_group_arn` has or would have (`host:port`), opening
    /// none; an error when it cannot have one (its port is taken). `None` when nothing listens
    /// (the [`NoTraffic`] adapter).
    fn listener(&self, target_group_arn: &str) -> Result<Option<String>, TrafficError>;

    /// Makes the listener of the route's target group forward to the route's targets that
    /// answer, and to no other (opening it first when needed); says what changed.
    async fn route(&self, route: &TargetGroupRoute) -> Result<Routed, TrafficError>;

    /// Closes the listener of a target group no service uses anymore.
    async fn close(&self, target_group_arn: &str);
}

/// Nothing listens: the service's `loadBalancers` are only recorded.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTraffic;

#[async_trait::async_trait]
impl TrafficRouter for NoTraffic {
    fn listener(&self, _: &str) -> Result<Option<String>, TrafficError> {
        Ok(None)
    }

    async fn route(&self, _: &TargetGroupRoute) -> Result<Routed, TrafficError> {
        Ok(Routed::default())
    }

    async fn close(&self, _: &str) {}
}
