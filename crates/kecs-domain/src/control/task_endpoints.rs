//! A task's containers are told where the agent's endpoints are (task metadata, the agent API
//! and, with a task role, credentials), as the ECS agent tells them: environment variables, in
//! the launch-only copy of the definition (after their own, so these win).

use crate::model::{Task, TaskDefinition};
use crate::rules::task_endpoints::{environment, task_role, TaskEndpoints};

/// Adds the endpoints' variables to every container of `td`, the launch copy of `task`'s
/// definition.
pub(crate) fn add(endpoints: &TaskEndpoints, task: &Task, td: &mut TaskDefinition) {
    let task_arn = task.task_arn.clone().unwrap_or_default();
    let role = task_role(task, td).map(str::to_string);
    for def in td.container_definitions.iter_mut().flatten() {
        let name = def.name.clone().unwrap_or_default();
        def.environment
            .get_or_insert_with(Vec::new)
            .extend(environment(endpoints, &task_arn, &name, role.as_deref()));
    }
}
