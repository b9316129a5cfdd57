//! The task-role credentials port: what a container's AWS SDK receives from the credentials
//! endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) for its task's `taskRoleArn`.
//!
//! Adapters: [`StaticCredentials`] (here: fixed test credentials, no I/O, the default); the
//! credentials KECS runs with, and AssumeRole at an AWS-compatible STS endpoint, live in
//! kecs-secrets.

use crate::Cause;

/// Temporary credentials for a role.
#[derive(Clone, PartialEq)]
pub struct RoleCredentials {
    /// The access key ID.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub token: String,
    /// When they expire, in epoch seconds.
    pub expiration: f64,
}

impl std::fmt::Debug for RoleCredentials {
    /// Never shows the secret or the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// Why no credentials could be had for a role.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The source answered, and refused (an unknown role, a denied AssumeRole).
    #[error("{0}")]
    Refused(String),
    /// The source could not be asked.
    #[error("{what}: {cause}")]
    Failed {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        cause: Cause,
    },
}

/// Where task-role credentials come from.
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync {
    /// Credentials for `role_arn`, for the task `task_arn` (its session), valid at `now` (epoch
    /// seconds) for a while.
    async fn credentials(
        &self,
        role_arn: &str,
        task_arn: &str,
        now: f64,
    ) -> Result<RoleCredentials, CredentialsError>;
}

/// Fixed test credentials, the same for every role, good for six hours from each request: for
/// code that needs credentials to exist, against endpoints that accept any (moto, LocalStack).
#[derive(Debug, Default, Clone, Copy)]
pub struct StaticCredentials;

/// How long [`StaticCredentials`] are valid (an SDK refreshes before they expire).
const STATIC_VALIDITY_SECS: f64 = 6.0 * 3600.0;

#[async_trait::async_trait]
impl CredentialSource for StaticCredentials {
    async fn credentials(
        &self,
        _role_arn: &str,
        _task_arn: &str,
        now: f64,
    ) -> Result<RoleCredentials, CredentialsError> {
        Ok(RoleCredentials {
            access_key_id: "ASIAKECSTASKROLETEST".into(),
            secret_access_key: "kecs-task-role-test-secret-access-key".into(),
            token: "kecs-task-role-test-session-token".into(),
            expiration: (now + STATIC_VALIDITY_SECS).floor(),
        })
    }
}
