//! KECS's secret sources, the domain's secrets port ([`kecs_domain::ports::secrets`]) over a
//! local file ([`FileSecrets`]) and AWS-compatible endpoints ([`AwsSecrets`]); [`Chain`] asks
//! several in turn. Task-role credentials (the credentials port) from KECS's own credentials
//! ([`HostCredentials`]) or an STS endpoint ([`StsCredentials`]).

mod aws;
mod credentials;
mod file;

use std::sync::Arc;

use kecs_domain::ports::secrets::{SecretError, SecretSource};

pub use aws::{AwsSecrets, ContextError};
pub use credentials::{HostCredentials, StsCredentials};
pub use file::{FileSecrets, SecretsFileError};

/// Sources asked in order: the first that has a value answers; when none has it, the first
/// error that is not "not there" (a failure to ask) wins over "not found".
pub struct Chain(pub Vec<Arc<dyn SecretSource>>);

impl Chain {
    async fn first<'a, F, Fut>(&'a self, ask: F) -> Result<String, SecretError>
    where
        F: Fn(&'a dyn SecretSource) -> Fut,
        Fut: std::future::Future<Output = Result<String, SecretError>> + 'a,
    {
        let mut missing = SecretError::NoSource("values");
        for source in &self.0 {
            match ask(source.as_ref()).await {
                Ok(value) => return Ok(value),
                Err(e @ SecretError::Failed { .. }) => return Err(e),
                Err(SecretError::NoSource(_)) => {}
                Err(e) => missing = e,
            }
        }
        Err(missing)
    }
}

#[async_trait::async_trait]
impl SecretSource for Chain {
    async fn parameter(&self, name: &str) -> Result<String, SecretError> {
        self.first(|s| s.parameter(name)).await
    }

    async fn secret(
        &self,
        id: &str,
        version_stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<String, SecretError> {
        self.first(|s| s.secret(id, version_stage, version_id))
            .await
    }

    async fn object(&self, bucket: &str, key: &str) -> Result<String, SecretError> {
        self.first(|s| s.object(bucket, key)).await
    }
}
