//! A task's container logs, read through the runtime (admin endpoint, web UI).

use crate::core::Core;
use crate::EcsError;

/// The most lines one read returns.
pub const MAX_LOG_LINES: usize = 10_000;

/// The last `tail` lines (at most 10,000) the container `container` of the task
/// `task` (its ARN, or its ID when unique) wrote.
pub(crate) async fn container_logs(
    core: &Core,
    task: &str,
    container: &str,
    tail: usize,
) -> Result<Vec<String>, EcsError> {
    let found = core.read(|state| {
        let suffix = format!("/{task}");
        let mut matches = state
            .tasks
            .summaries()
            .map(|(arn, _)| arn)
            .filter(|arn| *arn == task || arn.ends_with(&suffix));
        match (matches.next(), matches.next()) {
            (Some(arn), None) => state
                .tasks
                .get(arn)
                .map(|t| t.task)
                .ok_or_else(|| EcsError::invalid("The referenced task was not found.")),
            (Some(_), Some(_)) => Err(EcsError::invalid(format!(
                "Task ID {task} is ambiguous; give its ARN."
            ))),
            (None, _) => Err(EcsError::invalid("The referenced task was not found.")),
        }
    })?;
    if !found
        .containers
        .iter()
        .flatten()
        .any(|c| c.name.as_deref() == Some(container))
    {
        return Err(EcsError::invalid(format!(
            "The task has no container named {container}."
        )));
    }
    let lines = core
        .runtime
        .logs(&found, container, Some(tail.min(MAX_LOG_LINES)))
        .await
        .map_err(|e| EcsError::internal("reading a container's logs", e))?;
    Ok(lines.into_iter().map(|l| l.message).collect())
}
