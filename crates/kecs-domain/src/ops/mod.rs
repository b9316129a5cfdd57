//! The ECS operations, one module per resource area, as functions over the [`Core`]. The
//! `EcsApi` implementation that routes each operation here is generated (`codegen/gen.py`, from
//! `codegen/operations.txt`); a new operation is one function here and one line there.
//!
//! [`Core`]: crate::core::Core

pub(crate) mod account_settings;
pub(crate) mod agent_endpoints;
pub(crate) mod agent_reports;
pub(crate) mod attributes;
pub(crate) mod capacity_providers;
pub(crate) mod census;
pub(crate) mod clusters;
pub(crate) mod container_instances;
pub(crate) mod daemon_deployments;
pub(crate) mod daemon_model;
pub(crate) mod daemon_task_definitions;
pub(crate) mod daemons;
pub(crate) mod deployment_history;
pub(crate) mod deployment_hooks;
pub(crate) mod execute_command;
pub(crate) mod express_services;
pub(crate) mod find;
pub(crate) mod host_instance;
pub(crate) mod instance_placement;
pub(crate) mod log_events;
pub(crate) mod log_groups;
pub(crate) mod logs;
pub(crate) mod pagination;
pub(crate) mod run_task_checks;
pub(crate) mod service_deployments;
pub(crate) mod service_model;
pub(crate) mod services;
pub(crate) mod tags;
pub(crate) mod task_definitions;
pub(crate) mod task_metadata;
pub(crate) mod task_placement;
pub(crate) mod task_protection;
pub(crate) mod task_sets;
pub(crate) mod tasks;

use crate::model::Failure;

/// The failure a Describe operation reports for a resource it does not find.
pub(crate) fn missing(arn: String) -> Failure {
    Failure {
        arn: Some(arn),
        reason: Some("MISSING".into()),
        detail: None,
    }
}
