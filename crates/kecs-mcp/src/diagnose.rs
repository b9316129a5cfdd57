//! Tools that look closer: a container's recent logs, waiting for a service to be stable, and
//! why a task stopped.

use std::time::{Duration, Instant};

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResult;
use rmcp::{tool, tool_router};
use serde_json::{json, Value};

use crate::args::{cluster, LogsArgs, TaskArgs, WaitArgs};
use crate::client::CallError;
use crate::read_tools::pick;
use crate::{answer, KecsMcp};

/// How often a wait looks again.
const POLL: Duration = Duration::from_secs(1);

#[tool_router(router = diagnose_tools, vis = "pub(crate)")]
impl KecsMcp {
    /// The last lines a task's container wrote (stdout and stderr).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn read_logs(&self, Parameters(args): Parameters<LogsArgs>) -> CallToolResult {
        answer(self.logs(&args).await)
    }

    /// Waits until a service is stable (one deployment, as many tasks running as desired, as
    /// `aws ecs wait services-stable`), or the timeout; answers the service's counts either way.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn wait_service_stable(&self, Parameters(args): Parameters<WaitArgs>) -> CallToolResult {
        answer(self.wait_stable(&args).await)
    }

    /// Why a task stopped: its stop code and reason, each container's exit code and reason, and
    /// its service's latest events.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn explain_task_stopped(&self, Parameters(args): Parameters<TaskArgs>) -> CallToolResult {
        answer(self.explain(cluster(&args.cluster), &args.task).await)
    }
}

impl KecsMcp {
    async fn logs(&self, args: &LogsArgs) -> Result<Value, CallError> {
        let task = self.task(cluster(&args.cluster), &args.task).await?;
        let container = match &args.container {
            Some(c) => c.clone(),
            None => task["containers"][0]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        };
        let id = task["taskArn"]
            .as_str()
            .and_then(|arn| arn.rsplit('/').next())
            .unwrap_or_default();
        let path = format!(
            "/_kecs/tasks/{id}/containers/{}/logs?tail={}",
            encode(&container),
            args.tail.unwrap_or(100)
        );
        let logs = self.ecs.get(&path).await?;
        Ok(json!({"container": container, "lines": logs["lines"]}))
    }

    async fn wait_stable(&self, args: &WaitArgs) -> Result<Value, CallError> {
        let timeout = Duration::from_secs(args.timeout_seconds.unwrap_or(120).min(600));
        let deadline = Instant::now() + timeout;
        loop {
            let service = self.service(cluster(&args.cluster), &args.service).await?;
            let stable = is_stable(&service);
            if stable || Instant::now() >= deadline {
                let mut shown = pick(
                    &json!([service]),
                    &[
                        "serviceName",
                        "status",
                        "desiredCount",
                        "runningCount",
                        "pendingCount",
                    ],
                )[0]
                .clone();
                shown["stable"] = json!(stable);
                shown["deployments"] = pick(
                    &service["deployments"],
                    &["status", "rolloutState", "runningCount", "failedTasks"],
                );
                if !stable {
                    shown["latestEvents"] = service["events"].clone();
                }
                return Ok(shown);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn explain(&self, cluster: &str, task: &str) -> Result<Value, CallError> {
        let task = self.task(cluster, task).await?;
        let mut explained = pick(
            &json!([task]),
            &[
                "taskArn",
                "lastStatus",
                "desiredStatus",
                "stopCode",
                "stoppedReason",
                "stoppingAt",
                "stoppedAt",
            ],
        )[0]
        .clone();
        explained["containers"] = pick(
            &task["containers"],
            &["name", "lastStatus", "exitCode", "reason", "healthStatus"],
        );
        if task["lastStatus"] != "STOPPED" {
            explained["note"] = json!("the task has not stopped");
        }
        if let Some(service) = task["group"]
            .as_str()
            .and_then(|g| g.strip_prefix("service:"))
        {
            if let Ok(found) = self.service(cluster, service).await {
                explained["serviceEvents"] = found["events"].clone();
            }
        }
        Ok(explained)
    }
}

/// Stable as the services-stable waiter means it: one deployment, running = desired.
fn is_stable(service: &Value) -> bool {
    service["deployments"].as_array().map(Vec::len) == Some(1)
        && service["runningCount"] == service["desiredCount"]
}

/// `name` as one URL path segment.
fn encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_means_one_deployment_at_the_desired_count() {
        let one = json!({"deployments": [{}], "runningCount": 2, "desiredCount": 2});
        assert!(is_stable(&one));
        let rolling = json!({"deployments": [{}, {}], "runningCount": 2, "desiredCount": 2});
        assert!(!is_stable(&rolling));
        let short = json!({"deployments": [{}], "runningCount": 1, "desiredCount": 2});
        assert!(!is_stable(&short));
    }

    #[test]
    fn container_names_are_one_path_segment() {
        assert_eq!(encode("web-1_a.b"), "web-1_a.b");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
