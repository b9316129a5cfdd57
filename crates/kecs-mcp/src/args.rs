//! The tools' arguments, with the JSON schemas assistants see. Clusters default to `default`,
//! as in ECS.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A cluster (name or ARN; `default` when not given).
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct ClusterArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
}

/// A service of a cluster.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ServiceArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The service's name or ARN.
    pub service: String,
}

/// A task of a cluster.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TaskArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The task's ID or ARN.
    pub task: String,
}

/// Which tasks to list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTasksArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// Only the tasks of this service.
    pub service: Option<String>,
    /// `RUNNING` (default) or `STOPPED`.
    pub desired_status: Option<String>,
}

/// Which task definitions to list.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTaskDefinitionsArgs {
    /// Only revisions of families starting with this.
    pub family_prefix: Option<String>,
}

/// A task definition.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TaskDefinitionArgs {
    /// `family`, `family:revision` or the ARN (a family alone: its latest ACTIVE revision).
    pub task_definition: String,
}

/// A task definition to register: the RegisterTaskDefinition request.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RegisterArgs {
    /// The RegisterTaskDefinition request as the ECS API takes it: `family`,
    /// `containerDefinitions` (each with `name`, `image`, `memory` ...), optionally `cpu`,
    /// `memory`, `networkMode`, `requiresCompatibilities`.
    pub task_definition: Map<String, Value>,
}

/// Tasks to run.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RunTaskArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// `family`, `family:revision` or the ARN.
    pub task_definition: String,
    /// How many tasks (1 to 10; default 1).
    pub count: Option<u32>,
    /// `FARGATE`, `EC2` or `EXTERNAL` (default: the cluster's).
    pub launch_type: Option<String>,
}

/// A task to stop.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StopTaskArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The task's ID or ARN.
    pub task: String,
    /// Why (shown as the task's stoppedReason).
    pub reason: Option<String>,
}

/// A service to create.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateServiceArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The new service's name.
    pub service_name: String,
    /// `family`, `family:revision` or the ARN.
    pub task_definition: String,
    /// How many tasks it keeps running (default 1).
    pub desired_count: Option<u32>,
    /// `FARGATE`, `EC2` or `EXTERNAL` (default: the cluster's).
    pub launch_type: Option<String>,
}

/// A service's new task count.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ScaleArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The service's name or ARN.
    pub service: String,
    /// How many tasks it keeps running.
    pub desired_count: u32,
}

/// A change of a service.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateServiceArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The service's name or ARN.
    pub service: String,
    /// The task definition to deploy.
    pub task_definition: Option<String>,
    /// How many tasks it keeps running.
    pub desired_count: Option<u32>,
    /// Replace every task even if nothing changed.
    pub force_new_deployment: Option<bool>,
}

/// A service to delete.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DeleteServiceArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The service's name or ARN.
    pub service: String,
    /// Delete it even if it still has tasks (they are stopped).
    pub force: Option<bool>,
}

/// A container whose logs to read.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct LogsArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The task's ID or ARN.
    pub task: String,
    /// The container's name (default: the task's first container).
    pub container: Option<String>,
    /// How many of the last lines (default 100).
    pub tail: Option<u32>,
}

/// A service to wait for.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WaitArgs {
    /// The cluster's name or ARN (default: `default`).
    pub cluster: Option<String>,
    /// The service's name or ARN.
    pub service: String,
    /// How long to wait at most (default 120, at most 600).
    pub timeout_seconds: Option<u64>,
}

/// The cluster's name or ARN, `default` when not given.
pub fn cluster(c: &Option<String>) -> &str {
    c.as_deref().unwrap_or("default")
}
