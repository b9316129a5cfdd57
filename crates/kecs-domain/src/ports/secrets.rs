//! The secrets port: where the values of a container's `secrets`, `environmentFiles` and
//! `repositoryCredentials` come from when its task is launched (on ECS: SSM Parameter Store,
//! Secrets Manager and S3).
//!
//! Adapters: [`NoSecrets`] (here: no source, every lookup fails saying so); a local file and
//! AWS-compatible endpoints live in kecs-secrets.

use crate::Cause;

/// Why a value could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretError {
    /// The source does not have it (the message names what was asked for).
    #[error("{0}")]
    NotFound(String),
    /// No source is configured for this kind of value.
    #[error("no source of {0} is configured (see --secrets-file and --aws-endpoint-url)")]
    NoSource(&'static str),
    /// Asking the source failed.
    #[error("{what}: {cause}")]
    Failed {
        /// What was asked for.
        what: String,
        /// The source's error.
        #[source]
        cause: Cause,
    },
}

/// Where launch-time values come from. Each method answers one value, whole.
#[async_trait::async_trait]
pub trait SecretSource: Send + Sync {
    /// An SSM parameter's value (decrypted), by the name or ARN a `valueFrom` gives.
    async fn parameter(&self, name: &str) -> Result<String, SecretError>;

    /// A Secrets Manager secret's string, by name or ARN, at a version stage or ID when given.
    async fn secret(
        &self,
        id: &str,
        version_stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<String, SecretError>;

    /// An S3 object's contents.
    async fn object(&self, bucket: &str, key: &str) -> Result<String, SecretError>;
}

/// No source: every lookup fails with [`SecretError::NoSource`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSecrets;

#[async_trait::async_trait]
impl SecretSource for NoSecrets {
    async fn parameter(&self, _: &str) -> Result<String, SecretError> {
        Err(SecretError::NoSource("SSM parameters"))
    }

    async fn secret(
        &self,
        _: &str,
        _: Option<&str>,
        _: Option<&str>,
    ) -> Result<String, SecretError> {
        Err(SecretError::NoSource("Secrets Manager secrets"))
    }

    async fn object(&self, _: &str, _: &str) -> Result<String, SecretError> {
        Err(SecretError::NoSource("S3 objects"))
    }
}
