//! A task's `awslogs` destinations, checked before its containers are created, as the awslogs
//! driver checks them: a log group that does not exist is created with `awslogs-create-group:
//! true`, and otherwise ends the task TaskFailedToStart with ECS's reason. The lines themselves
//! stay with the engine; `ops::log_events` serves them as the group's streams.

use crate::core::Core;
use crate::model::logs::CreateLogGroupRequest;
use crate::model::{Task, TaskDefinition};
use crate::ops::log_groups;
use crate::rules::awslogs::options;

/// Makes sure every awslogs container of `task` has its log group; the error is the task's stop
/// reason.
pub(crate) async fn prepare(core: &Core, task: &Task, td: &TaskDefinition) -> Result<(), String> {
    let task_arn = task.task_arn.as_deref().unwrap_or_default();
    let Some(arn) = crate::arn::parse(task_arn) else {
        return Ok(());
    };
    for container in td.container_definitions.iter().flatten() {
        let logs = match options(container.log_configuration.as_ref()) {
            None => continue,
            Some(Err(e)) => return Err(format!("CannotStartContainerError: {e}")),
            Some(Ok(logs)) => logs,
        };
        let group = logs.group_arn(arn.region, arn.account);
        if core.read(|state| state.log_groups.contains_key(&group)) {
            continue;
        }
        if !logs.create_group {
            return Err("ResourceInitializationError: failed to validate logger args: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.".into());
        }
        let region = logs.region.as_deref().unwrap_or(arn.region);
        log_groups::create(
            core,
            region,
            arn.account,
            &logs.group,
            CreateLogGroupRequest::default(),
        )
        .await
        .map_err(|e| {
            format!("ResourceInitializationError: failed to validate logger args: failed to create Cloudwatch log group: {e}")
        })?;
    }
    Ok(())
}
