//! The records the state keeps for tasks and services: what ECS shows, and what KECS remembers
//! besides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Service, Task};

/// A task and what RunTask's idempotency needs to find it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTask {
    /// The task as ECS shows it (its tags live in [`State::tags`](super::State::tags)).
    pub task: Task,
    /// The `clientToken` of the RunTask call that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// Until when (epoch seconds) its scale-in protection holds (UpdateTaskProtection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected_until: Option<f64>,
}

/// A service and what its scheduler remembers besides what ECS shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredService {
    /// The service as ECS shows it (its tags live in [`State::tags`](super::State::tags)).
    pub service: Service,
    /// The `clientToken` of the CreateService call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// The service revision of the last deployment that completed: where a failed deployment
    /// rolls back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed_revision: Option<String>,
    /// The service revision each live deployment deploys, by deployment ID.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub revisions: BTreeMap<String, String>,
    /// The ARN of the service's latest service deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_deployment: Option<String>,
    /// The Service Connect configuration its deployments carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect: Option<crate::model::ServiceConnectConfiguration>,
    /// Where its blue/green deployment is, while one is in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<crate::rules::blue_green::BlueGreenProgress>,
    /// An Express Gateway service's configuration (CreateExpressGatewayService).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub express: Option<crate::model::ExpressGatewayServiceConfiguration>,
    /// An Express Gateway service's infrastructure role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_role_arn: Option<String>,
}

impl StoredService {
    /// A service as a request created it, with nothing remembered yet.
    pub fn new(service: Service, client_token: Option<String>) -> Self {
        Self {
            service,
            client_token,
            last_completed_revision: None,
            revisions: BTreeMap::new(),
            current_deployment: None,
            service_connect: None,
            blue_green: None,
            express: None,
            infrastructure_role_arn: None,
        }
    }
}
