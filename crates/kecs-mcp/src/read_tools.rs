//! Tools that read: clusters, services, tasks and task definitions, listed and described.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde_json::{json, Value};

use crate::args::{
    cluster, ClusterArgs, ListTaskDefinitionsArgs, ListTasksArgs, ServiceArgs, TaskArgs,
    TaskDefinitionArgs,
};
use crate::client::CallError;
use crate::{answer, KecsMcp};

/// DescribeServices takes at most 10 services, DescribeTasks 100 tasks.
const SERVICES_PER_CALL: usize = 10;
const TASKS_PER_CALL: usize = 100;

#[tool_router(router = read_tools, vis = "pub(crate)")]
impl KecsMcp {
    /// Every cluster, with its counts of services and running, pending tasks.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_clusters(&self) -> CallToolResult {
        answer(self.clusters().await)
    }

    /// The services of a cluster: status, task definition, desired, running and pending counts,
    /// and the rollout state of their deployments.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_services(&self, Parameters(args): Parameters<ClusterArgs>) -> CallToolResult {
        answer(self.services(cluster(&args.cluster)).await)
    }

    /// One service in full: deployments, load balancers, network, its latest events.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn describe_service(&self, Parameters(args): Parameters<ServiceArgs>) -> CallToolResult {
        answer(self.service(cluster(&args.cluster), &args.service).await)
    }

    /// The tasks of a cluster (or of one service): status, health, task definition, stop reason.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_tasks(&self, Parameters(args): Parameters<ListTasksArgs>) -> CallToolResult {
        answer(self.tasks(&args).await)
    }

    /// One task in full: containers, exit codes, network bindings, attachments, timestamps.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn describe_task(&self, Parameters(args): Parameters<TaskArgs>) -> CallToolResult {
        answer(self.task(cluster(&args.cluster), &args.task).await)
    }

    /// The task definitions registered (ARNs of their ACTIVE revisions).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn list_task_definitions(
        &self,
        Parameters(args): Parameters<ListTaskDefinitionsArgs>,
    ) -> CallToolResult {
        let input = json!({"familyPrefix": args.family_prefix, "status": "ACTIVE"});
        answer(self.ecs.call("ListTaskDefinitions", input).await)
    }

    /// One task definition in full.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn describe_task_definition(
        &self,
        Parameters(args): Parameters<TaskDefinitionArgs>,
    ) -> CallToolResult {
        let input = json!({"taskDefinition": args.task_definition});
        answer(
            self.ecs
                .call("DescribeTaskDefinition", input)
                .await
                .map(|out| out["taskDefinition"].clone()),
        )
    }
}

impl KecsMcp {
    /// Every cluster, described with its counts.
    pub(crate) async fn clusters(&self) -> Result<Value, CallError> {
        let listed = self.ecs.call("ListClusters", json!({})).await?;
        let input = json!({"clusters": listed["clusterArns"]});
        let described = self.ecs.call("DescribeClusters", input).await?;
        Ok(pick(
            &described["clusters"],
            &[
                "clusterName",
                "status",
                "activeServicesCount",
                "runningTasksCount",
                "pendingTasksCount",
                "registeredContainerInstancesCount",
            ],
        ))
    }

    /// The services of `cluster`, summarised.
    pub(crate) async fn services(&self, cluster: &str) -> Result<Value, CallError> {
        let listed = self
            .ecs
            .call(
                "ListServices",
                json!({"cluster": cluster, "maxResults": 100}),
            )
            .await?;
        let arns = strings(&listed["serviceArns"]);
        let mut all = vec![];
        for batch in arns.chunks(SERVICES_PER_CALL) {
            let input = json!({"cluster": cluster, "services": batch});
            let described = self.ecs.call("DescribeServices", input).await?;
            for s in described["services"].as_array().into_iter().flatten() {
                all.push(json!({
                    "serviceName": s["serviceName"],
                    "status": s["status"],
                    "taskDefinition": s["taskDefinition"],
                    "desiredCount": s["desiredCount"],
                    "runningCount": s["runningCount"],
                    "pendingCount": s["pendingCount"],
                    "deployments": pick(&s["deployments"], &["status", "taskDefinition", "rolloutState", "runningCount", "failedTasks"]),
                }));
            }
        }
        Ok(Value::Array(all))
    }

    /// One service in full, with its 10 latest events.
    pub(crate) async fn service(&self, cluster: &str, service: &str) -> Result<Value, CallError> {
        let input = json!({"cluster": cluster, "services": [service]});
        let described = self.ecs.call("DescribeServices", input).await?;
        let mut found = first_or_failure(&described, "services", service)?;
        if let Some(events) = found["events"].as_array_mut() {
            events.truncate(10);
        }
        Ok(found)
    }

    /// One task in full.
    pub(crate) async fn task(&self, cluster: &str, task: &str) -> Result<Value, CallError> {
        let input = json!({"cluster": cluster, "tasks": [task]});
        let described = self.ecs.call("DescribeTasks", input).await?;
        first_or_failure(&described, "tasks", task)
    }

    async fn tasks(&self, args: &ListTasksArgs) -> Result<Value, CallError> {
        let cluster = cluster(&args.cluster);
        let input = json!({
            "cluster": cluster,
            "serviceName": args.service,
            "desiredStatus": args.desired_status.as_deref().unwrap_or("RUNNING"),
            "maxResults": 100,
        });
        let listed = self.ecs.call("ListTasks", input).await?;
        let arns = strings(&listed["taskArns"]);
        let mut all = vec![];
        for batch in arns.chunks(TASKS_PER_CALL) {
            let input = json!({"cluster": cluster, "tasks": batch});
            let described = self.ecs.call("DescribeTasks", input).await?;
            all.extend(
                pick(
                    &described["tasks"],
                    &[
                        "taskArn",
                        "group",
                        "lastStatus",
                        "desiredStatus",
                        "healthStatus",
                        "taskDefinitionArn",
                        "stopCode",
                        "stoppedReason",
                    ],
                )
                .as_array()
                .cloned()
                .unwrap_or_default(),
            );
        }
        Ok(Value::Array(all))
    }
}

/// The members `keys` of each object of the array `items`.
pub(crate) fn pick(items: &Value, keys: &[&str]) -> Value {
    let picked = items.as_array().into_iter().flatten().map(|item| {
        let kept = keys
            .iter()
            .filter(|k| !item[**k].is_null())
            .map(|k| (k.to_string(), item[*k].clone()));
        Value::Object(kept.collect())
    });
    Value::Array(picked.collect())
}

/// The strings of the array `v`.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// The first of `out[member]`, or ECS's failure for `what` as an error (Describe* answer a
/// missing resource as a failure, not an error).
fn first_or_failure(out: &Value, member: &str, what: &str) -> Result<Value, CallError> {
    if let Some(found) = out[member].as_array().and_then(|a| a.first()) {
        return Ok(found.clone());
    }
    let reason = out["failures"][0]["reason"].as_str().unwrap_or("MISSING");
    Err(CallError::Refused {
        code: reason.to_string(),
        message: format!("{what} was not found"),
    })
}
