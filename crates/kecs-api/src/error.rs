//! The one place where a failure becomes an AWS error: `__type` code, HTTP status, message.

use actix_web::http::StatusCode;
use kecs_domain::{EcsError, LogsError};
use serde::Serialize;

/// An error as the AWS JSON 1.1 protocol sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The `__type` code, e.g. `ClusterNotFoundException`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: StatusCode,
    /// The human-readable message.
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "__type")]
    code: &'a str,
    message: &'a str,
}

impl AwsError {
    fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// An unknown `X-Amz-Target`.
    pub fn unknown_operation(target: &str) -> Self {
        Self::client(
            "UnknownOperationException",
            format!("Unknown operation: {target}"),
        )
    }

    /// A body that is not the JSON the operation takes.
    pub fn serialization(detail: impl std::fmt::Display) -> Self {
        Self::client(
            "SerializationException",
            format!("Could not read the request body: {detail}"),
        )
    }

    /// A required member left out.
    pub fn missing_required(path: &str) -> Self {
        Self::client(
            "InvalidParameterException",
            format!("1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"),
        )
    }

    /// A member's value outside its enum, as AWS's request validation words it.
    pub fn not_in_enum(path: &str, value: &str, allowed: &[String]) -> Self {
        Self::client(
            "InvalidParameterException",
            format!(
                "1 validation error detected: Value '{value}' at '{path}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        )
    }

    /// A body over the limit.
    pub fn too_large(limit: usize) -> Self {
        Self {
            code: "RequestEntityTooLargeException",
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("Request body exceeds the limit of {limit} bytes."),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&Body {
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_default()
    }
}

impl From<EcsError> for AwsError {
    fn from(e: EcsError) -> Self {
        let message = e.to_string();
        let code = match e {
            EcsError::InvalidParameter(_) => "InvalidParameterException",
            EcsError::Client(_) => "ClientException",
            EcsError::ClusterNotFound => "ClusterNotFoundException",
            EcsError::ServiceNotFound => "ServiceNotFoundException",
            EcsError::ServiceNotActive => "ServiceNotActiveException",
            EcsError::DaemonNotFound => "DaemonNotFoundException",
            EcsError::DaemonNotActive => "DaemonNotActiveException",
            EcsError::TargetNotConnected(_) => "TargetNotConnectedException",
            EcsError::ServiceDeploymentNotFound(_) => "ServiceDeploymentNotFoundException",
            EcsError::TaskSetNotFound => "TaskSetNotFoundException",
            EcsError::Conflict(_) => "ConflictException",
            EcsError::ResourceNotFound(_) => "ResourceNotFoundException",
            EcsError::ResourceInUse(_) => "ResourceInUseException",
            EcsError::ClusterContainsServices => "ClusterContainsServicesException",
            EcsError::ClusterContainsTasks => "ClusterContainsTasksException",
            EcsError::ClusterContainsContainerInstances => {
                "ClusterContainsContainerInstancesException"
            }
            EcsError::AttributeLimitExceeded(_) => "AttributeLimitExceededException",
            EcsError::LimitExceeded(_) => "LimitExceededException",
            EcsError::AccessDenied(_) => "AccessDeniedException",
            EcsError::NoUpdateAvailable(_) => "NoUpdateAvailableException",
            EcsError::NotImplemented(_) | EcsError::Unsupported(_) => "UnsupportedFeatureException",
            EcsError::Internal { .. } => {
                return Self {
                    code: "ServerException",
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message,
                }
            }
        };
        Self::client(code, message)
    }
}

impl From<LogsError> for AwsError {
    fn from(e: LogsError) -> Self {
        let message = e.to_string();
        let code = match e {
            LogsError::InvalidParameter(_) => "InvalidParameterException",
            LogsError::ResourceNotFound(_) => "ResourceNotFoundException",
            LogsError::ResourceAlreadyExists(_) => "ResourceAlreadyExistsException",
            LogsError::NotImplemented(_) => "UnknownOperationException",
            LogsError::Ecs(EcsError::Internal { .. }) => {
                return Self {
                    code: "ServiceUnavailableException",
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    message,
                }
            }
            LogsError::Ecs(e) => return e.into(),
        };
        Self::client(code, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_errors_are_4xx_and_only_internal_is_500() {
        let cases = [
            (EcsError::ClusterNotFound, "ClusterNotFoundException", 400),
            (EcsError::invalid("x"), "InvalidParameterException", 400),
            (EcsError::client("x"), "ClientException", 400),
            (
                EcsError::ClusterContainsTasks,
                "ClusterContainsTasksException",
                400,
            ),
            (
                EcsError::Internal {
                    message: "disk".into(),
                    cause: None,
                },
                "ServerException",
                500,
            ),
        ];
        for (e, code, status) in cases {
            let a = AwsError::from(e);
            assert_eq!((a.code, a.status.as_u16()), (code, status));
        }
    }

    #[test]
    fn logs_errors_have_cloudwatch_logs_codes() {
        let cases = [
            (
                LogsError::ResourceAlreadyExists("x".into()),
                "ResourceAlreadyExistsException",
                400,
            ),
            (
                LogsError::ResourceNotFound("x".into()),
                "ResourceNotFoundException",
                400,
            ),
            (
                LogsError::Ecs(EcsError::Internal {
                    message: "disk".into(),
                    cause: None,
                }),
                "ServiceUnavailableException",
                500,
            ),
        ];
        for (e, code, status) in cases {
            let a = AwsError::from(e);
            assert_eq!((a.code, a.status.as_u16()), (code, status));
        }
    }

    #[test]
    fn body_has_type_and_message() {
        let v: serde_json::Value =
            serde_json::from_slice(&AwsError::from(EcsError::ClusterNotFound).body()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"__type": "ClusterNotFoundException", "message": "Cluster not found."})
        );
    }
}
