use std::sync::Arc;

use crate::api::logs::LogsOperation;
use crate::api::Operation;

/// The error underneath another, kept whole for its chain (`source()`), shareable (one commit's
/// failure answers every writer waiting on it) and compared by its message.
#[derive(Debug, Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync>);

impl Cause {
    /// Keeps `error` as a cause.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

/// What went wrong, in ECS terms. kecs-api turns each variant into the AWS error code and HTTP
/// status in one place; the domain only says what happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EcsError {
    /// A parameter is invalid (`InvalidParameterException`).
    #[error("{0}")]
    InvalidParameter(String),
    /// The request is wrong for the resource's state (`ClientException`).
    #[error("{0}")]
    Client(String),
    /// The named cluster does not exist (`ClusterNotFoundException`).
    #[error("Cluster not found.")]
    ClusterNotFound,
    /// The named service does not exist (`ServiceNotFoundException`).
    #[error("Service not found.")]
    ServiceNotFound,
    /// The service is not active (`ServiceNotActiveException`).
    #[error("Service was not ACTIVE.")]
    ServiceNotActive,
    /// The named daemon does not exist (`DaemonNotFoundException`).
    #[error("Daemon not found.")]
    DaemonNotFound,
    /// ExecuteCommand cannot reach the container (`TargetNotConnectedException`).
    #[error("{0}")]
    TargetNotConnected(String),
    /// The daemon is being deleted (`DaemonNotActiveException`).
    #[error("Daemon is not ACTIVE.")]
    DaemonNotActive,
    /// The named service deployment does not exist (`ServiceDeploymentNotFoundException`).
    #[error("Service deployment not found: {0}")]
    ServiceDeploymentNotFound(String),
    /// The named task set does not exist (`TaskSetNotFoundException`).
    #[error("The specified task set does not exist.")]
    TaskSetNotFound,
    /// The request conflicts with the resource's state (`ConflictException`).
    #[error("{0}")]
    Conflict(String),
    /// The resource does not exist (`ResourceNotFoundException`).
    #[error("{0}")]
    ResourceNotFound(String),
    /// The resource is in use (`ResourceInUseException`).
    #[error("{0}")]
    ResourceInUse(String),
    /// The cluster still has services (`ClusterContainsServicesException`).
    #[error("The Cluster cannot be deleted while Services are active.")]
    ClusterContainsServices,
    /// The cluster still has tasks (`ClusterContainsTasksException`).
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    /// The cluster still has container instances (`ClusterContainsContainerInstancesException`).
    #[error("The Cluster cannot be deleted while Container Instances are active or draining.")]
    ClusterContainsContainerInstances,
    /// Too many attributes on one resource (`AttributeLimitExceededException`).
    #[error("{0}")]
    AttributeLimitExceeded(String),
    /// A limit was reached (`LimitExceededException`).
    #[error("{0}")]
    LimitExceeded(String),
    /// The caller may not do this (`AccessDeniedException`).
    #[error("{0}")]
    AccessDenied(String),
    /// The container agent has no update to take (`NoUpdateAvailableException`).
    #[error("{0}")]
    NoUpdateAvailable(String),
    /// The operation exists in ECS but KECS does not implement it yet (`UnsupportedFeatureException`).
    #[error("KECS does not implement the ECS operation {} yet.", .0.name())]
    NotImplemented(Operation),
    /// The request needs something KECS does not offer in this configuration
    /// (`UnsupportedFeatureException`).
    #[error("{0}")]
    Unsupported(String),
    /// Our own fault, never the client's (`ServerException`): what failed, and why (the
    /// message ends with the cause's, as clients and logs see it).
    #[error("{message}{}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Internal {
        /// What KECS was doing.
        message: String,
        /// The failure underneath, when there is one.
        #[source]
        cause: Option<Cause>,
    },
}

/// What went wrong, in CloudWatch Logs terms (the service KECS answers for tasks' `awslogs`
/// output); kecs-api maps each variant to its AWS error code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LogsError {
    /// A parameter is invalid (`InvalidParameterException`).
    #[error("{0}")]
    InvalidParameter(String),
    /// The log group or stream does not exist (`ResourceNotFoundException`).
    #[error("{0}")]
    ResourceNotFound(String),
    /// The log group already exists (`ResourceAlreadyExistsException`).
    #[error("{0}")]
    ResourceAlreadyExists(String),
    /// A CloudWatch Logs operation KECS does not serve (`UnknownOperationException`, as AWS answers
    /// a target it does not know).
    #[error("KECS does not implement the CloudWatch Logs operation {} (it serves what tasks' awslogs output needs).", .0.name())]
    NotImplemented(LogsOperation),
    /// An ECS-side failure underneath (the write path, the runtime).
    #[error(transparent)]
    Ecs(#[from] EcsError),
}

impl EcsError {
    /// Shorthand for [`EcsError::InvalidParameter`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidParameter(msg.into())
    }
    /// Shorthand for [`EcsError::Client`].
    pub fn client(msg: impl Into<String>) -> Self {
        Self::Client(msg.into())
    }
    /// Our own fault: `message` says what KECS was doing, `cause` why it failed.
    pub fn internal(
        message: impl Into<String>,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            message: message.into(),
            cause: Some(Cause::new(cause)),
        }
    }
}
