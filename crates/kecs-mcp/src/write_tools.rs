//! Tools that change things: task definitions registered, tasks run and stopped, services
//! created, scaled, updated and deleted. Those that end something say so (`destructive_hint`).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde_json::{json, Value};

use crate::args::{
    cluster, CreateServiceArgs, DeleteServiceArgs, RegisterArgs, RunTaskArgs, ScaleArgs,
    StopTaskArgs, UpdateServiceArgs,
};
use crate::read_tools::pick;
use crate::{answer, KecsMcp};

/// What a changed service is shown as.
const SERVICE_KEYS: &[&str] = &[
    "serviceArn",
    "serviceName",
    "status",
    "taskDefinition",
    "desiredCount",
    "runningCount",
    "pendingCount",
];

#[tool_router(router = write_tools, vis = "pub(crate)")]
impl KecsMcp {
    /// Registers a task definition (a new revision of its family); answers its ARN.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn register_task_definition(
        &self,
        Parameters(args): Parameters<RegisterArgs>,
    ) -> CallToolResult {
        let out = self
            .ecs
            .call(
                "RegisterTaskDefinition",
                Value::Object(args.task_definition),
            )
            .await;
        answer(out.map(|o| o["taskDefinition"]["taskDefinitionArn"].clone()))
    }

    /// Runs tasks of a task definition; answers each task (or why it could not be placed).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn run_task(&self, Parameters(args): Parameters<RunTaskArgs>) -> CallToolResult {
        let input = json!({
            "cluster": cluster(&args.cluster),
            "taskDefinition": args.task_definition,
            "count": args.count.unwrap_or(1),
            "launchType": args.launch_type,
        });
        answer(self.ecs.call("RunTask", input).await.map(|out| {
            json!({
                "tasks": pick(&out["tasks"], &["taskArn", "lastStatus", "desiredStatus"]),
                "failures": out["failures"],
            })
        }))
    }

    /// Stops a task: its containers get SIGTERM, then SIGKILL after their stop timeout.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn stop_task(&self, Parameters(args): Parameters<StopTaskArgs>) -> CallToolResult {
        let input = json!({
            "cluster": cluster(&args.cluster),
            "task": args.task,
            "reason": args.reason,
        });
        answer(self.ecs.call("StopTask", input).await.map(|out| {
            pick(
                &json!([out["task"]]),
                &["taskArn", "lastStatus", "desiredStatus", "stoppedReason"],
            )[0]
            .clone()
        }))
    }

    /// Creates a service that keeps `desired_count` tasks of a task definition running.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn create_service(
        &self,
        Parameters(args): Parameters<CreateServiceArgs>,
    ) -> CallToolResult {
        let input = json!({
            "cluster": cluster(&args.cluster),
            "serviceName": args.service_name,
            "taskDefinition": args.task_definition,
            "desiredCount": args.desired_count.unwrap_or(1),
            "launchType": args.launch_type,
        });
        self.service_change("CreateService", input).await
    }

    /// Sets how many tasks a service keeps running (0 stops them all).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn scale_service(&self, Parameters(args): Parameters<ScaleArgs>) -> CallToolResult {
        let input = json!({
            "cluster": cluster(&args.cluster),
            "service": args.service,
            "desiredCount": args.desired_count,
        });
        self.service_change("UpdateService", input).await
    }

    /// Changes a service: a new task definition (a rolling deployment), its count, or a forced
    /// new deployment.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn update_service(
        &self,
        Parameters(args): Parameters<UpdateServiceArgs>,
    ) -> CallToolResult {
        let input = json!({
            "cluster": cluster(&args.cluster),
            "service": args.service,
            "taskDefinition": args.task_definition,
            "desiredCount": args.desired_count,
            "forceNewDeployment": args.force_new_deployment,
        });
        self.service_change("UpdateService", input).await
    }

    /// Deletes a service; with `force`, even one that still runs tasks (they are stopped).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn delete_service(
        &self,
        Parameters(args): Parameters<DeleteServiceArgs>,
    ) -> CallToolResult {
        let input = json!({
            "cluster": cluster(&args.cluster),
            "service": args.service,
            "force": args.force,
        });
        self.service_change("DeleteService", input).await
    }
}

impl KecsMcp {
    /// Calls an operation that answers a service; answers the service, summarised.
    async fn service_change(&self, operation: &str, input: Value) -> CallToolResult {
        let out = self.ecs.call(operation, input).await;
        answer(out.map(|out| pick(&json!([out["service"]]), SERVICE_KEYS)[0].clone()))
    }
}
