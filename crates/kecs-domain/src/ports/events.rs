//! The event bus port and the events KECS publishes, in the shape Amazon EventBridge delivers
//! for ECS: `ECS Task State Change`, `ECS Service Action` and `ECS Deployment State Change`,
//! plus KECS's own `ECS Cluster State Change` and `ECS Task Definition State Change` (ECS
//! reports those only through CloudTrail).
//!
//! Events are derived from the mutations of a write in one place (the core's `events` module),
//! so every state change is seen whichever operation or controller made it. They are published
//! only after the write's commit, in the order the writes took the lock.

use serde::Serialize;
use serde_json::Value;

/// `ECS Task State Change`.
pub const TASK_STATE_CHANGE: &str = "ECS Task State Change";
/// `ECS Service Action`.
pub const SERVICE_ACTION: &str = "ECS Service Action";
/// `ECS Deployment State Change`.
pub const DEPLOYMENT_STATE_CHANGE: &str = "ECS Deployment State Change";
/// `ECS Cluster State Change` (KECS's own).
pub const CLUSTER_STATE_CHANGE: &str = "ECS Cluster State Change";
/// `ECS Task Definition State Change` (KECS's own).
pub const TASK_DEFINITION_STATE_CHANGE: &str = "ECS Task Definition State Change";

/// One event as EventBridge delivers it, plus what subscribers filter on (not serialized).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// Always `"0"`.
    pub version: &'static str,
    /// A unique ID.
    pub id: String,
    /// What happened (`ECS Task State Change`, ...).
    #[serde(rename = "detail-type")]
    pub detail_type: &'static str,
    /// Always `aws.ecs`.
    pub source: &'static str,
    /// The account of the resource.
    pub account: String,
    /// When, as ISO 8601 UTC.
    pub time: String,
    /// The region of the resource.
    pub region: String,
    /// The ARNs of the resources concerned.
    pub resources: Vec<String>,
    /// The event's detail, as ECS sends it (timestamps as ISO 8601 strings).
    pub detail: Value,
    /// The ARN of the cluster the event belongs to.
    #[serde(skip)]
    pub cluster_arn: Option<String>,
    /// The ARN of the service the event belongs to (a service's own events and its tasks').
    #[serde(skip)]
    pub service_arn: Option<String>,
    /// For a task's change of `lastStatus`: the status before and after (`NONE` for a new task).
    #[serde(skip)]
    pub transition: Option<(String, String)>,
}

/// Where events go. Publishing must not block: a bus that cannot keep up drops or marks, it
/// never holds up a write.
pub trait EventBus: Send + Sync {
    /// Delivers events, in order.
    fn publish(&self, events: &[Event]);
}

/// A bus that discards everything (embedders that do not listen).
#[derive(Debug, Default)]
pub struct NoEvents;

impl EventBus for NoEvents {
    fn publish(&self, _: &[Event]) {}
}
