//! Pure decisions over their arguments only: no state, no ports, no clock. Each is unit-tested
//! beside its code.

pub mod agent_report;
pub mod awslogs;
pub mod blue_green;
pub mod cluster_query;
pub mod container_policy;
pub mod daemon;
pub mod exec_command;
pub mod log_filter;
pub mod log_pages;
pub mod network_names;
pub mod placement;
pub mod scheduler;
pub mod secret_ref;
pub mod service_checks;
pub mod start_order;
pub mod targets;
pub mod task_definition;
pub mod task_endpoints;
pub mod task_exit;
pub mod task_state;
pub mod validate;
