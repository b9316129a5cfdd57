use crate::api::Operation;

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
    /// The operation exists in ECS but KECS does not implement it yet (`UnsupportedFeatureException`).
    #[error("KECS does not implement the ECS operation {} yet.", .0.name())]
    NotImplemented(Operation),
    /// The request needs something KECS does not offer in this configuration
    /// (`UnsupportedFeatureException`).
    #[error("{0}")]
    Unsupported(String),
    /// Our own fault, never the client's (`ServerException`).
    #[error("{0}")]
    Internal(String),
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
}
