//! Secrets from AWS-compatible endpoints (`--aws-endpoint-url`: LocalStack, moto's server, or
//! AWS itself): SSM `GetParameter` (decrypted), Secrets Manager `GetSecretValue` and S3
//! `GetObject`, through the official SDKs, signed with the credentials KECS runs with (the
//! SDK's default chain: environment, profile, ...).

use aws_config::BehaviorVersion;
use kecs_domain::ports::secrets::{SecretError, SecretSource};
use kecs_domain::Cause;

/// The three services at one endpoint.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    ssm: aws_sdk_ssm::Client,
    secrets: aws_sdk_secretsmanager::Client,
    s3: aws_sdk_s3::Client,
}

fn failed(what: String, cause: impl std::error::Error + Send + Sync + 'static) -> SecretError {
    SecretError::Failed {
        what,
        cause: Cause::new(cause),
    }
}

/// The SDKs' configuration for `endpoint_url` in `region`, signed with the credentials KECS
/// runs with.
pub(crate) async fn endpoint_config(endpoint_url: &str, region: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint_url)
        .region(aws_config::Region::new(region.to_string()))
        .load()
        .await
}

impl AwsSecrets {
    /// Clients of `endpoint_url` in `region` (no request is made yet).
    pub async fn new(endpoint_url: &str, region: &str) -> Self {
        let config = endpoint_config(endpoint_url, region).await;
        // Path-style bucket addressing: a local endpoint has no per-bucket host names.
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        Self {
            ssm: aws_sdk_ssm::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3),
        }
    }
}

#[async_trait::async_trait]
impl SecretSource for AwsSecrets {
    async fn parameter(&self, name: &str) -> Result<String, SecretError> {
        let answer = self
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await;
        match answer {
            Ok(out) => out
                .parameter
                .and_then(|p| p.value)
                .ok_or_else(|| SecretError::NotFound(format!("parameter {name} has no value"))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Err(SecretError::NotFound(format!("invalid parameters: {name}")))
            }
            Err(e) => Err(failed(format!("GetParameter {name}"), context(e))),
        }
    }

    async fn secret(
        &self,
        id: &str,
        version_stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<String, SecretError> {
        let answer = self
            .secrets
            .get_secret_value()
            .secret_id(id)
            .set_version_stage(version_stage.map(str::to_string))
            .set_version_id(version_id.map(str::to_string))
            .send()
            .await;
        match answer {
            Ok(out) => out
                .secret_string
                .ok_or_else(|| SecretError::NotFound(format!("secret {id} has no string value"))),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Err(SecretError::NotFound(format!(
                    "Secrets Manager can't find the specified secret {id}"
                )))
            }
            Err(e) => Err(failed(format!("GetSecretValue {id}"), context(e))),
        }
    }

    async fn object(&self, bucket: &str, key: &str) -> Result<String, SecretError> {
        let what = format!("GetObject s3://{bucket}/{key}");
        let out = match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(SecretError::NotFound(format!(
                    "no object {key} in bucket {bucket}"
                )))
            }
            Err(e) => return Err(failed(what, context(e))),
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| failed(what.clone(), e))?
            .into_bytes();
        String::from_utf8(bytes.to_vec()).map_err(|e| failed(what, e))
    }
}

/// The message of an SDK error with every cause in its chain (the SDKs' `DisplayErrorContext`;
/// their own `Display` says only "service error").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ContextError(String);

pub(crate) fn context(e: impl std::error::Error) -> ContextError {
    ContextError(aws_sdk_ssm::error::DisplayErrorContext(&e).to_string())
}
